"""Roles, implied roles and role assignments: who holds which role where."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.identity.models import (
    SYSTEM_TARGET,
    GroupMembership,
    ImpliedRole,
    Project,
    Role,
    RoleAssignment,
)


def group_ids_of_user(session: Session, user_id: str) -> list[str]:
    return list(session.scalars(sa.select(GroupMembership.group_id)
                                .where(GroupMembership.user_id == user_id)))


def project_ancestors(session: Session, project: Project) -> list[Project]:
    """The project's parents, nearest first."""
    ancestors = []
    parent_id = project.parent_id
    while parent_id:
        parent = session.get(Project, parent_id)
        if parent is None:
            break
        ancestors.append(parent)
        parent_id = parent.parent_id
    return ancestors


def expand_implied(session: Session, role_ids: set[str]) -> set[str]:
    """Add every role implied, directly or transitively, by the given ones."""
    result = set(role_ids)
    frontier = set(role_ids)
    while frontier:
        implied = set(session.scalars(sa.select(ImpliedRole.implied_role_id)
                                      .where(ImpliedRole.prior_role_id.in_(frontier))))
        frontier = implied - result
        result |= implied
    return result


def effective_role_ids(session: Session, user_id: str, target_type: str,
                       target_id: str) -> set[str]:
    """Roles a user holds on a project, domain or the system, from every source.

    Sources: direct assignments, assignments to the user's groups, roles
    inherited from the project's domain and parent projects, and the roles
    those imply.
    """
    actors = [user_id, *group_ids_of_user(session, user_id)]
    direct = sa.and_(RoleAssignment.target_type == target_type,
                     RoleAssignment.target_id == target_id,
                     RoleAssignment.inherited.is_(False))
    conditions = [direct]
    if target_type == "project":
        project = session.get(Project, target_id)
        if project is not None:
            conditions.append(sa.and_(RoleAssignment.target_type == "domain",
                                      RoleAssignment.target_id == project.domain_id,
                                      RoleAssignment.inherited.is_(True)))
            ancestor_ids = [p.id for p in project_ancestors(session, project)]
            if ancestor_ids:
                conditions.append(sa.and_(RoleAssignment.target_type == "project",
                                          RoleAssignment.target_id.in_(ancestor_ids),
                                          RoleAssignment.inherited.is_(True)))
    role_ids = set(session.scalars(sa.select(RoleAssignment.role_id).where(
        RoleAssignment.actor_id.in_(actors), sa.or_(*conditions))))
    return expand_implied(session, role_ids)


def roles_by_ids(session: Session, role_ids: set[str] | list[str]) -> list[Role]:
    if not role_ids:
        return []
    return list(session.scalars(sa.select(Role).where(Role.id.in_(role_ids))
                                .order_by(Role.name)))


def target_ids_with_roles(session: Session, user_id: str, target_type: str) -> set[str]:
    """Projects or domains on which a user holds some role (directly, through
    groups, or inherited from a domain or parent project)."""
    actors = [user_id, *group_ids_of_user(session, user_id)]
    rows = session.execute(sa.select(RoleAssignment.target_type, RoleAssignment.target_id,
                                     RoleAssignment.inherited)
                           .where(RoleAssignment.actor_id.in_(actors))).all()
    direct = {target_id for kind, target_id, inherited in rows
              if kind == target_type and not inherited}
    if target_type != "project":
        return direct
    inherited_domains = {t for kind, t, inherited in rows if kind == "domain" and inherited}
    inherited_parents = {t for kind, t, inherited in rows if kind == "project" and inherited}
    if inherited_domains:
        direct |= set(session.scalars(sa.select(Project.id).where(
            Project.domain_id.in_(inherited_domains))))
    frontier = inherited_parents
    while frontier:
        children = set(session.scalars(sa.select(Project.id).where(
            Project.parent_id.in_(frontier))))
        frontier = children - direct
        direct |= children
    return direct


__all__ = ["SYSTEM_TARGET", "effective_role_ids", "roles_by_ids", "expand_implied",
           "group_ids_of_user", "project_ancestors", "target_ids_with_roles"]
