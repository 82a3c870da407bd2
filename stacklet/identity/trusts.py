"""Trusts (OS-TRUST): a trustor delegates some of their roles on a project
to a trustee, who can then get tokens scoped by the trust.

A trust made with allow_redelegation may be redelegated: its trustee's
trust-scoped token makes a trust giving no more than it (roles, lifetime,
impersonation, project), down a chain at most MAX_REDELEGATION_COUNT deep.
Tokens of a redelegated trust carry the original trustor's roles, and end
with any trust up the chain."""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.context import RequestContext
from stacklet.common.errors import BadRequest, Forbidden, NotFound
from stacklet.common.timeutils import parse_expiry
from stacklet.db import utcnow
from stacklet.identity import assignment, revoke
from stacklet.identity.models import Project, Role, Trust, User
from stacklet.identity.records import forbidden_action, get_or_404


def _resolve_roles(session: Session, refs: list[dict]) -> list[Role]:
    roles = []
    for ref in refs:
        if "id" in ref:
            role = session.get(Role, ref["id"])
        elif "name" in ref:
            role = session.scalar(sa.select(Role).where(Role.name == ref["name"],
                                                        Role.domain_id.is_(None)))
        else:
            raise BadRequest("Each trust role is given by id or by name.")
        if role is None:
            raise NotFound(f"Could not find role: {ref.get('id') or ref.get('name')}.")
        roles.append(role)
    return roles


# Keystone's default [trust] max_redelegation_count: how many times the roles of
# a trust may be handed on down a chain of trusts.
MAX_REDELEGATION_COUNT = 3


def create_trust(session: Session, ctx: RequestContext, data: dict) -> Trust:
    """A trust from the caller, who must be its trustor.  With a trust-scoped token
    the new trust redelegates that trust (see _check_redelegation); otherwise it
    delegates roles the trustor holds on the project."""
    if data["trustor_user_id"] != ctx.user_id:
        raise Forbidden("A trust can only be created by its trustor.")
    get_or_404(session, User, data["trustee_user_id"], "user")
    project_id = data.get("project_id")
    roles = _resolve_roles(session, data.get("roles") or [])
    if project_id is not None:
        get_or_404(session, Project, project_id, "project")
        if not roles:
            raise forbidden_action("At least one role should be specified")
    elif roles:
        raise BadRequest("Roles can be delegated only with a project.")
    expires_at = parse_expiry(data.get("expires_at"))
    redelegated = session.get(Trust, ctx.trust_id) if ctx.trust_id else None
    if redelegated is None:
        redelegation_count = _redelegation_count(data)
        delegable = (assignment.effective_role_ids(session, ctx.user_id, "project", project_id)
                     if project_id else set())
        missing = [r.name for r in roles if r.id not in delegable]
        if missing:
            raise Forbidden(f"The trustor does not hold the roles {', '.join(missing)} on "
                            f"project {project_id}, so cannot delegate them.")
    else:
        redelegation_count = _check_redelegation(redelegated, data, expires_at)
        expires_at = expires_at or redelegated.expires_at
        # The trust-scoped token's roles: the redelegated trust's, as far as its
        # original trustor still holds them.
        missing = [r.name for r in roles if r.id not in ctx.role_ids]
        if missing:
            raise forbidden_action(f"Some of requested roles are not in redelegated trust "
                                   f"{redelegated.id}: {', '.join(missing)}")
    trust = Trust(trustor_user_id=ctx.user_id, trustee_user_id=data["trustee_user_id"],
                  project_id=project_id, impersonation=data["impersonation"],
                  expires_at=expires_at, remaining_uses=data.get("remaining_uses"),
                  role_ids=[r.id for r in roles],
                  allow_redelegation=redelegation_count > 0,
                  redelegated_trust_id=redelegated and redelegated.id,
                  redelegation_count=redelegation_count)
    session.add(trust)
    session.flush()
    return trust


def _redelegation_count(data: dict) -> int:
    """How many times a new (not redelegated) trust may be redelegated in turn."""
    requested = data.get("redelegation_count")
    if not data.get("allow_redelegation") or requested == 0:
        return 0
    if requested is not None and requested > MAX_REDELEGATION_COUNT:
        raise forbidden_action(f"Requested redelegation depth of {requested} is greater "
                               f"than allowed {MAX_REDELEGATION_COUNT}")
    if data.get("remaining_uses") is not None:
        raise BadRequest("remaining_uses must not be set if redelegation is allowed.")
    return requested or MAX_REDELEGATION_COUNT


