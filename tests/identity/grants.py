"""Granting roles straight in the database, for tests written before the
role-assignment endpoints existed (switch them to PUT /v3/projects/{id}/users/
{id}/roles/{id} once that is available)."""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.identity import revoke
from stacklet.identity.models import Role, RoleAssignment


def grant(cloud, role: str, *, project_id: str, user_id: str | None = None,
          group_id: str | None = None) -> None:
    """Give a user or a group a role on a project."""
    actor_type, actor_id = ("user", user_id) if user_id else ("group", group_id)
    with cloud.db.transaction() as session:
        role_id = session.scalar(sa.select(Role.id).where(Role.name == role,
                                                          Role.domain_id.is_(None)))
        session.add(RoleAssignment(actor_type=actor_type, actor_id=actor_id,
                                   target_type="project", target_id=project_id,
                                   role_id=role_id, inherited=False))
        revoke.bump_revision(session)


def project_member(api, project_name: str, role: str = "member") -> dict:
    """A new user holding ``role`` on a new project, with a token scoped to it:
    {"id", "name", "password", "project_id", "token"}."""
    project_id = api.admin("POST", "/projects", {"project": {"name": project_name}},
                           expect=201).json()["project"]["id"]
    user = api.make_user()
    grant(api.cloud, role, project_id=project_id, user_id=user["id"])
    token = api.token(user["name"], user["password"], project=project_name)
    return {**user, "project_id": project_id, "token": token}
