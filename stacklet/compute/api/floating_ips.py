"""Nova's deprecated proxies to the network service's floating IPs: the
/os-floating-ips and /os-floating-ip-pools collections (until 2.35) and the
addFloatingIp and removeFloatingIp server actions (until 2.43).

A pool is an external network, named by its name or id.  Everything is
asked of the network API as the caller.
"""

from __future__ import annotations

import ipaddress

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, Conflict, NotFound
from stacklet.compute.api.common import require_version
from stacklet.compute.api.server_actions import action
from stacklet.compute.api.server_lookup import authorized_server
from stacklet.compute.neutron import Neutron

routes = RouteTable()

LAST_VERSION = "2.35"
LAST_ACTION_VERSION = "2.43"
_RULE = "os_compute_api:os-floating-ips:"


def _authorize(req: ApiRequest, action_name: str) -> Neutron:
    require_version(req, "2.1", LAST_VERSION)
    req.authorize(_RULE + action_name, {"project_id": req.ctx.project_id})
    return Neutron(req)


def _pools(neutron: Neutron) -> dict[str, str]:
    """External networks by id: their names."""
    return {network["id"]: network["name"]
            for network in neutron.get("/networks", **{"router:external": "True"})["networks"]}


def _view(floating: dict, pools: dict[str, str], ports: dict[str, dict]) -> dict:
    port = ports.get(floating["port_id"]) if floating["port_id"] else None
    return {"id": floating["id"], "ip": floating["floating_ip_address"],
            "fixed_ip": floating["fixed_ip_address"],
            "instance_id": port["device_id"] if port else None,
            "pool": pools.get(floating["floating_network_id"],
                              floating["floating_network_id"])}


def _ports_of(neutron: Neutron, floatings: list[dict]) -> dict[str, dict]:
    ids = sorted({f["port_id"] for f in floatings if f["port_id"]})
    if not ids:
        return {}
    return {port["id"]: port for port in neutron.get("/ports", id=ids)["ports"]}


def _find(neutron: Neutron, floating_id: str) -> dict:
    try:
        return neutron.get(f"/floatingips/{floating_id}")["floatingip"]
    except (NotFound, BadRequest):
        raise NotFound(f"Floating IP {floating_id} could not be found.") from None


def _find_by_address(neutron: Neutron, address: str) -> dict:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise BadRequest(f"Invalid floating IP address '{address}'.") from None
    found = neutron.get("/floatingips", floating_ip_address=address)["floatingips"]
    if not found:
        raise NotFound(f"Floating IP not found for address {address}.")
    return found[0]


@routes.route("/v2.1/os-floating-ips", "GET")
def list_floating_ips(req: ApiRequest):
    neutron = _authorize(req, "list")
    floatings = neutron.get("/floatingips", project_id=req.ctx.project_id)["floatingips"]
    pools, ports = _pools(neutron), _ports_of(neutron, floatings)
    return {"floating_ips": [_view(f, pools, ports) for f in floatings]}


@routes.route("/v2.1/os-floating-ips/{floating_id}", "GET")
def show_floating_ip(req: ApiRequest):
    neutron = _authorize(req, "show")
    floating = _find(neutron, req.path["floating_id"])
    return {"floating_ip": _view(floating, _pools(neutron), _ports_of(neutron, [floating]))}


@routes.route("/v2.1/os-floating-ips", "POST")
def create_floating_ip(req: ApiRequest):
    neutron = _authorize(req, "create")
    body = req.body if isinstance(req.body, dict) else {}
    requested = body.get("pool")
    pools = _pools(neutron)
    if requested is None:
        if len(pools) != 1:
            raise NotFound("Floating IP pool not found.")
        network_id = next(iter(pools))
    else:
        matches = [pool_id for pool_id, name in pools.items()
                   if requested in (pool_id, name)]
        if not matches:
            raise NotFound("Floating IP pool not found.")
        network_id = matches[0]
    try:
        floating = neutron.post("/floatingips", {"floatingip": {
            "floating_network_id": network_id, "project_id": req.ctx.project_id}})
    except BadRequest as exc:
        if "No more IP addresses" in exc.message:
            raise NotFound("No more floating IPs in pool "
                           f"{pools[network_id]}.") from None
        raise
    return {"floating_ip": _view(floating["floatingip"], pools, {})}


@routes.route("/v2.1/os-floating-ips/{floating_id}", "DELETE", status=202)
def delete_floating_ip(req: ApiRequest):
    neutron = _authorize(req, "delete")
    _find(neutron, req.path["floating_id"])
    neutron.delete(f"/floatingips/{req.path['floating_id']}")


@routes.route("/v2.1/os-floating-ip-pools", "GET")
def list_pools(req: ApiRequest):
    require_version(req, "2.1", LAST_VERSION)
    req.authorize("os_compute_api:os-floating-ip-pools", {"project_id": req.ctx.project_id})
    return {"floating_ip_pools": [{"name": name} for name in _pools(Neutron(req)).values()]}


# -- server actions ------------------------------------------------------------------------

def _address(value, key: str) -> str:
    if not isinstance(value, dict) or not isinstance(value.get(key), str) or \
            not value[key]:
        raise BadRequest(f"Invalid input: '{key}' is a required string.")
    return value[key]


@action("addFloatingIp", until=LAST_ACTION_VERSION)
def add_floating_ip(req: ApiRequest, value):
    address = _address(value, "address")
    fixed_address = value.get("fixed_address")
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "add")
    neutron = Neutron(req)
    floating = _find_by_address(neutron, address)
    ports = neutron.server_ports(server.id)
    candidates = [(port, ip["ip_address"]) for port in ports for ip in port["fixed_ips"]
                  if ipaddress.ip_address(ip["ip_address"]).version == 4]
    if fixed_address is not None:
        candidates = [(port, ip) for port, ip in candidates if ip == fixed_address]
        if not candidates:
            raise BadRequest(f"Specified fixed address '{fixed_address}' not found.")
    if not candidates:
        raise BadRequest("No nw_info cache associated with instance: the server has no "
                         "fixed IPv4 address to associate the floating IP with.")
    port, fixed_ip = candidates[0]
    neutron.put(f"/floatingips/{floating['id']}", {"floatingip": {
        "port_id": port["id"], "fixed_ip_address": fixed_ip}})


@action("removeFloatingIp", until=LAST_ACTION_VERSION)
def remove_floating_ip(req: ApiRequest, value):
    address = _address(value, "address")
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "remove")
    neutron = Neutron(req)
    floating = _find_by_address(neutron, address)
    server_ports = {port["id"] for port in neutron.server_ports(server.id)}
    if floating["port_id"] not in server_ports:
        raise Conflict(f"Floating IP {address} is not associated with instance {server.id}.")
    neutron.put(f"/floatingips/{floating['id']}", {"floatingip": {"port_id": None}})
