"""/servers/{id}/os-interface: a server's ports, and plugging or unplugging one.

The port provider (the network service) owns the ports; this
module checks the server and shapes Nova's view."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, Conflict, NotFound
from stacklet.common.validation import validate
from stacklet.compute import servers, states
from stacklet.compute.api.server_lookup import authorized_server
from stacklet.compute.driver import DriverError, local_driver
from stacklet.compute.subresource_schemas import INTERFACE_ATTACH

routes = RouteTable()

_RULE = "os_compute_api:os-attach-interfaces:"
_COLLECTION = "/v2.1/servers/{server_id}/os-interface"
# The vm_states in which Nova plugs and unplugs ports.
PLUGGABLE = (states.ACTIVE, states.PAUSED, states.STOPPED)


def _view(req: ApiRequest, interface: dict) -> dict:
    view = {key: interface[key]
            for key in ("port_state", "fixed_ips", "port_id", "net_id", "mac_addr")}
    if req.version.matches("2.70"):
        view["tag"] = interface.get("tag")
    return view


@routes.route(_COLLECTION, "GET")
def list_interfaces(req: ApiRequest):
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "list")
    return {"interfaceAttachments": [_view(req, interface)
                                     for interface in req.cloud.ports.interfaces(server.id)]}


@routes.route(_COLLECTION + "/{port_id}", "GET")
def show_interface(req: ApiRequest):
    port_id = req.path["port_id"]
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "show")
    for interface in req.cloud.ports.interfaces(server.id):
        if interface["port_id"] == port_id:
            return {"interfaceAttachment": _view(req, interface)}
    raise NotFound(f"Port {port_id} could not be found.")


@routes.route(_COLLECTION, "POST")
def attach_interface(req: ApiRequest):
    body = validate(INTERFACE_ATTACH, req.json_body()).get("interfaceAttachment", {})
    net_id, port_id = body.get("net_id"), body.get("port_id")
    if net_id and port_id:
        raise BadRequest("Must not input both network_id and port_id")
    if body.get("fixed_ips") and not net_id:
        raise BadRequest("Must input network_id when request IP address")
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "create")
        servers.check_not_locked(req.ctx, server)
        servers.check_state("attach_interface", server, PLUGGABLE)
    fixed_ip = body["fixed_ips"][0]["ip_address"] if body.get("fixed_ips") else None
    interface = req.cloud.ports.attach_interface(
        req.ctx, server, net_id=net_id, port_id=port_id, fixed_ip=fixed_ip,
        tag=body.get("tag"))
    if server.host:
        _plug_into_guest(req, server, interface)
    return {"interfaceAttachment": _view(req, interface)}


def _plug_into_guest(req: ApiRequest, server, interface: dict) -> None:
    """Once the network has wired the port on the server's host, the guest gets
    its NIC (hot-plugged into a running guest); if either fails, the port is
    given back and the attach refused, as Nova's InterfaceAttachFailed."""
    try:
        req.cloud.ports.wait_wired([interface["port_id"]])
        local_driver(req.cloud, server.host).attach_interface(
            server.id, interface["port_id"], interface["mac_addr"])
    except DriverError as exc:
        req.cloud.ports.detach_interface(server.id, interface["port_id"])
        raise Conflict(f"Failed to attach network adapter device to {server.id}: "
                       f"{exc}") from None


@routes.route(_COLLECTION + "/{port_id}", "DELETE", status=202)
def detach_interface(req: ApiRequest):
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "delete")
        servers.check_not_locked(req.ctx, server)
        servers.check_state("detach_interface", server, PLUGGABLE)
    port_id = req.path["port_id"]
    if not any(interface["port_id"] == port_id
               for interface in req.cloud.ports.interfaces(server.id)):
        raise NotFound(f"Port {port_id} is not attached")
    if server.host:
        try:
            local_driver(req.cloud, server.host).detach_interface(server.id, port_id)
        except DriverError as exc:
            raise Conflict(f"Failed to detach network adapter device from {server.id}: "
                           f"{exc}") from None
    req.cloud.ports.detach_interface(server.id, port_id)
