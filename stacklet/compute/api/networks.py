"""/os-networks and /os-tenant-networks: Nova's read-only proxies to the
network service (removed at 2.36).  They show what the port provider knows;
a cloud without a network service has no networks."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import NotFound
from stacklet.compute.api.common import require_version

routes = RouteTable()

LAST_VERSION = "2.35"

# What Nova shows of a network to anyone, and the nova-network fields it adds
# for admins (None here: the network service has no such settings).
_FIELDS = ("cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6",
           "gateway_v6", "netmask_v6")
_ADMIN_FIELDS = ("created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge",
                 "vlan", "vpn_public_address", "vpn_public_port", "vpn_private_address",
                 "dhcp_start", "host", "bridge_interface", "multi_host", "priority",
                 "rxtx_base", "mtu", "dhcp_server", "enable_dhcp", "share_address")


def _networks(req: ApiRequest, rule: str) -> list[dict]:
    require_version(req, "2.1", LAST_VERSION)
    ctx = req.authorize(rule, {"project_id": req.ctx.project_id})
    return req.cloud.ports.networks(ctx)


def _find(networks: list[dict], network_id: str) -> dict:
    for network in networks:
        if network["id"] == network_id:
            return network
    raise NotFound("Network not found")


def _network_view(req: ApiRequest, network: dict) -> dict:
    view = {name: network.get(name) for name in _FIELDS}
    view.update(id=network["id"], label=network["name"])
    if req.ctx.is_admin:
        view.update({name: None for name in _ADMIN_FIELDS},
                    project_id=network.get("project_id"))
    return view


def _tenant_network_view(network: dict) -> dict:
    return {"id": network["id"], "cidr": network.get("cidr"), "label": network["name"]}


@routes.route("/v2.1/os-networks", "GET")
def list_networks(req: ApiRequest):
    networks = _networks(req, "os_compute_api:os-networks:list")
    return {"networks": [_network_view(req, network) for network in networks]}


@routes.route("/v2.1/os-networks/{network_id}", "GET")
def show_network(req: ApiRequest):
    networks = _networks(req, "os_compute_api:os-networks:show")
    return {"network": _network_view(req, _find(networks, req.path["network_id"]))}


@routes.route("/v2.1/os-tenant-networks", "GET")
def list_tenant_networks(req: ApiRequest):
    networks = _networks(req, "os_compute_api:os-tenant-networks:list")
    return {"networks": [_tenant_network_view(network) for network in networks]}


@routes.route("/v2.1/os-tenant-networks/{network_id}", "GET")
def show_tenant_network(req: ApiRequest):
    networks = _networks(req, "os_compute_api:os-tenant-networks:show")
    return {"network": _tenant_network_view(_find(networks, req.path["network_id"]))}
