"""Floating IPs: an address of an external network held by a port of its own, and
its association with a fixed IPv4 address of a project port behind a router.

The router serving an association is the one with an interface on the fixed
address's subnet and its gateway on the floating network; the L3 agent NATs
between the two addresses in that router's namespace.
"""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from stacklet.network import ports, quotas, tags
from stacklet.network.errors import (
    BadRequest,
    ExternalGatewayForFloatingIPNotFound,
    ExternalIpAddressExhausted,
    FloatingIPNotFound,
    FloatingIPPortAlreadyAssociated,
)
from stacklet.network.models import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    RouterPort,
    Subnet,
    new_uuid,
)
from stacklet.network.routers import FLOATING_IP, ROUTER_GATEWAY, ROUTER_INTERFACE
from stacklet.network.standard import find, standard_view

ACTIVE, DOWN = "ACTIVE", "DOWN"


def floatingip_error(message: str) -> BadRequest:
    """Neutron's ``BadRequest(resource='floatingip')`` wording."""
    return BadRequest(f"Bad floatingip request: {message}.")


def get(session, floatingip_id: str, *, for_update: bool = False) -> FloatingIP:
    return find(session, FloatingIP, floatingip_id,
                FloatingIPNotFound(f"Floating IP {floatingip_id} could not be found"),
                for_update=for_update)


def visible_to(ctx, query: sa.Select) -> sa.Select:
    return query if ctx.is_admin else query.where(FloatingIP.project_id == ctx.project_id)


def _port_details(port: Port | None) -> dict | None:
    """What fip-port-details shows of the associated port."""
    if port is None:
        return None
    return {"name": port.name, "network_id": port.network_id,
            "mac_address": port.mac_address, "admin_state_up": port.admin_state_up,
            "status": port.status, "device_id": port.device_id,
            "device_owner": port.device_owner}


def views(session, floatingips: list[FloatingIP]) -> list[dict]:
    ids = [floatingip.id for floatingip in floatingips]
    port_ids = [f.fixed_port_id for f in floatingips if f.fixed_port_id]
    fixed_ports = {port.id: port for port in session.scalars(
        sa.select(Port).where(Port.id.in_(port_ids)))} if port_ids else {}
    floatingip_tags = tags.tags_of(session, "floatingips", ids)
    return [{
        **standard_view(floatingip, floatingip_tags[floatingip.id]),
        "floating_ip_address": floatingip.floating_ip_address,
        "floating_network_id": floatingip.floating_network_id,
        "router_id": floatingip.router_id,
        "port_id": floatingip.fixed_port_id,
        "fixed_ip_address": floatingip.fixed_ip_address,
        "status": floatingip.status,
        "port_details": _port_details(fixed_ports.get(floatingip.fixed_port_id)),
    } for floatingip in floatingips]


# -- association ---------------------------------------------------------------------

def _fixed_address(port: Port, wanted: str | None) -> tuple[str, str]:
    """(address, subnet id) of the port the floating IP maps to: the one asked
    for, else the port's only IPv4 address."""
    if wanted is not None:
        if ipaddress.ip_address(wanted).version != 4:
            raise floatingip_error(f"Cannot process floating IP association with {wanted}, "
                                   "since that is not an IPv4 address")
        for ip in port.fixed_ips:
            if ip.ip_address == wanted:
                return ip.ip_address, ip.subnet_id
        raise floatingip_error(f"Port {port.id} does not have fixed ip {wanted}")
    ipv4 = [ip for ip in port.fixed_ips if ipaddress.ip_address(ip.ip_address).version == 4]
    if not ipv4:
        raise floatingip_error(f"Cannot add floating IP to port {port.id} that has no fixed "
                               "IPv4 addresses")
    if len(ipv4) > 1:
        raise floatingip_error(f"Port {port.id} has multiple fixed IPv4 addresses.  Must "
                               "provide a specific IPv4 address when assigning a floating IP")
    return ipv4[0].ip_address, ipv4[0].subnet_id


def serving_router(session, port: Port, subnet_id: str, floating_network_id: str) -> str:
    """The router with an interface on the subnet and its gateway on the floating
    network; the one whose interface is the subnet's gateway when several are."""
    gateway = aliased(Port)
    rows = session.execute(
        sa.select(RouterPort.router_id, IPAllocation.ip_address)
        .join(Port, Port.id == RouterPort.port_id)
        .join(IPAllocation, IPAllocation.port_id == Port.id)
        .join(gateway, sa.and_(gateway.device_id == RouterPort.router_id,
                               gateway.device_owner == ROUTER_GATEWAY))
        .where(RouterPort.port_type == ROUTER_INTERFACE, Port.network_id == port.network_id,
               IPAllocation.subnet_id == subnet_id,
               gateway.network_id == floating_network_id)
        .order_by(RouterPort.router_id)).all()
    if not rows:
        raise ExternalGatewayForFloatingIPNotFound(
            f"External network {floating_network_id} is not reachable from subnet "
            f"{subnet_id}.  Therefore, cannot associate Port {port.id} with a Floating IP.")
    gateway_ip = session.scalar(sa.select(Subnet.gateway_ip).where(Subnet.id == subnet_id))
    for router_id, address in rows:
        if address == gateway_ip:
            return router_id
    return rows[0][0]


