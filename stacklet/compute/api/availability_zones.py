"""/os-availability-zone: the zones servers can be placed in, and (admin) their
hosts and services."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.compute import hostinfo
from stacklet.compute.api.common import nova_time

routes = RouteTable()


@routes.route("/v2.1/os-availability-zone", "GET")
def list_zones(req: ApiRequest):
    req.authorize("os_compute_api:os-availability-zone:list")
    states = hostinfo.HostStates(req.cloud.config)
    with req.cloud.db.session() as session:
        zones = hostinfo.zone_availability(session, states,
                                           hostinfo.Zones(session, req.cloud.config))
    return {"availabilityZoneInfo": [
        {"zoneName": name, "zoneState": {"available": available}, "hosts": None}
        for name, available in sorted(zones.items())]}


@routes.route("/v2.1/os-availability-zone/detail", "GET")
def list_zones_detail(req: ApiRequest):
    req.authorize("os_compute_api:os-availability-zone:detail")
    states = hostinfo.HostStates(req.cloud.config)
    with req.cloud.db.session() as session:
        zones = hostinfo.Zones(session, req.cloud.config)
        availability = hostinfo.zone_availability(session, states, zones)
        hosts_by_zone: dict[str, dict] = {}
        for service in hostinfo.list_services(session):
            zone = zones.of_service(service)
            hosts_by_zone.setdefault(zone, {}).setdefault(service.host, {})[service.binary] = {
                "available": states.is_up(service), "active": not service.disabled,
                "updated_at": nova_time(hostinfo.last_heartbeat(service))}
    info = []
    for name in sorted(set(hosts_by_zone) | set(availability)):
        available = availability.get(name, name == hostinfo.INTERNAL_ZONE)
        info.append({"zoneName": name, "zoneState": {"available": available},
                     "hosts": hosts_by_zone.get(name)})
    return {"availabilityZoneInfo": info}
