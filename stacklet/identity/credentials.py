"""Credentials (secrets such as EC2 keys, kept encrypted) and application credentials
(a secret that gives tokens for one project with a chosen subset of a user's roles)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import secrets

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from sqlalchemy.orm import Session

from stacklet.common import access_rules
from stacklet.common.context import RequestContext
from stacklet.common.errors import APIError, BadRequest, Conflict, Forbidden, NotFound
from stacklet.identity import assignment, revoke
from stacklet.identity.fernet import KeyRepository
from stacklet.identity.models import (
    AccessRule,
    ApplicationCredential,
    Credential,
    Project,
    Role,
    User,
    new_id,
)
from stacklet.identity.records import get_or_404


def _get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"Could not find user: {user_id}.")
    return user


# -- credentials -----------------------------------------------------------------

CREDENTIAL_COLUMNS = ("user_id", "project_id", "type")

# An ec2 credential made with a delegated token (trust-scoped, or from an
# application credential) records the delegation in its blob, so that
# /v3/ec2tokens gives tokens no wider than the token that made it (as Keystone).
EC2_DELEGATION_KEYS = ("trust_id", "app_cred_id")


def ec2_delegation(ctx: RequestContext) -> dict:
    return {"trust_id": ctx.trust_id, "app_cred_id": ctx.application_credential_id}


def encrypt_blob(keys: KeyRepository, blob: str) -> str:
    return keys.fernet().encrypt(blob.encode()).decode()


def decrypt_blob(keys: KeyRepository, encrypted: str) -> str:
    try:
        return keys.fernet().decrypt(encrypted.encode()).decode()
    except InvalidToken:
        raise APIError("A credential could not be decrypted: its encryption key is "
                       "missing from the credential key repository.") from None


def _ec2_access(blob: str) -> str:
    """The access key of an EC2 blob, which must be a JSON object naming one."""
    try:
        parsed = json.loads(blob)
    except ValueError:
        raise BadRequest("Invalid blob in credential: an ec2 blob must be JSON.") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("access"), str) \
            or not parsed["access"]:
        raise BadRequest("Invalid blob in credential: an ec2 blob needs an 'access' key.")
    return parsed["access"]


def _check_ec2(data: dict) -> None:
    _ec2_access(data["blob"])
    if not data.get("project_id"):
        raise BadRequest("An ec2 credential needs a project_id.")


def get_credential(session: Session, credential_id: str) -> Credential:
    return get_or_404(session, Credential, credential_id, "credential")


def list_credentials(session: Session) -> list[Credential]:
    return list(session.scalars(sa.select(Credential).order_by(Credential.user_id,
                                                               Credential.id)))


def _check_owner_and_project(session: Session, data: dict) -> None:
    _get_user(session, data["user_id"])
    if data.get("project_id") and session.get(Project, data["project_id"]) is None:
        raise NotFound(f"Could not find project: {data['project_id']}.")


def create_credential(session: Session, keys: KeyRepository, data: dict,
                      extra: dict, delegation: dict) -> Credential:
    """Store a credential; an ec2 credential's id is the sha256 of its access key,
    so the EC2 signature check can find it, as Keystone does.  ``delegation`` is
    what the creating token was limited by (see ec2_delegation)."""
    _check_owner_and_project(session, data)
    credential_id = new_id()
    blob = data["blob"]
    if data["type"] == "ec2":
        _check_ec2(data)
        credential_id = ec2_credential_id(_ec2_access(blob))
        if session.get(Credential, credential_id) is not None:
            raise Conflict("Conflict occurred attempting to store credential - an ec2 "
                           "credential with this access key already exists.")
        if any(delegation.values()):
            blob = json.dumps({**json.loads(blob),
                               **{key: value for key, value in delegation.items() if value}})
    credential = Credential(id=credential_id, user_id=data["user_id"],
                            project_id=data.get("project_id"), type=data["type"],
                            encrypted_blob=encrypt_blob(keys, blob), extra=extra)
    session.add(credential)
    session.flush()
    return credential


def update_credential(session: Session, keys: KeyRepository, credential_id: str,
                      changes: dict, extra: dict) -> Credential:
    credential = get_credential(session, credential_id)
    merged = {"user_id": credential.user_id, "project_id": credential.project_id,
              "type": credential.type, "blob": decrypt_blob(keys, credential.encrypted_blob),
              **changes}
    _check_owner_and_project(session, merged)
    if merged["type"] == "ec2":
        _check_ec2(merged)
        if "blob" in changes and credential.type == "ec2":
            _check_delegation_kept(decrypt_blob(keys, credential.encrypted_blob),
                                   changes["blob"])
    for column in CREDENTIAL_COLUMNS:
        if column in changes:
            setattr(credential, column, changes[column])
    if "blob" in changes:
        credential.encrypted_blob = encrypt_blob(keys, changes["blob"])
    credential.extra = {**(credential.extra or {}), **extra}
    session.flush()
    return credential


def _check_delegation_kept(old_blob: str, new_blob: str) -> None:
    old, new = json.loads(old_blob), json.loads(new_blob)
    for key in EC2_DELEGATION_KEYS:
        if old.get(key) != new.get(key):
            raise BadRequest(f"Invalid blob in credential: '{key}' of an ec2 credential "
                             f"cannot be changed.")


def delete_credential(session: Session, credential_id: str) -> None:
    session.delete(get_credential(session, credential_id))


# -- application credentials -----------------------------------------------------

# Keystone's generated secrets: 64 random bytes, URL-safe base64 without padding.
_SECRET_BYTES = 64


def generate_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(_SECRET_BYTES)).decode().rstrip("=")


def _resolve_roles(session: Session, refs: list[dict]) -> list[Role]:
    roles = []
    for ref in refs:
        if "id" in ref:
            role = session.get(Role, ref["id"])
            missing = ref["id"]
        else:
            # By name, a global role (domain-specific roles are never on a token).
            role = session.scalar(sa.select(Role).where(Role.name == ref["name"],
                                                        Role.domain_id.is_(None)))
            missing = ref["name"]
        if role is None:
            raise NotFound(f"Could not find role: {missing}.")
        roles.append(role)
    return roles


def create_application_credential(
        session: Session, *, user_id: str, project_id: str | None, name: str,
        description: str | None, secret_hash: str,
        expires_at: datetime.datetime | None, unrestricted: bool,
        role_refs: list[dict] | None, token_role_ids: tuple[str, ...],
        access_rule_refs: list[dict] | None = None) -> ApplicationCredential:
    """An application credential for the caller's project, delegating the given roles
    (by default every role of the caller's token); each must be a role of the token.
    Its tokens are limited to the given access rules, if any."""
    _get_user(session, user_id)
    if project_id is None:
        raise BadRequest("An application credential is created with a project-scoped token: "
                         "it gives tokens for that project.")
    if session.scalar(sa.select(ApplicationCredential.id).where(
            ApplicationCredential.user_id == user_id, ApplicationCredential.name == name)):
        raise Conflict(f"Conflict occurred attempting to store application_credential - "
                       f"Duplicate entry found with name {name}.")
    # No roles, or an empty list (what the openstack CLI sends), delegates the
    # token's roles, as Keystone does.
    role_ids = ([r.id for r in _resolve_roles(session, role_refs)] if role_refs
                else list(token_role_ids))
    if not role_ids:
        raise BadRequest("An application credential needs at least one role.")
    # The token's roles bound it, not all the user holds on the project: a token
    # that is itself delegated (an unrestricted application credential's) must
    # not hand on roles it was not given.
    held = assignment.effective_role_ids(session, user_id, "project", project_id)
    for role_id in role_ids:
        if role_id not in token_role_ids:
            raise BadRequest(f"Invalid application credential: the token has no role "
                             f"{role_id} on project {project_id}, so cannot delegate it.")
        if role_id not in held:
            raise BadRequest(f"Invalid application credential: user {user_id} has no role "
                             f"{role_id} on project {project_id}.")
    app_cred = ApplicationCredential(
        id=new_id(), name=name, user_id=user_id, project_id=project_id,
        secret_hash=secret_hash, description=description, expires_at=expires_at,
        unrestricted=unrestricted, role_ids=list(dict.fromkeys(role_ids)),
        access_rules=_resolve_access_rules(session, user_id, access_rule_refs or []))
    session.add(app_cred)
    session.flush()
    return app_cred


def get_application_credential(session: Session, user_id: str,
                               app_cred_id: str) -> ApplicationCredential:
    app_cred = session.get(ApplicationCredential, app_cred_id)
    if app_cred is None or app_cred.user_id != user_id:
        raise NotFound(f"Could not find application credential: {app_cred_id}.")
    return app_cred


def list_application_credentials(session: Session, user_id: str) -> list[ApplicationCredential]:
    _get_user(session, user_id)
    return list(session.scalars(sa.select(ApplicationCredential)
                                .where(ApplicationCredential.user_id == user_id)
                                .order_by(ApplicationCredential.name)))


def delete_application_credential(session: Session, user_id: str, app_cred_id: str) -> None:
    """Delete it; the tokens it gave stop validating at once."""
    session.delete(get_application_credential(session, user_id, app_cred_id))
    revoke.bump_revision(session)


# -- access rules of application credentials -----------------------------------------

def _resolve_access_rules(session: Session, user_id: str, refs: list[dict]) -> list[str]:
    """The ids of the rules named: an existing rule of the user by id, or a rule by its
    service, path and method (the user's identical rule if there is one, else a new one)."""
    rule_ids = []
    for ref in refs:
        if "id" in ref:
            rule = get_access_rule(session, user_id, ref["id"])
            for field in ("service", "path", "method"):
                if field in ref and ref[field] != getattr(rule, field):
                    raise BadRequest(f"Invalid access rule: access rule {rule.id} has "
                                     f"{field} {getattr(rule, field)!r}, not {ref[field]!r}.")
        else:
            rule = session.scalar(sa.select(AccessRule).where(
                AccessRule.user_id == user_id, AccessRule.service == ref["service"],
                AccessRule.path == ref["path"], AccessRule.method == ref["method"]))
            if rule is None:
                rule = AccessRule(id=new_id(), user_id=user_id, service=ref["service"],
                                  path=ref["path"], method=ref["method"])
                session.add(rule)
                session.flush()
        rule_ids.append(rule.id)
    return list(dict.fromkeys(rule_ids))


def access_rules_of(session: Session, app_cred: ApplicationCredential
                    ) -> tuple[access_rules.AccessRule, ...]:
    """The access rules an application credential's tokens are limited to, in the
    order it was created with; empty when its tokens are not limited."""
    if not app_cred.access_rules:
        return ()
    rows = {rule.id: rule for rule in session.scalars(
        sa.select(AccessRule).where(AccessRule.id.in_(app_cred.access_rules)))}
    return tuple(access_rules.AccessRule(id=row.id, service=row.service, path=row.path,
                                         method=row.method)
                 for row in (rows.get(rule_id) for rule_id in app_cred.access_rules)
                 if row is not None)


def list_access_rules(session: Session, user_id: str) -> list[AccessRule]:
    _get_user(session, user_id)
    return list(session.scalars(sa.select(AccessRule).where(AccessRule.user_id == user_id)
                                .order_by(AccessRule.service, AccessRule.path,
                                          AccessRule.method)))


def get_access_rule(session: Session, user_id: str, rule_id: str) -> AccessRule:
    rule = session.get(AccessRule, rule_id)
    if rule is None or rule.user_id != user_id:
        raise NotFound(f"Could not find Access Rule: {rule_id}.")
    return rule


def delete_access_rule(session: Session, user_id: str, rule_id: str) -> None:
    """Delete a rule no application credential uses any more: removing a rule in use
    would change what that credential's tokens may do (its last one, lift every limit)."""
    rule = get_access_rule(session, user_id, rule_id)
    users_app_creds = session.scalars(sa.select(ApplicationCredential).where(
        ApplicationCredential.user_id == user_id))
    if any(rule_id in app_cred.access_rules for app_cred in users_app_creds):
        raise Forbidden(f"Cannot delete access rule {rule_id}: it is in use by an "
                        f"application credential.")
    session.delete(rule)


# -- EC2 credentials (OS-EC2) -------------------------------------------------------

def ec2_credential_id(access: str) -> str:
    return hashlib.sha256(access.encode()).hexdigest()


def create_ec2_credential(session: Session, keys: KeyRepository, user_id: str,
                          project_id: str, delegation: dict) -> Credential:
    """A new EC2 access/secret pair for a user on a project, stored as an ec2 credential."""
    blob = json.dumps({"access": new_id(), "secret": new_id(), "trust_id": None})
    return create_credential(session, keys, {"user_id": user_id, "project_id": project_id,
                                             "type": "ec2", "blob": blob}, {}, delegation)


def list_ec2_credentials(session: Session, user_id: str) -> list[Credential]:
    _get_user(session, user_id)
    return list(session.scalars(sa.select(Credential).where(
        Credential.user_id == user_id, Credential.type == "ec2").order_by(Credential.id)))


def get_ec2_credential(session: Session, user_id: str, access: str) -> Credential:
    _get_user(session, user_id)
    credential = session.get(Credential, ec2_credential_id(access))
    if credential is None or credential.user_id != user_id or credential.type != "ec2":
        raise NotFound(f"Could not find credential: {access}.")
    return credential


def delete_ec2_credential(session: Session, user_id: str, access: str) -> None:
    session.delete(get_ec2_credential(session, user_id, access))