def _associate(session, ctx, floatingip: FloatingIP, port: Port | None,
               fixed_ip_address: str | None) -> None:
    """Point the floating IP at the port's fixed address (or at nothing), after
    checking the port may have it; the row is not changed until all checks pass."""
    if port is None:
        if fixed_ip_address:
            raise floatingip_error("fixed_ip_address cannot be specified without a port_id")
        floatingip.fixed_port_id = floatingip.fixed_ip_address = floatingip.router_id = None
        floatingip.status = DOWN
        return
    if port.project_id != floatingip.project_id and not ctx.is_admin:
        raise floatingip_error(f"Cannot process floating IP association with Port {port.id}, "
                               "since that port is owned by a different tenant")
    if port.device_owner.startswith("network:"):
        raise floatingip_error(f"Port {port.id} is unable to be assigned a floating IP")
    address, subnet_id = _fixed_address(port, fixed_ip_address)
    router_id = serving_router(session, port, subnet_id, floatingip.floating_network_id)
    taken = session.scalar(sa.select(FloatingIP).where(
        FloatingIP.fixed_port_id == port.id, FloatingIP.fixed_ip_address == address,
        FloatingIP.floating_network_id == floatingip.floating_network_id,
        FloatingIP.id != floatingip.id))
    if taken is not None:
        raise FloatingIPPortAlreadyAssociated(
            f"Cannot associate floating IP {floatingip.floating_ip_address} "
            f"({floatingip.id}) with port {port.id} using fixed IP {address}, as that fixed "
            f"IP already has a floating IP on external network "
            f"{floatingip.floating_network_id}.")
    floatingip.fixed_port_id, floatingip.fixed_ip_address = port.id, address
    floatingip.router_id = router_id
    # The data plane reports nothing back yet: an association is taken as working.
    floatingip.status = ACTIVE


# -- create, update, delete ----------------------------------------------------------

def create(session, config, ctx, values: dict, network: Network, port: Port | None) -> FloatingIP:
    """A floating IP on the external ``network``, associated with ``port`` if given."""
    quotas.check(session, config, values["project_id"], "floatingip")
    if not network.router_external:
        raise floatingip_error(f"Network {network.id} is not a valid external network")
    floatingip = FloatingIP(id=new_uuid(), project_id=values["project_id"],
                            floating_network_id=network.id,
                            description=values.get("description") or "")
    fixed_ip = {key: values[source] for key, source in
                (("subnet_id", "subnet_id"), ("ip_address", "floating_ip_address"))
                if values.get(source)}
    floating_port = ports.create_port(session, config, {
        "project_id": floatingip.project_id, "network_id": network.id,
        "fixed_ips": [fixed_ip] if fixed_ip else None, "device_id": floatingip.id,
        "device_owner": FLOATING_IP, "check_quota": False})
    ipv4 = [ip.ip_address for ip in floating_port.fixed_ips
            if ipaddress.ip_address(ip.ip_address).version == 4]
    if not ipv4:
        raise ExternalIpAddressExhausted(f"Unable to find any IP address on external network "
                                         f"{network.id}.")
    floatingip.floating_ip_address = ipv4[0]
    floatingip.floating_port_id = floating_port.id
    _associate(session, ctx, floatingip, port, values.get("fixed_ip_address"))
    session.add(floatingip)
    session.flush()
    if values.get("tags"):
        tags.set_tags(session, "floatingips", floatingip.id, values["tags"])
    return floatingip


def update(session, ctx, floatingip: FloatingIP, values: dict, port: Port | None) -> None:
    """Change the description and, when ``port_id`` is given, the association."""
    if "description" in values:
        floatingip.description = values["description"]
    if "port_id" in values:
        _associate(session, ctx, floatingip, port, values.get("fixed_ip_address"))
    elif values.get("fixed_ip_address"):
        raise floatingip_error("fixed_ip_address cannot be specified without a port_id")


def delete(session, floatingip: FloatingIP) -> None:
    floating_port = ports.get(session, floatingip.floating_port_id)
    tags.forget(session, "floatingips", floatingip.id)
    session.delete(floatingip)
    session.flush()
    ports.delete_port(session, floating_port)


def delete_on_network(session, network_id: str) -> None:
    """Release every floating IP of an external network being deleted, as Neutron
    does (the networks API calls this)."""
    for floatingip in session.scalars(sa.select(FloatingIP).where(
            FloatingIP.floating_network_id == network_id)).all():
        delete(session, floatingip)
