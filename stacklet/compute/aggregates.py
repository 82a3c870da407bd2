"""Host aggregates: named groups of compute hosts with metadata.

An aggregate's ``availability_zone`` metadata is the zone of its hosts (read
by ``hostinfo.Zones``), so the rules here keep every host in one zone, as
Nova's do: a host cannot join an aggregate whose zone differs from the zone
it already has through another aggregate, and a zone cannot be renamed under
servers that were placed in it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.common.errors import BadRequest, Conflict, NotFound
from stacklet.compute.hostinfo import INTERNAL_ZONE, ZONE_KEY, Zones, host_has_servers
from stacklet.compute.models import (
    Aggregate,
    AggregateHost,
    AggregateMetadata,
    ComputeNode,
    Instance,
)
from stacklet.db import utcnow


def metadata_of(aggregate: Aggregate) -> dict[str, str]:
    return {item.key: item.value for item in aggregate.metadata_items}


def zone_of(aggregate: Aggregate) -> str | None:
    return metadata_of(aggregate).get(ZONE_KEY)


def list_aggregates(session: orm.Session) -> list[Aggregate]:
    return list(session.scalars(sa.select(Aggregate).order_by(Aggregate.id)))


# The largest id an INTEGER column holds on every database.
MAX_ID = 2**31 - 1


def get_aggregate(session: orm.Session, aggregate_id: str) -> Aggregate:
    """The aggregate of an integer id (400 for anything else, as Nova)."""
    try:
        number = int(aggregate_id)
    except ValueError:
        raise BadRequest("Invalid input received: id must be an integer") from None
    aggregate = session.get(Aggregate, number) if 0 < number <= MAX_ID else None
    if aggregate is None:
        raise NotFound(f"Aggregate {aggregate_id} could not be found.")
    return aggregate


def _check_name_free(session: orm.Session, name: str, aggregate: Aggregate | None = None):
    clash = session.scalar(sa.select(Aggregate).filter_by(name=name))
    if clash is not None and clash is not aggregate:
        raise Conflict(f"Aggregate {name} already exists.")


def create_aggregate(session: orm.Session, name: str, zone: str | None) -> Aggregate:
    _check_name_free(session, name)
    if zone is not None:
        _check_zone_name(zone)
    aggregate = Aggregate(name=name, metadata_items=[] if zone is None else [
        AggregateMetadata(key=ZONE_KEY, value=zone)])
    session.add(aggregate)
    session.flush()
    return aggregate


def update_aggregate(session: orm.Session, aggregate: Aggregate, *, name: str | None,
                     zone: str | None, zone_given: bool) -> None:
    if name is not None:
        _check_name_free(session, name, aggregate)
        aggregate.name = name
    if zone_given:
        _set_metadata(session, aggregate, {ZONE_KEY: zone},
                      f"Cannot update aggregate {aggregate.id}")
    aggregate.updated_at = utcnow()


def set_metadata(session: orm.Session, aggregate: Aggregate,
                 metadata: dict[str, str | None]) -> None:
    """Set keys, and delete the keys given as null."""
    _set_metadata(session, aggregate, metadata,
                  f"Cannot update metadata of aggregate {aggregate.id}")
    aggregate.updated_at = utcnow()


def _set_metadata(session: orm.Session, aggregate: Aggregate,
                  metadata: dict[str, str | None], refusal: str) -> None:
    if ZONE_KEY in metadata:
        _check_zone_change(session, aggregate, metadata[ZONE_KEY], refusal)
    items = {item.key: item for item in aggregate.metadata_items}
    for key, value in metadata.items():
        if value is None:
            if key in items:
                aggregate.metadata_items.remove(items[key])
        elif key in items:
            items[key].value = value
        else:
            aggregate.metadata_items.append(AggregateMetadata(key=key, value=value))


def _check_zone_name(zone: str) -> None:
    # Nova's internal zone holds its conductors and schedulers, never compute hosts.
    if zone == INTERNAL_ZONE:
        raise BadRequest(f"Cannot create an aggregate with the internal availability zone "
                         f"name '{INTERNAL_ZONE}'.")


def _check_zone_change(session: orm.Session, aggregate: Aggregate, zone: str | None,
                       refusal: str) -> None:
    """Nova's rules for giving an aggregate's hosts a (new) zone; 400 when broken."""
    if not zone:
        raise BadRequest(f"{refusal}. Reason: Aggregate {aggregate.name} does not support "
                         "empty named availability zone.")
    _check_zone_name(zone)
    hosts = [member.host for member in aggregate.hosts]
    conflicting = _other_zones(session, hosts, zone, aggregate)
    if conflicting:
        raise BadRequest(f"{refusal}. Reason: One or more hosts already in availability "
                         f"zone(s) {conflicting}.")
    if zone != zone_of(aggregate) and any(host_has_servers(session, host) for host in hosts):
        raise BadRequest(f"{refusal}. Reason: One or more hosts contain instances in this "
                         "zone.")


def _other_zones(session: orm.Session, hosts: list[str], zone: str,
                 aggregate: Aggregate) -> list[str]:
    """The zones other than ``zone`` that these hosts have through other aggregates."""
    if not hosts:
        return []
    return sorted(set(session.scalars(
        sa.select(AggregateMetadata.value)
        .join(AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
        .where(AggregateHost.host.in_(hosts), AggregateMetadata.key == ZONE_KEY,
               AggregateMetadata.value != zone,
               AggregateMetadata.aggregate_id != aggregate.id))))


def delete_aggregate(session: orm.Session, aggregate: Aggregate) -> None:
    if aggregate.hosts:
        raise BadRequest(f"Cannot remove aggregate {aggregate.id}. Reason: Host aggregate "
                         "is not empty.")
    session.delete(aggregate)


def add_host(session: orm.Session, config, aggregate: Aggregate, host: str) -> None:
    if session.scalar(sa.select(ComputeNode).filter_by(host=host)) is None:
        raise NotFound(f"Compute host {host} could not be found.")
    if any(member.host == host for member in aggregate.hosts):
        raise Conflict(f"Aggregate {aggregate.id} already has host {host}.")
    zone = zone_of(aggregate)
    if zone is not None:
        conflicting = _other_zones(session, [host], zone, aggregate)
        if conflicting:
            # Nova answers this one with 409, where updates answer 400.
            raise Conflict(f"Cannot add host to aggregate {aggregate.id}. Reason: One or "
                           f"more hosts already in availability zone(s) {conflicting}.")
    aggregate.hosts.append(AggregateHost(host=host))
    aggregate.updated_at = utcnow()
    _servers_follow_their_host(session, config, host)


def remove_host(session: orm.Session, config, aggregate: Aggregate, host: str) -> None:
    member = next((member for member in aggregate.hosts if member.host == host), None)
    if member is None:
        raise NotFound(f"Cannot remove host {host} in aggregate {aggregate.id}")
    aggregate.hosts.remove(member)
    aggregate.updated_at = utcnow()
    _servers_follow_their_host(session, config, host)


def _servers_follow_their_host(session: orm.Session, config, host: str) -> None:
    """A server is in its host's zone (Nova shows the host's zone too): when a
    host changes zone by joining or leaving an aggregate, its servers follow,
    and later moves keep them in the new zone."""
    session.flush()
    zone = Zones(session, config).of(host)
    session.execute(sa.update(Instance)
                    .where(Instance.host == host, Instance.deleted.is_(False))
                    .values(availability_zone=zone)
                    .execution_options(synchronize_session=False))