def _check_redelegation(redelegated: Trust, data: dict,
                        expires_at: datetime.datetime | None) -> int:
    """Check a trust made with a token scoped by ``redelegated`` gives no more than
    that trust does, as Keystone's trust manager does; the new trust's own
    redelegation count.  (The roles are checked against the token by the caller.)"""
    depth = redelegated.redelegation_count or 0
    if not redelegated.allow_redelegation or not 0 < depth <= MAX_REDELEGATION_COUNT:
        raise forbidden_action(f"Trust {redelegated.id} cannot be redelegated: remaining "
                               f"redelegation depth of {depth} out of allowed range of "
                               f"[1..{MAX_REDELEGATION_COUNT}]")
    if data.get("remaining_uses") is not None:
        raise forbidden_action(f"Field \"remaining_uses\" is set to {data['remaining_uses']} "
                               f"while it must not be set in order to redelegate a trust")
    # Keystone checks the roles against the original trust's project, whatever
    # the new one names; Stacklet holds a redelegation to that project.
    if data.get("project_id") != redelegated.project_id:
        raise forbidden_action(f"A trust redelegating trust {redelegated.id} must be on its "
                               f"project, {redelegated.project_id}")
    if (expires_at is not None and redelegated.expires_at is not None
            and expires_at > redelegated.expires_at):
        raise forbidden_action("Requested expiration time is more than redelegated trust "
                               "can provide")
    if data["impersonation"] and not redelegated.impersonation:
        raise forbidden_action(f"Impersonation is not allowed because redelegated trust "
                               f"does not specify impersonation. Redelegated trust id: "
                               f"{redelegated.id}")
    if not data.get("allow_redelegation"):
        return 0
    remaining = depth - 1
    requested = data.get("redelegation_count")
    if requested and requested != remaining:
        raise forbidden_action("Modifying \"redelegation_count\" upon redelegation is "
                               "forbidden. Omitting this parameter is advised")
    return remaining


def get_trust(session: Session, trust_id: str) -> Trust:
    trust = session.get(Trust, trust_id)
    if trust is None or (trust.expires_at is not None and trust.expires_at <= utcnow()):
        raise NotFound(f"Could not find trust: {trust_id}.")
    return trust


def visible_trust(session: Session, ctx: RequestContext, trust_id: str) -> Trust:
    """A trust the caller is party to (the admin sees all)."""
    trust = get_trust(session, trust_id)
    if not ctx.is_admin and ctx.user_id not in (trust.trustor_user_id, trust.trustee_user_id):
        raise Forbidden("Only the trustor or the trustee may see a trust.")
    return trust


def list_trusts(session: Session, trustor_user_id: str | None,
                trustee_user_id: str | None) -> list[Trust]:
    query = sa.select(Trust).order_by(Trust.created_at)
    if trustor_user_id:
        query = query.where(Trust.trustor_user_id == trustor_user_id)
    if trustee_user_id:
        query = query.where(Trust.trustee_user_id == trustee_user_id)
    now = utcnow()
    return [t for t in session.scalars(query) if t.expires_at is None or t.expires_at > now]


def delete_trust(session: Session, ctx: RequestContext, trust_id: str) -> None:
    """Delete a trust and, as Keystone does, every trust that redelegates it."""
    trust = get_trust(session, trust_id)
    if not ctx.is_admin and ctx.user_id != trust.trustor_user_id:
        raise Forbidden("Only the trustor may delete a trust.")
    _delete_with_redelegations(session, trust)
    revoke.bump_revision(session)


def _delete_with_redelegations(session: Session, trust: Trust) -> None:
    for redelegation in session.scalars(sa.select(Trust).where(
            Trust.redelegated_trust_id == trust.id)).all():
        _delete_with_redelegations(session, redelegation)
    session.delete(trust)


def pedigree(session: Session, trust: Trust) -> list[Trust]:
    """The trust and the trusts it redelegates, up to the original one; NotFound when
    any of them is gone or expired, which ends every trust below it."""
    chain = [trust]
    while chain[-1].redelegated_trust_id is not None:
        chain.append(get_trust(session, chain[-1].redelegated_trust_id))
    return chain


def trust_roles(session: Session, trust: Trust) -> list[Role]:
    return assignment.roles_by_ids(session, trust.role_ids)


def consume(session: Session, trust_id: str) -> None:
    """Count one token issued through a trust with limited uses.

    One conditional UPDATE, so concurrent logins never use a trust more
    often than it allows.
    """
    used = session.execute(sa.update(Trust).where(
        Trust.id == trust_id, Trust.remaining_uses > 0)
        .values(remaining_uses=Trust.remaining_uses - 1)).rowcount
    if not used:
        raise Forbidden(f"Trust {trust_id} has no remaining uses.")
