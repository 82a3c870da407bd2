"""/v3/ec2tokens and /v3/s3tokens: tokens for requests signed with an EC2 credential.

Unauthenticated, like POST /v3/auth/tokens: the signature is the proof.
"""

from __future__ import annotations

import base64
import binascii

from starlette.responses import JSONResponse

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.common.validation import validate
from stacklet.identity import ec2_tokens, schemas
from stacklet.identity.api.auth import token_body
from stacklet.identity.aws_signatures import SignedRequest, s3_signature_matches
from stacklet.identity.tokens import ValidatedToken

routes = RouteTable()

# Keystone has read the signed request under each of these names over the years.
_BODY_KEYS = ("credentials", "credential", "ec2Credentials")

_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")


def _signed_credentials(req: ApiRequest, schema: dict) -> dict:
    body = req.json_body()
    found = next((body[key] for key in _BODY_KEYS if isinstance(body, dict) and key in body),
                 None)
    if found is None:
        raise BadRequest("Invalid input: 'credentials' is a required property.")
    return validate(schema, found)


def _token_response(req: ApiRequest, token_id: str, token: ValidatedToken) -> JSONResponse:
    return JSONResponse(token_body(req, token, with_catalog=True),
                        headers={"X-Subject-Token": token_id})


@routes.route("/v3/ec2tokens", "POST")
def ec2_token(req: ApiRequest):
    signed = SignedRequest(_signed_credentials(req, schemas.ec2_signed_request))
    with req.cloud.db.session() as session:
        token_id, token = ec2_tokens.issue_token(
            session, req.cloud.tokens, req.cloud.credential_keys,
            access=signed.access, signature_matches=signed.matches,
            signed_at=signed.signed_at())
    return _token_response(req, token_id, token)


@routes.route("/v3/s3tokens", "POST")
def s3_token(req: ApiRequest):
    credentials = _signed_credentials(req, schemas.s3_signed_request)
    try:
        # Swift's s3api sends the string-to-sign URL-safe base64 encoded; the
        # standard alphabet is read too.
        string_to_sign = base64.b64decode(credentials["token"].translate(_URLSAFE_TO_STANDARD),
                                          validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Invalid input for field 'token': it is not base64.") from None
    with req.cloud.db.session() as session:
        token_id, token = ec2_tokens.issue_token(
            session, req.cloud.tokens, req.cloud.credential_keys,
            access=credentials["access"],
            signature_matches=lambda secret: s3_signature_matches(
                secret, string_to_sign, credentials["signature"]))
    return _token_response(req, token_id, token)
