"""Simple tenant usage: the hours each server ran within a period, and what its
flavor's vCPUs, RAM and disk add up to over them, as Nova bills them."""

from __future__ import annotations

import dataclasses
import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.compute.models import Instance


def hours_in_period(instance: Instance, start: datetime.datetime,
                    stop: datetime.datetime) -> float:
    """Hours the server ran between start and stop: from its launch (not before
    start) to its termination (or stop); never launched is no hours."""
    launched, terminated = instance.launched_at, instance.terminated_at
    if launched is None or launched > stop:
        return 0.0
    if terminated is not None and terminated < start:
        return 0.0
    end = min(stop, terminated) if terminated is not None else stop
    return max((end - max(launched, start)).total_seconds(), 0) / 3600.0


def servers_in_period(session: Session, start: datetime.datetime, stop: datetime.datetime,
                      project_id: str | None = None) -> list[Instance]:
    """Servers (deleted ones too) that existed at some point of the period, in the
    order pages follow."""
    query = sa.select(Instance).where(
        sa.or_(Instance.terminated_at.is_(None), Instance.terminated_at > start),
        Instance.launched_at < stop)
    if project_id is not None:
        query = query.where(Instance.project_id == project_id)
    return list(session.scalars(query.order_by(Instance.created_at, Instance.id)))


@dataclasses.dataclass
class ServerUsage:
    instance: Instance
    hours: float
    now: datetime.datetime

    @property
    def local_gb(self) -> int:
        return self.instance.root_gb + self.instance.ephemeral_gb

    @property
    def uptime(self) -> int:
        """Seconds from launch to termination (or now)."""
        end = self.instance.terminated_at or self.now
        return int((end - self.instance.launched_at).total_seconds())


@dataclasses.dataclass
class ProjectUsage:
    project_id: str
    servers: list[ServerUsage] = dataclasses.field(default_factory=list)

    def total(self, per_hour) -> float:
        return sum(per_hour(usage) * usage.hours for usage in self.servers)


def usage_by_project(servers: list[Instance], start: datetime.datetime,
                     stop: datetime.datetime, now: datetime.datetime) -> list[ProjectUsage]:
    """Group the servers' usage by project, projects in the order first met."""
    projects: dict[str, ProjectUsage] = {}
    for instance in servers:
        project = projects.setdefault(instance.project_id, ProjectUsage(instance.project_id))
        project.servers.append(ServerUsage(instance, hours_in_period(instance, start, stop),
                                           now))
    return list(projects.values())
