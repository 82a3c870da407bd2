"""Choosing a host for a server: filters, weighers and atomic claims.

Filters drop hosts that cannot take the server; weighers order the rest;
then the conductor claims the best host with one conditional UPDATE (see
``claim``), trying the next when a concurrent claim got there first.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.compute.hostinfo import COMPUTE_BINARY, Zones, service_is_up
from stacklet.compute.models import ComputeNode, ComputeService, Instance, Migration

AFFINITY_POLICIES = ("affinity", "soft-affinity")
ANTI_AFFINITY_POLICIES = ("anti-affinity", "soft-anti-affinity")


@dataclasses.dataclass
class RequestSpec:
    """What one server asks of a host."""

    vcpus: int
    memory_mb: int
    disk_gb: int
    availability_zone: str | None = None
    image_properties: dict = dataclasses.field(default_factory=dict)
    # The server group's policy and the hosts its members already use.
    group_policy: str | None = None
    group_hosts: list[str] = dataclasses.field(default_factory=list)
    group_max_per_host: int = 1
    # An admin's explicit host (availability_zone "zone:host" or 2.74 "host").
    requested_host: str | None = None
    # Hosts this server must not land on again (a resize to another host).
    ignore_hosts: list[str] = dataclasses.field(default_factory=list)
    # A host to choose before any other when it fits (a resize stays put).
    preferred_host: str | None = None


@dataclasses.dataclass
class HostState:
    node: ComputeNode
    service: ComputeService
    availability_zone: str

    @property
    def free_ram_mb(self) -> float:
        return self.node.memory_mb * self.node.ram_allocation_ratio - self.node.memory_mb_used

    @property
    def free_disk_gb(self) -> float:
        return self.node.local_gb * self.node.disk_allocation_ratio - self.node.local_gb_used

    @property
    def free_vcpus(self) -> float:
        return self.node.vcpus * self.node.cpu_allocation_ratio - self.node.vcpus_used


def disk_gb_of(flavor: dict) -> int:
    """The local disk a server of this flavor (as embedded in the server) claims:
    root, ephemeral and swap (MiB, rounded up to GiB)."""
    return flavor.get("disk", 0) + flavor.get("ephemeral", 0) + -(-flavor.get("swap", 0) // 1024)


def load_hosts(session: orm.Session, zones: Zones) -> list[HostState]:
    rows = session.execute(
        sa.select(ComputeNode, ComputeService)
        .join(ComputeService, sa.and_(ComputeService.host == ComputeNode.host,
                                      ComputeService.binary == COMPUTE_BINARY))
        .order_by(ComputeNode.pk)).all()
    return [HostState(node, service, zones.of(node.host)) for node, service in rows]


def _passes(host: HostState, spec: RequestSpec, now: datetime.datetime,
            down_time: float) -> bool:
    node = host.node
    if spec.requested_host and node.host != spec.requested_host:
        return False
    if node.host in spec.ignore_hosts:
        return False
    if host.service.disabled or not service_is_up(host.service, now, down_time):
        return False
    if spec.availability_zone and host.availability_zone != spec.availability_zone:
        return False
    if (host.free_ram_mb < spec.memory_mb or host.free_disk_gb < spec.disk_gb
            or host.free_vcpus < spec.vcpus):
        return False
    arch = spec.image_properties.get("architecture") or spec.image_properties.get("hw_architecture")
    if arch and arch != node.cpu_arch:
        return False
    hv_type = spec.image_properties.get("hypervisor_type")
    if hv_type and hv_type != node.hypervisor_type:
        return False
    if spec.group_policy == "affinity" and spec.group_hosts:
        return node.host in spec.group_hosts
    if spec.group_policy == "anti-affinity":
        return spec.group_hosts.count(node.host) < spec.group_max_per_host
    return True


def _weight(host: HostState, spec: RequestSpec, ram_weight_multiplier: float) -> float:
    weight = ram_weight_multiplier * host.free_ram_mb
    # Soft policies never exclude a host; they outweigh any amount of memory.
    if spec.group_policy == "soft-affinity":
        weight += 1e12 * spec.group_hosts.count(host.node.host)
    elif spec.group_policy == "soft-anti-affinity":
        weight -= 1e12 * spec.group_hosts.count(host.node.host)
    return weight


def select_hosts(hosts: list[HostState], spec: RequestSpec, *, now: datetime.datetime,
                 down_time: float, ram_weight_multiplier: float) -> Iterator[HostState]:
    """The hosts that can take the server, best first.  Lazily: ranking every
    host is cheap, filtering one is not, and the first that passes usually
    takes the claim (a scale run places servers among thousands of hosts)."""
    ranked = sorted(hosts, key=lambda host: (host.node.host == spec.preferred_host,
                                             _weight(host, spec, ram_weight_multiplier)),
                    reverse=True)
    return (host for host in ranked if _passes(host, spec, now, down_time))


def claim(session: orm.Session, node: ComputeNode, vcpus: int, memory_mb: int,
          disk_gb: int) -> bool:
    """Take resources on a host, atomically: the UPDATE only matches while the
    host still has room, so concurrent claims can never oversubscribe it."""
    table = ComputeNode.__table__
    result = session.execute(
        table.update()
        .where(table.c.pk == node.pk,
               table.c.vcpus_used + vcpus <= table.c.vcpus * table.c.cpu_allocation_ratio,
               table.c.memory_mb_used + memory_mb
               <= table.c.memory_mb * table.c.ram_allocation_ratio,
               table.c.local_gb_used + disk_gb
               <= table.c.local_gb * table.c.disk_allocation_ratio)
        .values(vcpus_used=table.c.vcpus_used + vcpus,
                memory_mb_used=table.c.memory_mb_used + memory_mb,
                local_gb_used=table.c.local_gb_used + disk_gb,
                running_vms=table.c.running_vms + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    # Keep the in-memory row in step for the next decision of this batch.
    node.vcpus_used += vcpus
    node.memory_mb_used += memory_mb
    node.local_gb_used += disk_gb
    node.running_vms += 1
    return True


def release(session: orm.Session, host: str, vcpus: int, memory_mb: int,
            disk_gb: int) -> None:
    """Give back what a server claimed on a host."""
    table = ComputeNode.__table__
    session.execute(
        table.update().where(table.c.host == host)
        .values(vcpus_used=table.c.vcpus_used - vcpus,
                memory_mb_used=table.c.memory_mb_used - memory_mb,
                local_gb_used=table.c.local_gb_used - disk_gb,
                running_vms=table.c.running_vms - 1)
        .execution_options(synchronize_session=False))


# Migration statuses while a resize or migration holds claims on two hosts.
UNFINISHED_MIGRATION = ("pre-migrating", "migrating", "post-migrating", "finished",
                        "reverting")


def release_server(session: orm.Session, server: Instance) -> None:
    """Give back everything a server claimed: its flavor on its host, or, while a
    resize or migration is unfinished, the old flavor on the source host and
    the new one on the destination."""
    migration = session.scalar(
        sa.select(Migration).where(Migration.instance_id == server.id,
                                   Migration.status.in_(UNFINISHED_MIGRATION))
        .order_by(Migration.id.desc()).limit(1))
    if migration is None or server.new_flavor is None:
        if server.host is not None:
            release(session, server.host, server.vcpus, server.memory_mb,
                    disk_gb_of(server.flavor))
        return
    # Until the move finishes, the server's flavor is still the old one.
    old_flavor = server.system_metadata.get("old_flavor") or server.flavor
    claims = [(migration.source_compute, old_flavor)]
    # A revert that moved back to the source has given up the destination's claim.
    if not (migration.status == "reverting" and server.host == migration.source_compute
            != migration.dest_compute):
        claims.append((migration.dest_compute, server.new_flavor))
    for host, flavor in claims:
        release(session, host, flavor["vcpus"], flavor["ram"], disk_gb_of(flavor))
    # Deleting a server awaiting confirmation confirms its resize, as in Nova.
    migration.status = "confirmed" if migration.status == "finished" else "error"
