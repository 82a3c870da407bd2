"""What the control plane knows of its hosts: services and whether they are up,
hypervisors, availability zones.

A host's availability zone has one source, as in Nova: the
``availability_zone`` metadata of a host aggregate the host is in, else the
configured ``[compute] default_availability_zone``.  ``Zones`` reads it for
every view (os-availability-zone, os-services, os-hosts, the scheduler's
zone filter and the zone a server lands in)."""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.common.errors import BadRequest, Conflict, NotFound
from stacklet.compute.driver import HostResources
from stacklet.compute.models import (
    AggregateHost,
    AggregateMetadata,
    ComputeNode,
    ComputeService,
    Instance,
)
from stacklet.db import utcnow

COMPUTE_BINARY = "nova-compute"
# Where Nova puts services that are not compute hosts (conductor, scheduler).
INTERNAL_ZONE = "internal"
# The aggregate metadata key that names its hosts' zone.
ZONE_KEY = "availability_zone"


class Zones:
    """Each compute host's availability zone: that of its aggregate, else the
    default zone.  (Adding hosts to aggregates keeps a host in one zone.)"""

    def __init__(self, session: Session, config):
        self.default = config.get("compute", "default_availability_zone")
        self.by_host = dict(session.execute(
            sa.select(AggregateHost.host, AggregateMetadata.value)
            .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id)
            .where(AggregateMetadata.key == ZONE_KEY)).all())

    def of(self, host: str) -> str:
        return self.by_host.get(host, self.default)

    def of_service(self, service: ComputeService) -> str:
        """Conductors and schedulers are in Nova's internal zone."""
        return self.of(service.host) if service.binary == COMPUTE_BINARY else INTERNAL_ZONE

    def in_use(self, session: Session) -> set[str]:
        """The zones that have a compute host, which servers can ask for."""
        return {self.of(host) for host in session.scalars(sa.select(ComputeNode.host))}


def check_zone_requestable(session: Session, config, zone: str) -> None:
    """A zone a server asks for (at boot or unshelve) must have a compute host."""
    if zone not in Zones(session, config).in_use(session):
        raise BadRequest(f"The requested availability zone is not available: {zone}")


def service_is_up(service: ComputeService, now: datetime.datetime, down_time: float) -> bool:
    """Up: not forced down, and a heartbeat no older than ``down_time`` seconds.

    The one rule every view of a host (services, hypervisors, zones) uses."""
    if service.forced_down or service.last_seen_up is None:
        return False
    return (now - service.last_seen_up).total_seconds() <= down_time


class HostStates:
    """Up/down of services as of one moment, under one configured down time."""

    def __init__(self, config):
        self.now = utcnow()
        self.down_time = config.get("compute", "service_down_time")

    def is_up(self, service: ComputeService | None) -> bool:
        return service is not None and service_is_up(service, self.now, self.down_time)

    def state(self, service: ComputeService | None) -> str:
        return "up" if self.is_up(service) else "down"


def last_heartbeat(service: ComputeService) -> datetime.datetime | None:
    """When the service last reported (what Nova shows as its updated_at)."""
    return service.last_seen_up or service.updated_at


# -- what agents and the conductor report ------------------------------------------------

def register_service(session: Session, host: str, binary: str) -> ComputeService:
    """The service row of ``binary`` on ``host``, created on first start; marks it up."""
    service = session.scalar(sa.select(ComputeService).filter_by(host=host, binary=binary))
    if service is None:
        service = ComputeService(host=host, binary=binary)
        session.add(service)
    service.last_seen_up = utcnow()
    return service


def register_node(session: Session, host: str, resources: HostResources, *,
                  ratios: dict[str, float]) -> ComputeNode:
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
    for name, value in ratios.items():
        setattr(node, name, value)
    return node


def record_heartbeats(session: Session, hosts: list[str], binary: str) -> None:
    """One statement for every host an agent runs (fake scale runs have many)."""
    session.execute(sa.update(ComputeService)
                    .where(ComputeService.host.in_(hosts), ComputeService.binary == binary)
                    .values(last_seen_up=utcnow())
                    .execution_options(synchronize_session=False))


# -- services -------------------------------------------------------------------------

