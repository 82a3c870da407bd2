"""Security groups and their rules: each project's default group, and what
keeps a group in use."""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.network.models import DefaultSecurityGroup, SecurityGroup, SecurityGroupRule

DEFAULT_NAME = "default"


def default_group_id(session, project_id: str) -> str:
    """The project's "default" group, made on first need with Neutron's default
    rules: all egress, and ingress only from members of the group itself."""
    found = session.get(DefaultSecurityGroup, project_id)
    if found is not None:
        return found.security_group_id
    group = SecurityGroup(project_id=project_id, name=DEFAULT_NAME,
                          description="Default security group")
    session.add(group)
    session.flush()
    for ethertype in ("IPv4", "IPv6"):
        group.rules.append(SecurityGroupRule(
            project_id=project_id, direction="egress", ethertype=ethertype))
        group.rules.append(SecurityGroupRule(
            project_id=project_id, direction="ingress", ethertype=ethertype,
            remote_group_id=group.id))
    session.add(DefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
    session.flush()
    return group.id


def has_default(session, project_id: str) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(DefaultSecurityGroup).where(
        DefaultSecurityGroup.project_id == project_id)) > 0
