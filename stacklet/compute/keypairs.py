"""Key pairs: generated or imported SSH keys and x509 certificates, per user."""

from __future__ import annotations

import base64
import binascii
import hashlib

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest, Conflict, NotFound
from stacklet.compute import quotas
from stacklet.compute.models import KeyPair
from stacklet.config import Config

SSH, X509 = "ssh", "x509"


def ssh_fingerprint(public_key: str) -> str:
    """Nova's fingerprint of an OpenSSH public key: MD5 of the key blob, colon hex."""
    try:
        serialization.load_ssh_public_key(public_key.strip().encode())
        blob = base64.b64decode(public_key.strip().split()[1], validate=True)
    except (ValueError, IndexError, binascii.Error, UnicodeEncodeError):
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from None
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(certificate: str) -> str:
    """Nova's fingerprint of a PEM certificate: SHA-1 of its DER form, colon hex."""
    try:
        loaded = x509.load_pem_x509_certificate(certificate.encode())
    except (ValueError, UnicodeEncodeError) as exc:
        raise BadRequest("Keypair data is invalid: failed to generate X509 fingerprint. "
                         f"Error message: {exc}") from None
    return _colon_hex(loaded.fingerprint(hashes.SHA1()))


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{byte:02x}" for byte in digest)


def generate_ssh_key() -> tuple[str, str]:
    """A new RSA key: (private key in PEM, OpenSSH public key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public + " Generated-by-Nova"


def find_keypair(session: Session, user_id: str, name: str) -> KeyPair | None:
    return session.scalar(sa.select(KeyPair).where(KeyPair.user_id == user_id,
                                                   KeyPair.name == name))


def get_keypair(session: Session, user_id: str, name: str) -> KeyPair:
    """A user's key pair by name; 404 when the user has none of that name."""
    keypair = find_keypair(session, user_id, name)
    if keypair is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return keypair


def create_keypair(session: Session, config: Config, *, user_id: str, project_id: str,
                   name: str, key_type: str, public_key: str | None
                   ) -> tuple[KeyPair, str | None]:
    """Import a public key (or certificate), or generate an SSH key when none is
    given; returns the key pair and the generated private key, if any."""
    quotas.check(session, project_id, user_id, "key_pairs", 1, config=config)
    if find_keypair(session, user_id, name) is not None:
        raise Conflict(f"Key pair '{name}' already exists.")
    private_key = None
    if public_key is None:
        private_key, public_key = generate_ssh_key()
    fingerprint = (x509_fingerprint(public_key) if key_type == X509
                   else ssh_fingerprint(public_key))
    keypair = KeyPair(name=name, user_id=user_id, public_key=public_key,
                      fingerprint=fingerprint, type=key_type)
    session.add(keypair)
    session.flush()
    return keypair, private_key


def list_keypairs(session: Session, user_id: str) -> list[KeyPair]:
    return list(session.scalars(sa.select(KeyPair).where(KeyPair.user_id == user_id)
                                .order_by(KeyPair.name)))
