"""Trusts (OS-TRUST): a trustor delegates some of their roles on a project
to a trustee, who can then get tokens scoped by the trust."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.context import RequestContext
from stacklet.common.errors import BadRequest, Forbidden, NotFound
from stacklet.common.timeutils import parse_expiry
from stacklet.db import utcnow
from stacklet.identity import assignment, revoke
from stacklet.identity.models import Project, Role, Trust, User
from stacklet.identity.records import get_or_404


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


def create_trust(session: Session, ctx: RequestContext, data: dict) -> Trust:
    if data["trustor_user_id"] != ctx.user_id:
        raise Forbidden("A trust can only be created by its trustor.")
    get_or_404(session, User, data["trustee_user_id"], "user")
    project_id = data.get("project_id")
    roles: list[Role] = []
    if project_id is not None:
        get_or_404(session, Project, project_id, "project")
        roles = _resolve_roles(session, data.get("roles") or [])
        held = assignment.effective_role_ids(session, ctx.user_id, "project", project_id)
        missing = [r.name for r in roles if r.id not in held]
        if missing:
            raise Forbidden(f"The trustor does not hold the roles {', '.join(missing)} on "
                            f"project {project_id}, so cannot delegate them.")
    elif data.get("roles"):
        raise BadRequest("Roles can be delegated only with a project.")
    expires_at = parse_expiry(data.get("expires_at"))
    trust = Trust(trustor_user_id=ctx.user_id, trustee_user_id=data["trustee_user_id"],
                  project_id=project_id, impersonation=data["impersonation"],
                  expires_at=expires_at, remaining_uses=data.get("remaining_uses"),
                  role_ids=[r.id for r in roles],
                  allow_redelegation=data.get("allow_redelegation", False))
    session.add(trust)
    session.flush()
    return trust


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
    trust = get_trust(session, trust_id)
    if not ctx.is_admin and ctx.user_id != trust.trustor_user_id:
        raise Forbidden("Only the trustor may delete a trust.")
    session.delete(trust)
    revoke.bump_revision(session)


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
