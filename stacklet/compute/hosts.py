"""Compute hosts: their service records, heartbeats and resources."""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.compute.driver import HostResources
from stacklet.compute.models import ComputeNode, ComputeService
from stacklet.db import utcnow


def service_is_up(service: ComputeService, now: datetime.datetime, down_time: float) -> bool:
    """Nova's rule: up while the last heartbeat is recent and nobody forced it down."""
    if service.forced_down or service.last_seen_up is None:
        return False
    return (now - service.last_seen_up).total_seconds() <= down_time


def register_service(session: orm.Session, host: str, binary: str) -> ComputeService:
    """The service row of ``binary`` on ``host``, created on first start; marks it up."""
    service = session.scalar(sa.select(ComputeService).filter_by(host=host, binary=binary))
    if service is None:
        service = ComputeService(host=host, binary=binary)
        session.add(service)
    service.last_seen_up = utcnow()
    return service


def register_node(session: orm.Session, host: str, resources: HostResources, *,
                  availability_zone: str, ratios: dict[str, float]) -> ComputeNode:
    """The hypervisor row of ``host`` with what its driver offers now.  What
    servers claimed (the ``*_used`` columns) is kept."""
    node = session.scalar(sa.select(ComputeNode).filter_by(host=host))
    if node is None:
        node = ComputeNode(host=host, hypervisor_hostname=host)
        session.add(node)
    node.hypervisor_type = resources.hypervisor_type
    node.hypervisor_version = resources.hypervisor_version
    node.vcpus = resources.vcpus
    node.memory_mb = resources.memory_mb
    node.local_gb = resources.local_gb
    node.cpu_arch = resources.cpu_arch
    node.host_ip = resources.host_ip
    node.availability_zone = availability_zone
    for name, value in ratios.items():
        setattr(node, name, value)
    return node


def record_heartbeats(session: orm.Session, hosts: list[str], binary: str) -> None:
    """One statement for every host an agent runs (fake scale runs have many)."""
    session.execute(sa.update(ComputeService)
                    .where(ComputeService.host.in_(hosts), ComputeService.binary == binary)
                    .values(last_seen_up=utcnow())
                    .execution_options(synchronize_session=False))
