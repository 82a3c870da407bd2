"""Domains and projects (Keystone's "resource" backend)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest, Conflict, Forbidden, NotFound
from stacklet.identity import revoke
from stacklet.identity.models import (
    Domain,
    Group,
    Project,
    Role,
    RoleAssignment,
    User,
    new_id,
)

DEFAULT_DOMAIN_ID = "default"


def get_domain(session: Session, domain_id: str) -> Domain:
    domain = session.get(Domain, domain_id)
    if domain is None:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return domain


def create_domain(session: Session, *, name: str, description: str = "",
                  enabled: bool = True, domain_id: str | None = None,
                  extra: dict | None = None) -> Domain:
    if session.scalar(sa.select(Domain.id).where(Domain.name == name)):
        raise Conflict(f"Conflict occurred attempting to store domain - Duplicate entry "
                       f"found with name {name}.")
    if domain_id and session.get(Domain, domain_id):
        raise Conflict(f"Conflict occurred attempting to store domain - Duplicate entry "
                       f"found with ID {domain_id}.")
    domain = Domain(id=domain_id or new_id(), name=name, description=description or "",
                    enabled=enabled, extra=extra or {})
    session.add(domain)
    session.flush()
    return domain


def update_domain(session: Session, domain_id: str, changes: dict) -> Domain:
    domain = get_domain(session, domain_id)
    if "name" in changes and changes["name"] != domain.name and session.scalar(
            sa.select(Domain.id).where(Domain.name == changes["name"])):
        raise Conflict(f"Conflict occurred attempting to update domain - Duplicate entry "
                       f"found with name {changes['name']}.")
    if domain_id == DEFAULT_DOMAIN_ID and changes.get("enabled") is False:
        raise Forbidden("The default domain cannot be disabled.")
    for field in ("name", "description", "enabled"):
        if field in changes:
            setattr(domain, field, changes[field] if changes[field] is not None else "")
    if changes.get("enabled") is False:
        revoke.bump_revision(session)
    session.flush()
    return domain


def delete_domain(session: Session, domain_id: str) -> None:
    """Delete a disabled domain and everything in it, as Keystone does."""
    domain = get_domain(session, domain_id)
    if domain.enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    if domain_id == DEFAULT_DOMAIN_ID:
        raise Forbidden("The default domain cannot be deleted.")
    project_ids = list(session.scalars(sa.select(Project.id)
                                       .where(Project.domain_id == domain_id)))
    user_ids = list(session.scalars(sa.select(User.id).where(User.domain_id == domain_id)))
    group_ids = list(session.scalars(sa.select(Group.id).where(Group.domain_id == domain_id)))
    targets = [domain_id, *project_ids]
    actors = [*user_ids, *group_ids]
    session.execute(sa.delete(RoleAssignment).where(sa.or_(
        RoleAssignment.target_id.in_(targets), RoleAssignment.actor_id.in_(actors))))
    # Children before parents: clear the parent links first.
    session.execute(sa.update(Project).where(Project.domain_id == domain_id)
                    .values(parent_id=None))
    for model in (Project, User, Group, Role):
        session.execute(sa.delete(model).where(model.domain_id == domain_id))
    session.delete(domain)
    revoke.bump_revision(session)


def check_name(name: str, kind: str) -> str:
    if not name.strip():
        raise BadRequest(f"The {kind} name must not be blank.")
    return name
