"""/v3/ec2tokens and /v3/s3tokens: a token for the owner of an EC2 credential,
once the request it signed checks out against the credential's secret.

The token is scoped to the credential's project, with the "ec2credential"
method.  A credential made with a trust-scoped or application-credential
token carries that delegation in its blob and gives tokens through it, never
with more than the delegation allowed (as Keystone does).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable

from sqlalchemy.orm import Session

from stacklet.common.errors import Forbidden, NotFound, Unauthorized
from stacklet.db import utcnow
from stacklet.identity import credentials, trusts
from stacklet.identity.fernet import KeyRepository
from stacklet.identity.models import ApplicationCredential, Credential, Trust, User
from stacklet.identity.tokens import Scope, TokenService, ValidatedToken

METHOD = "ec2credential"

# How far a signed request's own timestamp may be from now (Keystone's
# [credential] auth_ttl): a captured request cannot be replayed later.
AUTH_TTL = datetime.timedelta(minutes=15)

AUTH_FAILED = "The request you have made requires authentication."


def _check_fresh(signed_at: datetime.datetime | None) -> None:
    # A client that signs no timestamp chose not to (as Keystone accepts).
    if signed_at is not None and abs(utcnow() - signed_at) > AUTH_TTL:
        raise Unauthorized("Credential is expired: the request was signed more than "
                           f"{int(AUTH_TTL.total_seconds()) // 60} minutes from now.")


def _trust(session: Session, tokens: TokenService, credential: Credential,
           trust_id: str) -> Trust:
    """The trust a credential was made through, if it still lets its owner in."""
    trust = session.get(Trust, trust_id)
    # The credential's owner is whom the trust-scoped token that made it named:
    # the trustee, or the trustor when the trust impersonates.
    owner = trust and (trust.trustor_user_id if trust.impersonation else trust.trustee_user_id)
    if trust is None or owner != credential.user_id or trust.project_id != credential.project_id:
        raise Unauthorized(AUTH_FAILED)
    if trust.remaining_uses is not None:
        with tokens.db.transaction() as tx:
            trusts.consume(tx, trust.id)
    return trust


def _application_credential(session: Session, credential: Credential,
                            app_cred_id: str) -> ApplicationCredential:
    app_cred = session.get(ApplicationCredential, app_cred_id)
    if app_cred is None or app_cred.user_id != credential.user_id:
        raise Unauthorized(AUTH_FAILED)
    if app_cred.project_id != credential.project_id:
        raise Unauthorized("EC2 credential project does not match the application "
                           "credential project.")
    if app_cred.expires_at and app_cred.expires_at <= utcnow():
        raise Unauthorized("The application credential has expired.")
    return app_cred


def issue_token(session: Session, tokens: TokenService, keys: KeyRepository, *, access: str,
                signature_matches: Callable[[str], bool],
                signed_at: datetime.datetime | None = None) -> tuple[str, ValidatedToken]:
    """A project-scoped token for the owner of the EC2 credential ``access`` names,
    if ``signature_matches`` its secret; 401 otherwise."""
    credential = session.get(Credential, credentials.ec2_credential_id(access))
    if credential is None or credential.type != "ec2":
        raise Unauthorized("EC2 access key not found.")
    blob = json.loads(credentials.decrypt_blob(keys, credential.encrypted_blob))
    secret = blob.get("secret")
    if not isinstance(secret, str) or not signature_matches(secret):
        raise Unauthorized("Invalid EC2 signature.")
    _check_fresh(signed_at)
    user = session.get(User, credential.user_id)
    if user is None or credential.project_id is None:
        raise Unauthorized(AUTH_FAILED)
    trust = app_cred = None
    try:
        if blob.get("trust_id"):
            trust = _trust(session, tokens, credential, blob["trust_id"])
        if blob.get("app_cred_id"):
            app_cred = _application_credential(session, credential, blob["app_cred_id"])
        # Issuing re-reads the user, project and roles: a disabled user or
        # project, or no role left on the project, gives no token.
        return tokens.issue(session, user=user, methods=[METHOD],
                            scope=Scope("project", credential.project_id),
                            application_credential=app_cred, trust=trust)
    except (NotFound, Forbidden):
        # What the token would carry no longer holds (a trust used up, a
        # project gone): nothing to authenticate.
        raise Unauthorized(AUTH_FAILED) from None
