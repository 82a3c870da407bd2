"""AWS request signatures, recomputed from an EC2 credential's secret.

EC2-compatible APIs and Swift's s3api do not check signatures themselves:
they pass what was signed to /v3/ec2tokens or /v3/s3tokens, and identity
recomputes the signature with the secret it keeps (as Keystone does, after
keystoneclient's Ec2Signer).  Supported: signature version 2 (HmacSHA256 or
HmacSHA1), version 4 (AWS4-HMAC-SHA256, signed in the query or in the
Authorization header), and for S3 the version 2 HMAC-SHA1 and version 4
string-to-sign.  Versions 0 and 1 are insecure and refused.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
from urllib.parse import quote, urlsplit

from stacklet.common.errors import BadRequest, Unauthorized

V4_ALGORITHM = "AWS4-HMAC-SHA256"
_V2_DIGESTS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}


def _hmac(key: bytes, message: str | bytes, digest=hashlib.sha256) -> bytes:
    if isinstance(message, str):
        message = message.encode()
    return hmac.new(key, message, digest).digest()


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """SigV4's derived key: the secret chained through the credential scope."""
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _canonical_query(params: dict[str, str], *, leave_out: str) -> str:
    """The query string, sorted and percent-encoded as both versions sign it;
    the signature itself (sent as a parameter by some clients) is not signed."""
    return "&".join(f"{quote(key, safe='')}={quote(value, safe='-_~')}"
                    for key, value in sorted(params.items()) if key != leave_out)


class SignedRequest:
    """What an EC2-style client signed, as /v3/ec2tokens receives it."""

    def __init__(self, credentials: dict):
        self.access: str = credentials["access"]
        self.signature: str = credentials["signature"]
        self.verb: str = credentials.get("verb", "")
        self.host: str = credentials.get("host", "")
        self.path: str = credentials.get("path", "")
        self.params: dict[str, str] = credentials.get("params", {})
        # Header names are case-insensitive; clients send them as they like.
        self.headers: dict[str, str] = {name.lower(): value for name, value
                                        in credentials.get("headers", {}).items()}
        self.body_hash: str | None = credentials.get("body_hash")

    @property
    def is_v4(self) -> bool:
        return (self.headers.get("authorization", "").startswith(V4_ALGORITHM)
                or self.params.get("X-Amz-Algorithm") == V4_ALGORITHM)

    def signed_at(self) -> datetime.datetime | None:
        """When the client says it signed the request (None if it did not say)."""
        stamp = (self.params.get("Timestamp") or self.headers.get("x-amz-date")
                 or self.params.get("X-Amz-Date"))
        if stamp is None:
            return None
        try:
            moment = datetime.datetime.fromisoformat(stamp)
        except ValueError:
            raise Unauthorized(f"Credential timestamp is invalid: {stamp}.") from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return moment

    def matches(self, secret: str) -> bool:
        if self.is_v4:
            return hmac.compare_digest(self.signature.encode(), self._v4(secret).encode())
        version = self.params.get("SignatureVersion")
        if version != "2":
            raise Unauthorized(f"Unsupported EC2 signature version: {version}; "
                               f"versions 2 and 4 are supported.")
        if hmac.compare_digest(self.signature.encode(), self._v2(secret, self.host).encode()):
            return True
        # Some clients sign the host without its port: try that too, as Keystone does.
        hostname = urlsplit("//" + self.host).hostname if ":" in self.host else None
        return hostname is not None and hmac.compare_digest(
            self.signature.encode(), self._v2(secret, hostname).encode())

    def _v2(self, secret: str, host: str) -> str:
        method = self.params.get("SignatureMethod")
        if method not in _V2_DIGESTS:
            raise BadRequest(f"Unsupported SignatureMethod {method!r}: use HmacSHA256 or "
                             f"HmacSHA1.")
        string_to_sign = "\n".join((self.verb, host, self.path,
                                    _canonical_query(self.params, leave_out="Signature")))
        return base64.b64encode(
            _hmac(secret.encode(), string_to_sign, _V2_DIGESTS[method])).decode()

    def _v4_auth_fields(self) -> dict[str, str]:
        """Credential and SignedHeaders, from the Authorization header or the query."""
        authorization = self.headers.get("authorization", "")
        if authorization.startswith(V4_ALGORITHM):
            fields = (part.strip().partition("=")
                      for part in authorization[len(V4_ALGORITHM):].split(","))
            found = {name: value for name, _, value in fields}
        else:
            found = {name: self.params.get(f"X-Amz-{name}")
                     for name in ("Credential", "SignedHeaders")}
        missing = [name for name in ("Credential", "SignedHeaders") if not found.get(name)]
        if missing:
            raise BadRequest(f"Invalid AWS4-HMAC-SHA256 signature data: {missing[0]} is "
                             f"missing.")
        return found

    def _v4(self, secret: str) -> str:
        if self.body_hash is None:
            raise BadRequest("Invalid input: 'body_hash' is required to check an "
                             "AWS4-HMAC-SHA256 signature.")
        fields = self._v4_auth_fields()
        scope = fields["Credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise BadRequest(f"Invalid AWS4-HMAC-SHA256 credential scope: "
                             f"{fields['Credential']}.")
        _access, date, region, service, _terminator = scope
        amz_date = self.headers.get("x-amz-date") or self.params.get("X-Amz-Date") or ""
        if not amz_date.startswith(date):
            raise Unauthorized("The request date does not match the credential scope.")
        signed_headers = fields["SignedHeaders"]
        # Signed headers the request does not carry are left out, as Keystone does.
        header_lines = "".join(
            f"{name}:{' '.join(self.headers[name].split())}\n"
            for name in signed_headers.split(";") if name in self.headers)
        canonical_request = "\n".join((
            self.verb.upper(), self.path,
            _canonical_query(self.params, leave_out="X-Amz-Signature"),
            header_lines, signed_headers, self.body_hash))
        string_to_sign = "\n".join((V4_ALGORITHM, amz_date, "/".join(scope[1:]),
                                    hashlib.sha256(canonical_request.encode()).hexdigest()))
        return hmac.new(_signing_key(secret, date, region, service), string_to_sign.encode(),
                        hashlib.sha256).hexdigest()


def s3_signature_matches(secret: str, string_to_sign: bytes, signature: str) -> bool:
    """Swift s3api's check: base64 HMAC-SHA1 of the string-to-sign for S3 v2; for
    v4, hex HMAC-SHA256 with the key derived for the string-to-sign's s3 scope."""
    if not string_to_sign.startswith(b"AWS4"):
        expected = base64.b64encode(_hmac(secret.encode(), string_to_sign, hashlib.sha1))
        return hmac.compare_digest(signature.encode(), expected)
    lines = string_to_sign.split(b"\n")
    if len(lines) != 4 or lines[0] != V4_ALGORITHM.encode():
        return False
    scope = lines[2].decode(errors="replace").split("/")
    if len(scope) != 4 or scope[2] != "s3" or scope[3] != "aws4_request":
        return False
    date, region, service, _terminator = scope
    expected = hmac.new(_signing_key(secret, date, region, service), string_to_sign,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.encode(), expected.encode())
