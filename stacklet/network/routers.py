"""Routers: their gateway on an external network, their interfaces on subnets and
their static routes (Neutron's l3 router, ext-gw-mode, extraroute).

A router's gateway and interfaces are ports of its own, made through the ports
service and recorded in ``RouterPort``; the gateway is also ``gw_port_id``.  The
ports carry the router's id as device_id and a ``network:router_*`` device
owner, so the L3 agent finds everything it plugs into the qrouter namespace.
"""

from __future__ import annotations

import ipaddress
import socket

import sqlalchemy as sa

from stacklet.network import ports, quotas, tags
from stacklet.network.agents import L3_AGENT
from stacklet.network.errors import (
    BadRequest,
    ExternalNetworkInUse,
    InvalidInput,
    InvalidRoutes,
    PortInUse,
    RouterExternalGatewayInUseByFloatingIp,
    RouterInterfaceInUseByFloatingIP,
    RouterInterfaceInUseByRoute,
    RouterInterfaceNotFound,
    RouterInterfaceNotFoundForSubnet,
    RouterInUse,
    RouterNotFound,
    RoutesExhausted,
    SubnetMismatchForPort,
)
from stacklet.network.models import (
    Agent,
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    Router,
    RouterPort,
    Subnet,
)
from stacklet.network.standard import find, standard_view

ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
FLOATING_IP = "network:floatingip"
MAX_ROUTES = 30   # Neutron's max_routes


def router_error(message: str) -> BadRequest:
    """Neutron's ``BadRequest(resource='router')`` wording."""
    return BadRequest(f"Bad router request: {message}.")


def check_external_unused(session, network: Network) -> None:
    """A network stays external while a router has its gateway on it (409
    ExternalNetworkInUse, as Neutron)."""
    gateway = session.scalar(sa.select(Port.id).where(
        Port.network_id == network.id, Port.device_owner == ROUTER_GATEWAY).limit(1))
    if gateway is not None:
        raise ExternalNetworkInUse(f"External network {network.id} cannot be updated to be "
                                   "made non-external, since it has existing gateway ports.")


def get(session, router_id: str, *, for_update: bool = False) -> Router:
    return find(session, Router, router_id,
                RouterNotFound(f"Router {router_id} could not be found."), for_update=for_update)


def visible_to(ctx, query: sa.Select) -> sa.Select:
    return query if ctx.is_admin else query.where(Router.project_id == ctx.project_id)


def l3_host(session, router: Router) -> str:
    """The host whose L3 agent serves the router, chosen on first need: the enabled
    L3 agent serving fewest routers, or this machine when none has registered
    (all-in-one).  Router ports are bound there, as Neutron binds them to the
    agent's host."""
    if not router.host:
        hosts = sorted(session.scalars(sa.select(Agent.host).where(
            Agent.agent_type == L3_AGENT, Agent.admin_state_up)))
        if hosts:
            load = dict(session.execute(sa.select(Router.host, sa.func.count()).where(
                Router.host.in_(hosts)).group_by(Router.host)).all())
            router.host = min(hosts, key=lambda host: load.get(host, 0))
        else:
            router.host = socket.gethostname()
    return router.host


def _router_port(session, config, router: Router, values: dict) -> Port:
    """A new port of the router, bound to its L3 host and recorded as its own."""
    port = ports.create_port(session, config, {
        **values, "project_id": router.project_id, "device_id": router.id,
        "binding:host_id": l3_host(session, router), "check_quota": False})
    session.add(RouterPort(router_id=router.id, port_id=port.id,
                           port_type=values["device_owner"]))
    session.flush()
    return port


# -- views ---------------------------------------------------------------------------

def _gateway_info(router: Router, gateway: Port | None) -> dict | None:
    if gateway is None:
        return None
    return {"network_id": gateway.network_id, "enable_snat": router.enable_snat,
            "external_fixed_ips": [{"subnet_id": ip.subnet_id, "ip_address": ip.ip_address}
                                   for ip in gateway.fixed_ips]}


def views(session, routers: list[Router]) -> list[dict]:
    ids = [router.id for router in routers]
    gateway_ids = [router.gw_port_id for router in routers if router.gw_port_id]
    gateways = {port.id: port for port in session.scalars(
        sa.select(Port).where(Port.id.in_(gateway_ids)))} if gateway_ids else {}
    router_tags = tags.tags_of(session, "routers", ids)
    return [{
        **standard_view(router, router_tags[router.id]),
        "name": router.name,
        "status": router.status,
        "admin_state_up": router.admin_state_up,
        "external_gateway_info": _gateway_info(router, gateways.get(router.gw_port_id)),
        "routes": router.routes,
        # Neither DVR nor HA routers exist here; the attributes say so to admins.
        "distributed": False,
        "ha": False,
        "availability_zone_hints": router.availability_zone_hints,
        "availability_zones": ["nova"],
        "flavor_id": None,
    } for router in routers]


