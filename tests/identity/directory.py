"""Users, groups, projects, memberships and role grants written straight into
the database: test set-up that does not depend on the API under test."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from stacklet.identity import revoke
from stacklet.identity.models import (
    Group,
    GroupMembership,
    Project,
    Role,
    RoleAssignment,
    User,
)


class Directory:
    def __init__(self, cloud):
        self.cloud = cloud

    def user(self, name: str | None = None, domain_id: str = "default",
             password: str = "pass-word-1") -> dict:
        name = name or f"user-{uuid.uuid4().hex[:8]}"
        with self.cloud.db.transaction() as session:
            user = User(name=name, domain_id=domain_id,
                        password_hash=self.cloud.hash_password(password))
            session.add(user)
            session.flush()
            return {"id": user.id, "name": name, "password": password}

    def group(self, name: str | None = None, domain_id: str = "default") -> str:
        with self.cloud.db.transaction() as session:
            group = Group(name=name or f"group-{uuid.uuid4().hex[:8]}", domain_id=domain_id)
            session.add(group)
            session.flush()
            return group.id

    def project(self, name: str | None = None, domain_id: str = "default",
                parent_id: str | None = None) -> dict:
        """A project of that name, created unless it exists: {"id", "name"}."""
        name = name or f"project-{uuid.uuid4().hex[:8]}"
        with self.cloud.db.transaction() as session:
            project = session.scalar(sa.select(Project).filter_by(name=name,
                                                                  domain_id=domain_id))
            if project is None:
                project = Project(name=name, domain_id=domain_id, parent_id=parent_id)
                session.add(project)
                session.flush()
            return {"id": project.id, "name": name}

    def add_member(self, group_id: str, user_id: str) -> None:
        with self.cloud.db.transaction() as session:
            session.add(GroupMembership(group_id=group_id, user_id=user_id))

    def role_id(self, name: str) -> str:
        with self.cloud.db.session() as session:
            return session.scalar(sa.select(Role.id).where(Role.name == name,
                                                           Role.domain_id.is_(None)))

    def grant(self, role: str, *, project_id: str, user_id: str | None = None,
              group_id: str | None = None) -> None:
        """Give a user or a group a (global) role on a project."""
        actor_type, actor_id = ("user", user_id) if user_id else ("group", group_id)
        role_id = self.role_id(role)
        with self.cloud.db.transaction() as session:
            session.add(RoleAssignment(actor_type=actor_type, actor_id=actor_id,
                                       target_type="project", target_id=project_id,
                                       role_id=role_id, inherited=False))
            revoke.bump_revision(session)


def grant(cloud, role: str, *, project_id: str, user_id: str | None = None,
          group_id: str | None = None) -> None:
    Directory(cloud).grant(role, project_id=project_id, user_id=user_id, group_id=group_id)


def add_user(cloud, *, project: str | None = None, roles: tuple[str, ...] = ("member",),
             password: str = "pass-word-1") -> dict:
    """A user in the Default domain, with the given roles on a project (created if
    missing); returns {"id", "name", "password", "project_id", "project"}."""
    directory = Directory(cloud)
    user = directory.user(password=password)
    result = {**user, "project_id": None, "project": project}
    if project is not None:
        result["project_id"] = directory.project(project)["id"]
        for role in roles:
            directory.grant(role, project_id=result["project_id"], user_id=user["id"])
    return result


def project_member(api, project_name: str, role: str = "member") -> dict:
    """A new user holding ``role`` on a new project, with a token scoped to it:
    {"id", "name", "password", "project_id", "token"}."""
    project_id = api.admin("POST", "/projects", {"project": {"name": project_name}},
                           expect=201).json()["project"]["id"]
    user = api.make_user()
    grant(api.cloud, role, project_id=project_id, user_id=user["id"])
    token = api.token(user["name"], user["password"], project=project_name)
    return {**user, "project_id": project_id, "token": token}