def list_services(session: Session, *, host: str | None = None,
                  binary: str | None = None) -> list[ComputeService]:
    query = sa.select(ComputeService).order_by(ComputeService.pk)
    if host is not None:
        query = query.where(ComputeService.host == host)
    if binary is not None:
        query = query.where(ComputeService.binary == binary)
    return list(session.scalars(query))


def get_service(session: Session, service_id: str, *, by_uuid: bool) -> ComputeService:
    """A service by its uuid (2.53 and later) or its integer id (before)."""
    if by_uuid:
        service = session.scalar(sa.select(ComputeService).where(ComputeService.id == service_id))
    else:
        try:
            pk = int(service_id)
        except ValueError:
            raise BadRequest(f"Invalid ID {service_id}") from None
        service = session.get(ComputeService, pk)
    if service is None:
        raise NotFound(f"Service {service_id} could not be found.")
    return service


def find_by_host_binary(session: Session, host: str, binary: str) -> ComputeService:
    service = session.scalar(sa.select(ComputeService).where(
        ComputeService.host == host, ComputeService.binary == binary))
    if service is None:
        raise NotFound(f"Compute host {host} with binary {binary} could not be found.")
    return service


def check_updatable(service: ComputeService) -> None:
    """Only compute services can be disabled or forced down, as in Nova."""
    if service.binary != COMPUTE_BINARY:
        raise BadRequest(f"Updating a {service.binary} service is not supported. Only "
                         "nova-compute services can be updated.")


def set_status(service: ComputeService, *, disabled: bool | None = None,
               reason: str | None = None, forced_down: bool | None = None) -> None:
    if disabled is not None:
        service.disabled = disabled
        # Enabling forgets why the service had been disabled.
        service.disabled_reason = reason if disabled else None
    if forced_down is not None:
        service.forced_down = forced_down


def host_has_servers(session: Session, host: str) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(Instance).where(
        Instance.host == host, Instance.deleted.is_(False))) > 0


def delete_service(session: Session, service: ComputeService) -> None:
    """Forget a service; a compute service takes its hypervisor with it, and is
    refused while servers still live on its host."""
    if service.binary == COMPUTE_BINARY:
        if host_has_servers(session, service.host):
            raise Conflict("Unable to delete compute service that is hosting instances. "
                           "Migrate or delete the instances first.")
        session.execute(sa.delete(ComputeNode).where(ComputeNode.host == service.host))
    session.delete(service)


# -- hypervisors ----------------------------------------------------------------------

def list_nodes(session: Session, hostname_pattern: str | None = None) -> list[ComputeNode]:
    query = sa.select(ComputeNode).order_by(ComputeNode.pk)
    if hostname_pattern is not None:
        query = query.where(ComputeNode.hypervisor_hostname.contains(hostname_pattern,
                                                                     autoescape=True))
    return list(session.scalars(query))


def compute_services(session: Session) -> dict[str, ComputeService]:
    """Each compute host's nova-compute service, by host."""
    services = session.scalars(sa.select(ComputeService).where(
        ComputeService.binary == COMPUTE_BINARY))
    return {service.host: service for service in services}


def servers_on(session: Session, hosts: list[str]) -> dict[str, list[Instance]]:
    """The (not deleted) servers on each of these hosts."""
    found: dict[str, list[Instance]] = {host: [] for host in hosts}
    if hosts:
        for instance in session.scalars(sa.select(Instance).where(
                Instance.host.in_(hosts), Instance.deleted.is_(False))
                .order_by(Instance.created_at, Instance.id)):
            found[instance.host].append(instance)
    return found


def get_node(session: Session, node_id: str, *, by_uuid: bool) -> ComputeNode:
    node = None
    if by_uuid:
        node = session.scalar(sa.select(ComputeNode).where(ComputeNode.id == node_id))
    elif node_id.isdigit():
        node = session.get(ComputeNode, int(node_id))
    if node is None:
        raise NotFound(f"Hypervisor with ID '{node_id}' could not be found.")
    return node


# -- availability zones ---------------------------------------------------------------

def zone_availability(session: Session, states: HostStates, zones: Zones) -> dict[str, bool]:
    """Each compute zone and whether it can take servers: an enabled compute service
    in it is up."""
    services = compute_services(session)
    availability: dict[str, bool] = {}
    for node in list_nodes(session):
        service = services.get(node.host)
        usable = service is not None and not service.disabled and states.is_up(service)
        zone = zones.of(node.host)
        availability[zone] = availability.get(zone, False) or usable
    return availability