# -- create, update, delete ----------------------------------------------------------

def _check_supported(values: dict) -> None:
    """Only centralized, single-host routers exist here."""
    for attribute, kind in (("distributed", "Distributed"), ("ha", "HA")):
        if values.get(attribute):
            raise InvalidInput(f"Invalid input for {attribute}. Reason: {kind} routers are "
                               "not supported.")


def create(session, config, values: dict, gateway_network: Network | None) -> Router:
    """A new router; ``gateway_network`` is the (visible) network its
    external_gateway_info names, if any."""
    _check_supported(values)
    quotas.check(session, config, values["project_id"], "router")
    router = Router(project_id=values["project_id"], name=values["name"],
                    description=values["description"],
                    admin_state_up=values["admin_state_up"],
                    availability_zone_hints=values.get("availability_zone_hints") or [])
    session.add(router)
    session.flush()
    if values.get("tags"):
        tags.set_tags(session, "routers", router.id, values["tags"])
    if values.get("external_gateway_info"):
        set_gateway(session, config, router, values["external_gateway_info"], gateway_network)
    return router


def update(session, config, router: Router, values: dict,
           gateway_network: Network | None) -> None:
    _check_supported(values)
    for key in ("name", "description", "admin_state_up"):
        if key in values:
            setattr(router, key, values[key])
    if "external_gateway_info" in values:
        set_gateway(session, config, router, values["external_gateway_info"], gateway_network)
    if "routes" in values:
        set_routes(session, router, values["routes"])


def delete(session, router: Router) -> None:
    """Delete the router and its gateway port; 409 RouterInUse while it has interfaces."""
    if _interface_ports(session, router):
        raise RouterInUse(f"Router {router.id} still has ports")
    clear_gateway(session, router)
    tags.forget(session, "routers", router.id)
    session.delete(router)


# -- gateway -------------------------------------------------------------------------

def set_gateway(session, config, router: Router, info: dict | None,
                network: Network | None) -> None:
    """Point the router's gateway at an external network (a new port there), change
    its addresses or SNAT, or clear it when ``info`` is empty."""
    if not info:
        clear_gateway(session, router)
        return
    if not network.router_external:
        raise router_error(f"Network {network.id} is not an external network")
    fixed_ips = info.get("external_fixed_ips")
    if fixed_ips:
        _check_not_subnet_gateways(session, network, fixed_ips)
    router.enable_snat = info.get("enable_snat", True)
    current = ports.get(session, router.gw_port_id) if router.gw_port_id else None
    if current is not None and current.network_id == network.id:
        if fixed_ips is not None and _addresses(fixed_ips) != _addresses(current.fixed_ips):
            ports.update_port(session, config, current, {"fixed_ips": fixed_ips})
        return
    clear_gateway(session, router)
    for subnet in session.scalars(sa.select(Subnet).where(Subnet.network_id == network.id)):
        _check_subnet_not_attached(session, router, subnet)
    port = _router_port(session, config, router, {
        "network_id": network.id, "fixed_ips": fixed_ips or None,
        "device_owner": ROUTER_GATEWAY})
    router.gw_port_id = port.id
    session.flush()


def _addresses(fixed_ips) -> set[tuple]:
    def pick(ip, key):
        return ip.get(key) if isinstance(ip, dict) else getattr(ip, key)
    return {(pick(ip, "subnet_id"), pick(ip, "ip_address")) for ip in fixed_ips}


def _check_not_subnet_gateways(session, network: Network, fixed_ips: list[dict]) -> None:
    gateways = set(session.scalars(sa.select(Subnet.gateway_ip).where(
        Subnet.network_id == network.id, Subnet.gateway_ip.is_not(None))))
    for fixed_ip in fixed_ips:
        if fixed_ip.get("ip_address") in gateways:
            raise router_error(f"External IP {fixed_ip['ip_address']} is the same as the "
                               "gateway IP")


def clear_gateway(session, router: Router) -> None:
    """Remove the gateway port; 409 while floating IPs reach their ports through it."""
    if not router.gw_port_id:
        return
    gateway = ports.get(session, router.gw_port_id)
    in_use = session.scalar(sa.select(sa.func.count()).select_from(FloatingIP).where(
        FloatingIP.router_id == router.id))
    if in_use:
        raise RouterExternalGatewayInUseByFloatingIp(
            f"Gateway cannot be updated for router {router.id}, since a gateway to external "
            f"network {gateway.network_id} is required by one or more floating IPs.")
    router.gw_port_id = None
    _release_port(session, gateway)


def _release_port(session, port: Port) -> None:
    session.execute(sa.delete(RouterPort).where(RouterPort.port_id == port.id))
    session.flush()
    ports.delete_port(session, port)


