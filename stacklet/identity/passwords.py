"""Password and secret hashing with bcrypt, at Keystone's default cost."""

from __future__ import annotations

import bcrypt

# bcrypt only reads the first 72 bytes; Keystone truncates the same way.
_BCRYPT_MAX_BYTES = 72


def hash_secret(secret: str, rounds: int) -> str:
    return bcrypt.hashpw(secret.encode()[:_BCRYPT_MAX_BYTES],
                         bcrypt.gensalt(rounds)).decode()


def verify_secret(secret: str, hashed: str | None) -> bool:
    if not hashed:
        return False
    try:
        return bcrypt.checkpw(secret.encode()[:_BCRYPT_MAX_BYTES], hashed.encode())
    except ValueError:
        return False
