"""Server groups: servers the scheduler places together (affinity) or apart
(anti-affinity), hard or soft (2.15), at most ``max_server_per_host`` members
of an anti-affinity group on one host (2.64).  The conductor and scheduler
apply the policies; see the conductor on why no host re-checks them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.common.context import RequestContext
from stacklet.common.errors import BadRequest, NotFound
from stacklet.compute import quotas
from stacklet.compute.models import Instance, ServerGroup, ServerGroupMember


def create_group(session: orm.Session, config, ctx: RequestContext, name: str, policy: str,
                 rules: dict) -> ServerGroup:
    quotas.check(session, ctx.project_id, ctx.user_id, "server_groups", 1, config=config)
    if rules and policy != "anti-affinity":
        raise BadRequest("Only anti-affinity policy supports rules.")
    group = ServerGroup(name=name, project_id=ctx.project_id, user_id=ctx.user_id,
                        policy=policy,
                        rules={key: int(value) for key, value in rules.items()})
    session.add(group)
    session.flush()
    return group


def get_group(session: orm.Session, ctx: RequestContext, group_id: str) -> ServerGroup:
    """The group when the caller's project owns it (or the caller is an admin)."""
    group = session.get(ServerGroup, group_id)
    if group is None or not (ctx.is_admin or group.project_id == ctx.project_id):
        raise NotFound(f"Instance group {group_id} could not be found.")
    return group


def list_groups(session: orm.Session, project_id: str | None, *, limit: int | None,
                offset: int) -> list[ServerGroup]:
    """A project's groups (every project's for None), oldest first."""
    statement = sa.select(ServerGroup).order_by(ServerGroup.created_at, ServerGroup.id)
    if project_id is not None:
        statement = statement.where(ServerGroup.project_id == project_id)
    return list(session.scalars(statement.offset(offset).limit(limit)))


def live_members(session: orm.Session, groups: list[ServerGroup]) -> dict[str, list[str]]:
    """Each group's members that are servers not deleted, in one query."""
    members: dict[str, list[str]] = {group.id: [] for group in groups}
    rows = session.execute(
        sa.select(ServerGroupMember.group_id, ServerGroupMember.instance_id)
        .join(Instance, Instance.id == ServerGroupMember.instance_id)
        .where(ServerGroupMember.group_id.in_(list(members)), Instance.deleted.is_(False))
        .order_by(Instance.created_at, Instance.id))
    for group_id, instance_id in rows:
        members[group_id].append(instance_id)
    return members
