"""Users, projects and role grants written straight to the database, for tests of
APIs that need them before the users/projects/grants APIs exist in this tree."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from stacklet.identity.models import Project, Role, RoleAssignment, User


def add_user(cloud, *, project: str | None = None, roles: tuple[str, ...] = ("member",),
             password: str = "pass-word-1") -> dict:
    """A user in the Default domain, with the given roles on a project (created if
    missing); returns {"id", "name", "password", "project_id", "project"}."""
    name = f"user-{uuid.uuid4().hex[:8]}"
    with cloud.db.transaction() as session:
        user = User(name=name, domain_id="default", password_hash=cloud.hash_password(password))
        session.add(user)
        session.flush()
        result = {"id": user.id, "name": name, "password": password, "project_id": None,
                  "project": project}
        if project is not None:
            found = session.scalar(sa.select(Project).filter_by(name=project,
                                                                domain_id="default"))
            if found is None:
                found = Project(name=project, domain_id="default")
                session.add(found)
                session.flush()
            for role_name in roles:
                role = session.scalar(sa.select(Role).filter_by(name=role_name, domain_id=None))
                session.add(RoleAssignment(actor_type="user", actor_id=user.id,
                                           target_type="project", target_id=found.id,
                                           role_id=role.id, inherited=False))
            result["project_id"] = found.id
    return result
