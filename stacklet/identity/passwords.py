"""Password and secret hashing with bcrypt, at Keystone's default cost."""

from __future__ import annotations

import functools

import bcrypt

from stacklet.config import Config

# bcrypt only reads the first 72 bytes; Keystone truncates the same way.
_BCRYPT_MAX_BYTES = 72


def configured_rounds(config: Config) -> int:
    """The bcrypt cost new hashes get, and the work a refused login spends."""
    return config.get("identity", "password_hash_rounds")


def hash_secret(secret: str, rounds: int) -> str:
    return bcrypt.hashpw(secret.encode()[:_BCRYPT_MAX_BYTES],
                         bcrypt.gensalt(rounds)).decode()


def secret_matches(secret: str, hashed: str) -> bool:
    """Whether ``secret`` is the one bcrypt ``hashed`` (False for a malformed hash)."""
    try:
        return bcrypt.checkpw(secret.encode()[:_BCRYPT_MAX_BYTES], hashed.encode())
    except ValueError:
        return False


@functools.cache
def _stand_in_hash(rounds: int) -> str:
    return hash_secret("no secret matches this hash", rounds)


def verify_secret(secret: str, hashed: str | None, *, rounds: int) -> bool:
    """Whether a login's ``secret`` matches ``hashed``, the principal's hash.

    With nothing to check against (no such user or application credential, or
    a user without a password) bcrypt runs all the same, on a stand-in hash of
    the configured cost ``rounds``: a refusal then takes as long whether or not
    the principal exists, so response times do not tell which user names do.
    """
    if not hashed:
        secret_matches(secret, _stand_in_hash(rounds))
        return False
    return secret_matches(secret, hashed)