# -- routes (extraroute, extraroute-atomic) ------------------------------------------

def set_routes(session, router: Router, routes: list[dict]) -> None:
    """Replace the static routes; each nexthop must be an address on a subnet the
    router is attached to, and not one of the router's own."""
    routes = list({(r["destination"], r["nexthop"]): r for r in routes}.values())
    if len(routes) > MAX_ROUTES:
        raise RoutesExhausted(f"Unable to complete operation for {router.id}. The number of "
                              f"routes exceeds the maximum {MAX_ROUTES}.")
    attached = session.execute(
        sa.select(Subnet.cidr, IPAllocation.ip_address)
        .join(IPAllocation, IPAllocation.subnet_id == Subnet.id)
        .join(RouterPort, RouterPort.port_id == IPAllocation.port_id)
        .where(RouterPort.router_id == router.id)).all()
    networks = [ipaddress.ip_network(cidr) for cidr, _ in attached]
    own = {address for _, address in attached}
    for route in routes:
        nexthop = ipaddress.ip_address(route["nexthop"])
        if not any(nexthop in network for network in networks):
            raise _invalid_routes(routes, "the nexthop is not connected with router")
        if route["nexthop"] in own:
            raise _invalid_routes(routes, "the nexthop is used by router")
    router.routes = routes


def _invalid_routes(routes: list[dict], reason: str) -> InvalidRoutes:
    return InvalidRoutes(f"Invalid format for routes: {routes}, {reason}.")


def add_routes(session, router: Router, routes: list[dict]) -> None:
    set_routes(session, router, router.routes + routes)


def remove_routes(session, router: Router, routes: list[dict]) -> None:
    removed = {(r["destination"], r["nexthop"]) for r in routes}
    set_routes(session, router, [r for r in router.routes
                                 if (r["destination"], r["nexthop"]) not in removed])


# -- interfaces ----------------------------------------------------------------------

def _interface_ports(session, router: Router) -> list[Port]:
    return list(session.scalars(sa.select(Port).join(RouterPort, RouterPort.port_id == Port.id)
                                .where(RouterPort.router_id == router.id,
                                       RouterPort.port_type == ROUTER_INTERFACE)
                                .order_by(Port.created_at, Port.id)))


def _attached_subnets(session, router: Router) -> list[Subnet]:
    """The subnets of every port of the router, gateway included."""
    return list(session.scalars(
        sa.select(Subnet).join(IPAllocation, IPAllocation.subnet_id == Subnet.id)
        .join(RouterPort, RouterPort.port_id == IPAllocation.port_id)
        .where(RouterPort.router_id == router.id)))


def _check_subnet_not_attached(session, router: Router, subnet: Subnet) -> None:
    """400 when the router already has a port on the subnet or on one overlapping it:
    it could not tell which side a packet belongs to."""
    new = ipaddress.ip_network(subnet.cidr)
    for attached in _attached_subnets(session, router):
        if attached.id == subnet.id:
            raise router_error(f"Router already has a port on subnet {subnet.id}")
        if new.version == ipaddress.ip_network(attached.cidr).version and \
                new.overlaps(ipaddress.ip_network(attached.cidr)):
            raise router_error(f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with "
                               f"cidr {attached.cidr} of subnet {attached.id}")


def interface_info(router: Router, port: Port, subnet_ids: list[str]) -> dict:
    """The body add/remove_router_interface answer."""
    return {"id": router.id, "tenant_id": port.project_id, "project_id": port.project_id,
            "port_id": port.id, "network_id": port.network_id,
            "subnet_id": subnet_ids[0] if subnet_ids else None, "subnet_ids": subnet_ids}


