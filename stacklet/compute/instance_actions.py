"""What was done to a server (os-instance-actions): one action per request, with
the events of the services that carried it out."""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.common.errors import NotFound
from stacklet.common.pagination import PageRequest, paginate
from stacklet.compute.models import InstanceAction


def list_actions(session: orm.Session, instance_id: str, page: PageRequest, *,
                 changed_since: datetime.datetime | None = None,
                 changed_before: datetime.datetime | None = None
                 ) -> tuple[list[InstanceAction], bool]:
    """A server's actions, newest first, after the marker action (a request id);
    also whether more follow."""
    statement = sa.select(InstanceAction).where(InstanceAction.instance_id == instance_id)
    if changed_since is not None:
        statement = statement.where(InstanceAction.updated_at >= changed_since)
    if changed_before is not None:
        statement = statement.where(InstanceAction.updated_at <= changed_before)
    statement = statement.order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())
    # One server has few actions: the whole list is cut in memory.
    return paginate(list(session.scalars(statement)), page, key=lambda row: row.request_id)


def get_action(session: orm.Session, instance_id: str, request_id: str) -> InstanceAction:
    action = session.scalar(sa.select(InstanceAction).where(
        InstanceAction.instance_id == instance_id, InstanceAction.request_id == request_id)
        .order_by(InstanceAction.id.desc()).limit(1))
    if action is None:
        raise NotFound(f"Action {request_id} not found")
    return action
