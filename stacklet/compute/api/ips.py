"""/servers/{id}/ips: a server's addresses, by network name."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import NotFound
from stacklet.compute.api.server_lookup import authorized_server

routes = RouteTable()


def _addresses(req: ApiRequest, action: str) -> dict[str, list[dict]]:
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, f"os_compute_api:ips:{action}")
    by_network = req.cloud.ports.addresses([server.id]).get(server.id, {})
    # This view shows the bare address: the MAC and type are the server view's.
    return {network: [{"version": entry["version"], "addr": entry["addr"]}
                      for entry in entries]
            for network, entries in by_network.items()}


@routes.route("/v2.1/servers/{server_id}/ips", "GET")
def list_addresses(req: ApiRequest):
    return {"addresses": _addresses(req, "index")}


@routes.route("/v2.1/servers/{server_id}/ips/{network}", "GET")
def show_network_addresses(req: ApiRequest):
    network = req.path["network"]
    addresses = _addresses(req, "show")
    if network not in addresses:
        raise NotFound("Instance is not a member of specified network")
    return {network: addresses[network]}