def add_interface_on_subnet(session, config, ctx, router: Router, subnet: Subnet) -> dict:
    """A router interface owning the subnet's gateway address."""
    if not subnet.gateway_ip:
        raise router_error("Subnet for router interface must have a gateway IP")
    if not ctx.is_admin and subnet.project_id != ctx.project_id:
        raise router_error(f"Cannot add interface to router because subnet {subnet.id} is "
                           "not owned by project making the request")
    if subnet.ip_version == 6 and subnet.ipv6_address_mode and not subnet.ipv6_ra_mode:
        raise router_error(f"IPv6 subnet {subnet.id} configured to receive RAs from an "
                           "external router cannot be added to Neutron Router.")
    _check_subnet_not_attached(session, router, subnet)
    fixed_ip = {"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}
    if subnet.ip_version == 6:
        # IPv6 prefixes of one network share one router port, as Neutron does.
        shared = _ipv6_interface_on(session, router, subnet.network_id)
        if shared is not None:
            ports.update_port(session, config, shared, {"fixed_ips": [
                *({"subnet_id": ip.subnet_id, "ip_address": ip.ip_address}
                  for ip in shared.fixed_ips), fixed_ip]})
            return interface_info(router, shared, [subnet.id])
    port = _router_port(session, config, router, {
        "network_id": subnet.network_id, "fixed_ips": [fixed_ip],
        "device_owner": ROUTER_INTERFACE})
    return interface_info(router, port, [subnet.id])


def _ipv6_interface_on(session, router: Router, network_id: str) -> Port | None:
    for port in _interface_ports(session, router):
        if port.network_id == network_id and port.fixed_ips and all(
                ipaddress.ip_address(ip.ip_address).version == 6 for ip in port.fixed_ips):
            return port
    return None


def add_interface_port(session, config, router: Router, port: Port) -> dict:
    """Make an existing unattached port with addresses an interface of the router."""
    if port.device_id:
        raise PortInUse(f"Unable to complete operation on port {port.id} for network "
                        f"{port.network_id}. Port already has an attached device "
                        f"{port.device_id}.")
    if not port.fixed_ips:
        raise router_error("Router port must have at least one fixed IP")
    subnets = [session.get(Subnet, ip.subnet_id) for ip in port.fixed_ips]
    for subnet in subnets:
        _check_subnet_not_attached(session, router, subnet)
    if len({s.id for s in subnets if s.ip_version == 4}) > 1:
        raise router_error("Cannot have multiple IPv4 subnets on router port")
    ports.update_port(session, config, port, {
        "device_id": router.id, "device_owner": ROUTER_INTERFACE,
        "binding:host_id": l3_host(session, router)})
    session.add(RouterPort(router_id=router.id, port_id=port.id, port_type=ROUTER_INTERFACE))
    session.flush()
    return interface_info(router, port, list(dict.fromkeys(s.id for s in subnets)))


def _check_interface_unused(session, router: Router, subnet: Subnet) -> None:
    """An interface stays while floating IPs or static routes go through its subnet."""
    cidr = ipaddress.ip_network(subnet.cidr)
    fixed = session.scalars(sa.select(FloatingIP.fixed_ip_address).where(
        FloatingIP.router_id == router.id, FloatingIP.fixed_ip_address.is_not(None)))
    if any(ipaddress.ip_address(address) in cidr for address in fixed):
        raise RouterInterfaceInUseByFloatingIP(
            f"Router interface for subnet {subnet.id} on router {router.id} cannot be "
            "deleted, as it is required by one or more floating IPs.")
    if any(ipaddress.ip_address(route["nexthop"]) in cidr for route in router.routes):
        raise RouterInterfaceInUseByRoute(
            f"Router interface for subnet {subnet.id} on router {router.id} cannot be "
            "deleted, as it is required by one or more routes.")


def remove_interface_port(session, router: Router, port_id: str,
                          subnet_id: str | None) -> dict:
    """Remove the interface with this port (deleting the port)."""
    owned = session.scalar(sa.select(RouterPort).where(
        RouterPort.router_id == router.id, RouterPort.port_id == port_id,
        RouterPort.port_type == ROUTER_INTERFACE))
    if owned is None:
        raise RouterInterfaceNotFound(f"Router {router.id} does not have an interface with "
                                      f"id {port_id}")
    port = ports.get(session, port_id)
    subnet_ids = list(dict.fromkeys(ip.subnet_id for ip in port.fixed_ips))
    if subnet_id and subnet_id not in subnet_ids:
        raise SubnetMismatchForPort(f"Subnet on port {port_id} does not match the requested "
                                    f"subnet {subnet_id}")
    for subnet in session.scalars(sa.select(Subnet).where(Subnet.id.in_(subnet_ids))):
        _check_interface_unused(session, router, subnet)
    info = interface_info(router, port, subnet_ids)
    _release_port(session, port)
    return info


def remove_interface_on_subnet(session, config, router: Router, subnet: Subnet) -> dict:
    """Remove the router's address on the subnet: the whole port, or only that
    address when the port also serves other IPv6 prefixes."""
    for port in _interface_ports(session, router):
        subnet_ids = list(dict.fromkeys(ip.subnet_id for ip in port.fixed_ips))
        if subnet.id not in subnet_ids:
            continue
        _check_interface_unused(session, router, subnet)
        info = interface_info(router, port, [subnet.id])
        if len(subnet_ids) > 1:
            ports.update_port(session, config, port, {"fixed_ips": [
                {"subnet_id": ip.subnet_id, "ip_address": ip.ip_address}
                for ip in port.fixed_ips if ip.subnet_id != subnet.id]})
        else:
            _release_port(session, port)
        return info
    raise RouterInterfaceNotFoundForSubnet(f"Router {router.id} has no interface on subnet "
                                           f"{subnet.id}")
