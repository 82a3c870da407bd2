"""/v2.0/network-ip-availabilities: how many addresses each network and subnet
has in its allocation pools, and how many are taken (admin only by default)."""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import ipam
from stacklet.network.api.common import requested_fields
from stacklet.network.errors import NetworkNotFound
from stacklet.network.listing import Resource, apply_filters
from stacklet.network.models import Network, Subnet

routes = RouteTable()
RULE = "get_network_ip_availability"


def _ip_version_filter(query, values):
    versions = [int(value) for value in values if value in ("4", "6")]
    return query.where(sa.exists().where(Subnet.network_id == Network.id,
                                         Subnet.ip_version.in_(versions)))


RESOURCE = Resource(
    "network_ip_availability", "network-ip-availabilities", Network,
    filters={"network_id": Network.id, "network_name": Network.name,
             "project_id": Network.project_id, "tenant_id": Network.project_id,
             "ip_version": _ip_version_filter},
    sort_keys={})


def availabilities(session, networks: list[Network]) -> list[dict]:
    by_network: dict[str, list[Subnet]] = {network.id: [] for network in networks}
    for subnet in session.scalars(sa.select(Subnet).where(
            Subnet.network_id.in_(list(by_network))).order_by(Subnet.created_at, Subnet.id)):
        by_network[subnet.network_id].append(subnet)
    used = ipam.used_count(session, [s.id for group in by_network.values() for s in group])
    result = []
    for network in networks:
        per_subnet = [{"subnet_id": subnet.id, "subnet_name": subnet.name,
                       "cidr": subnet.cidr, "ip_version": subnet.ip_version,
                       "total_ips": ipam.pool_size(subnet), "used_ips": used[subnet.id]}
                      for subnet in by_network[network.id]]
        result.append({
            "network_id": network.id, "network_name": network.name,
            "project_id": network.project_id, "tenant_id": network.project_id,
            "total_ips": sum(item["total_ips"] for item in per_subnet),
            "used_ips": sum(item["used_ips"] for item in per_subnet),
            "subnet_ip_availability": per_subnet})
    return result


def _shaped(req: ApiRequest, view: dict) -> dict:
    fields = requested_fields(req)
    return {key: value for key, value in view.items() if not fields or key in fields}


@routes.route("/v2.0/network-ip-availabilities", "GET")
def list_availabilities(req: ApiRequest):
    with req.cloud.db.session() as session:
        query = apply_filters(sa.select(Network).order_by(Network.created_at, Network.id),
                              RESOURCE, req.query)
        views = availabilities(session, list(session.scalars(query)))
    return {"network_ip_availabilities": [_shaped(req, view) for view in views
                                          if req.allowed(RULE, view)]}


@routes.route("/v2.0/network-ip-availabilities/{network_id}", "GET")
def show_availability(req: ApiRequest):
    network_id = req.path["network_id"]
    with req.cloud.db.session() as session:
        network = session.get(Network, network_id)
        view = availabilities(session, [network])[0] if network is not None else None
    if view is None or not req.allowed(RULE, view):
        raise NetworkNotFound(f"Network {network_id} could not be found.")
    return {"network_ip_availability": _shaped(req, view)}
