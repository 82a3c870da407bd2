"""Users, groups, projects and memberships written straight into the database, for
tests of roles and assignments that must not depend on the user/group/project APIs."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from stacklet.identity.models import Group, GroupMembership, Project, Role, User


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
        name = name or f"project-{uuid.uuid4().hex[:8]}"
        with self.cloud.db.transaction() as session:
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
