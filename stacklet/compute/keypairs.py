"""Key pairs: generated or imported SSH keys and x509 certificates, per user."""

from __future__ import annotations

import base64
import binascii
import datetime
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


# Microsoft's "user principal name", which WinRM certificate logins match on.
_UPN = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")


def generate_x509_certificate(user_id: str) -> tuple[str, str]:
    """A new self-signed client certificate for WinRM logins, as Nova generates one:
    (private key in PEM, certificate in PEM), valid for ten years."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, user_id)])
    upn = f"{user_id}@localhost".encode()
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        # The UPN is a DER UTF8String (tag 0x0c).
        .add_extension(x509.SubjectAlternativeName([x509.OtherName(
            _UPN, b"\x0c" + bytes([len(upn)]) + upn)]), critical=False)
        .sign(key, hashes.SHA256()))
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return private, certificate.public_bytes(serialization.Encoding.PEM).decode()


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
    """Import a public key (or certificate), or generate a key (or certificate) of
    the type when none is given; returns the key pair and the generated private
    key, if any."""
    quotas.check(session, project_id, user_id, "key_pairs", 1, config=config)
    if find_keypair(session, user_id, name) is not None:
        raise Conflict(f"Key pair '{name}' already exists.")
    private_key = None
    if public_key is None:
        private_key, public_key = (generate_x509_certificate(user_id) if key_type == X509
                                   else generate_ssh_key())
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
