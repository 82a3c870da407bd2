"""Subnets: CIDRs (given, or taken from a subnet pool), gateways, allocation
pools, routes, name servers and IPv6 modes, checked as Neutron checks them.

A subnet's allocation pools are the addresses IPAM hands out; creating or
changing them rebuilds the subnet's free ranges (see ``ipam``).
"""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa

from stacklet.network import ipam, networks, quotas, subnetpools, tags
from stacklet.network.errors import (
    BadRequest,
    DNSNameServersExhausted,
    GatewayConflictWithAllocationPools,
    HostRoutesExhausted,
    InvalidAllocationPool,
    InvalidInput,
    InvalidSubnetServiceType,
    OutOfBoundsAllocationPool,
    OverlappingAllocationPools,
    SubnetInUse,
    SubnetNotFound,
)
from stacklet.network.models import FreeRange, IPAllocation, Network, Port, Subnet
from stacklet.network.standard import find, standard_view

IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
# Neutron's defaults of max_dns_nameservers and max_subnet_host_routes.
MAX_NAMESERVERS = 5
MAX_HOST_ROUTES = 20


def visible_to(ctx, query: sa.Select) -> sa.Select:
    """Subnets the caller may list: their own and those of networks they see."""
    if ctx.is_admin:
        return query
    visible_networks = networks.visible_to(ctx, sa.select(Network.id))
    return query.where(sa.or_(Subnet.project_id == ctx.project_id,
                              Subnet.network_id.in_(visible_networks)))


def get(session, subnet_id: str, *, for_update: bool = False) -> Subnet:
    return find(session, Subnet, subnet_id,
                SubnetNotFound(f"Subnet {subnet_id} could not be found."), for_update=for_update)


def of_network(session, network_id: str) -> list[Subnet]:
    return list(session.scalars(sa.select(Subnet).where(Subnet.network_id == network_id)
                                .order_by(Subnet.created_at, Subnet.id)))


def views(session, subnets: list[Subnet]) -> list[dict]:
    subnet_tags = tags.tags_of(session, "subnets", [subnet.id for subnet in subnets])
    return [{
        **standard_view(subnet, subnet_tags[subnet.id]),
        "name": subnet.name,
        "network_id": subnet.network_id,
        "ip_version": subnet.ip_version,
        "cidr": subnet.cidr,
        "gateway_ip": subnet.gateway_ip,
        "enable_dhcp": subnet.enable_dhcp,
        "ipv6_ra_mode": subnet.ipv6_ra_mode,
        "ipv6_address_mode": subnet.ipv6_address_mode,
        "allocation_pools": subnet.allocation_pools,
        "host_routes": subnet.host_routes,
        "dns_nameservers": subnet.dns_nameservers,
        "subnetpool_id": subnet.subnetpool_id,
        "service_types": subnet.service_types,
        "segment_id": subnet.segment_id,
        "dns_publish_fixed_ip": subnet.dns_publish_fixed_ip,
    } for subnet in subnets]


def policy_target(view: dict, network: Network) -> dict:
    """A subnet as its policy rules see it: with its network's owner and sharing."""
    return {**view, "network:project_id": network.project_id, "shared": network.shared}


# -- checks ------------------------------------------------------------------------

def _pool_text(first, last) -> str:
    return f"{first}-{last}"


def _host_bounds(network) -> tuple[int, int]:
    """The first and last address a pool may hold: not the network address, nor
    the IPv4 broadcast (a /31 or /32 has neither)."""
    first, last = int(network.network_address), int(network.broadcast_address)
    if network.version == 4 and network.prefixlen >= 31:
        return first, last
    return first + 1, last if network.version == 6 else last - 1


def default_pools(network, gateway: str | None) -> list[dict]:
    """The whole CIDR but the network (and IPv4 broadcast) address and the gateway."""
    first, last = _host_bounds(network)
    ranges = [(first, last)]
    if gateway is not None:
        gw = int(ipaddress.ip_address(gateway))
        if first <= gw <= last:
            ranges = [(a, b) for a, b in ((first, gw - 1), (gw + 1, last)) if a <= b]
    make = ipaddress.ip_address
    return [{"start": str(make(a)), "end": str(make(b))} for a, b in ranges]


def check_pools(network, pools: list[dict], gateway: str | None) -> list[dict]:
    """The pools in canonical text; 400/409 as Neutron for a bad one."""
    first, last = _host_bounds(network)
    ranges = []
    for pool in pools:
        try:
            start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        except (KeyError, TypeError, ValueError):
            raise InvalidAllocationPool(f"The allocation pool {pool} is not valid.") from None
        if set(pool) != {"start", "end"} or start.version != network.version or \
                end.version != network.version or start > end:
            raise InvalidAllocationPool(f"The allocation pool {_pool_text(start, end)} is "
                                        "not valid.")
        if int(start) < first or int(end) > last:
            raise OutOfBoundsAllocationPool(f"The allocation pool {_pool_text(start, end)} "
                                            f"spans beyond the subnet cidr {network}.")
        ranges.append((start, end))
    ranges.sort()
    for (a_start, a_end), (b_start, b_end) in zip(ranges, ranges[1:]):
        if b_start <= a_end:
            raise OverlappingAllocationPools(
                f"Found overlapping allocation pools: {_pool_text(a_start, a_end)} "
                f"{_pool_text(b_start, b_end)} for subnet {network}.")
    if gateway is not None:
        gw = ipaddress.ip_address(gateway)
        for start, end in ranges:
            if start <= gw <= end:
                raise GatewayConflictWithAllocationPools(
                    f"Gateway ip {gateway} conflicts with allocation pool "
                    f"{_pool_text(start, end)}")
    return [{"start": str(start), "end": str(end)} for start, end in ranges]


def check_gateway(network, gateway: str | None) -> None:
    if gateway is None:
        return
    address = ipaddress.ip_address(gateway)
    first, last = _host_bounds(network)
    if address.version != network.version or not first <= int(address) <= last:
        raise InvalidInput(f"Invalid input for operation: Gateway {gateway} is not valid on "
                           f"subnet {network}.")


def check_routes(network, routes: list[dict]) -> None:
    if len(routes) > MAX_HOST_ROUTES:
        raise HostRoutesExhausted(f"Unable to complete operation for {network}. The number of "
                                  f"host routes exceeds the limit {MAX_HOST_ROUTES}.")
    seen = set()
    for route in routes:
        destination = ipaddress.ip_network(route["destination"])
        nexthop = ipaddress.ip_address(route["nexthop"])
        if destination.version != network.version or nexthop.version != network.version:
            raise InvalidInput(f"Invalid input for operation: host route {route} is not of "
                               f"the subnet's IP version {network.version}.")
        key = (str(destination), str(nexthop))
        if key in seen:
            raise InvalidInput(f"Invalid input for operation: Duplicate hostroute "
                               f"'{route['destination']}'.")
        seen.add(key)


def check_nameservers(network, servers: list[str]) -> None:
    if len(servers) > MAX_NAMESERVERS:
        raise DNSNameServersExhausted(f"Unable to complete operation for {network}. The number "
                                      f"of DNS nameservers exceeds the limit "
                                      f"{MAX_NAMESERVERS}.")
    if len(set(servers)) != len(servers):
        duplicate = next(server for server in servers if servers.count(server) > 1)
        raise InvalidInput(f"Invalid input for operation: Duplicate nameserver "
                           f"'{duplicate}'.")


def check_service_types(service_types: list[str]) -> None:
    """Service types name the device owners a subnet serves (subnet-service-types)."""
    for service_type in service_types:
        prefix, _, rest = service_type.partition(":")
        if prefix not in ("network", "compute") or not rest:
            raise InvalidSubnetServiceType(f"Subnet service type {service_type} is not a "
                                           "valid device owner.")


def for_device_owner(network_subnets: list[Subnet], device_owner: str) -> list[Subnet]:
    """The subnets a port of this owner takes addresses from when none is named: those
    serving its owner, else those serving everyone (no service types)."""
    serving = [subnet for subnet in network_subnets if device_owner in subnet.service_types]
    return serving or [subnet for subnet in network_subnets if not subnet.service_types]


def check_ipv6_modes(version: int, cidr, values: dict) -> None:
    ra_mode, address_mode = values.get("ipv6_ra_mode"), values.get("ipv6_address_mode")
    if ra_mode is None and address_mode is None:
        return
    if version == 4:
        raise InvalidInput("Invalid input for operation: ipv6_ra_mode or ipv6_address_mode "
                           "cannot be set when ip_version is 4.")
    if ra_mode and address_mode and ra_mode != address_mode:
        raise InvalidInput(f"Invalid input for operation: ipv6_ra_mode set to '{ra_mode}' "
                           f"with ipv6_address_mode set to '{address_mode}' is not valid. If "
                           "both attributes are set, they must be the same value.")
    if not values.get("enable_dhcp", True):
        raise InvalidInput("Invalid input for operation: ipv6_ra_mode or ipv6_address_mode "
                           "cannot be set when enable_dhcp is set to False.")
    if {ra_mode, address_mode} & {"slaac", "dhcpv6-stateless"} and cidr.prefixlen != 64:
        raise InvalidInput(f"Invalid input for operation: Invalid CIDR {cidr} for IPv6 "
                           "address mode. OpenStack uses the EUI-64 address format, which "
                           "requires the prefix to be /64.")


def _check_no_overlap(session, network_id: str, cidr, subnet_id: str | None = None) -> None:
    for other in of_network(session, network_id):
        if other.id != subnet_id and ipaddress.ip_network(other.cidr).overlaps(cidr):
            raise InvalidInput(f"Invalid input for operation: Requested subnet with cidr: "
                               f"{cidr} for network: {network_id} overlaps with another "
                               "subnet.")


def _cidr_from_pool(session, values: dict) -> tuple[str, str | None]:
    """The subnet's CIDR, from a subnet pool when one is named or defaulted."""
    pool_id = values.get("subnetpool_id")
    if pool_id is None and values.get("use_default_subnetpool"):
        pool = subnetpools.default_pool(session, values["ip_version"])
        if pool is None:
            raise BadRequest(f"No default subnetpool found for IPv{values['ip_version']}")
    elif pool_id is not None:
        pool = subnetpools.get(session, pool_id)
    else:
        if values.get("cidr") is None:
            raise BadRequest("Bad subnets request: a subnetpool must be specified in the "
                             "absence of a cidr.")
        return values["cidr"], None
    if pool.ip_version != values["ip_version"]:
        raise BadRequest(f"Bad subnets request: Cannot allocate IPv{values['ip_version']} "
                         f"subnet from IPv{pool.ip_version} subnet pool.")
    return subnetpools.allocate_cidr(session, pool, values.get("cidr"),
                                     values.get("prefixlen")), pool.id


# -- create, update, delete --------------------------------------------------------

def create(session, config, network: Network, values: dict) -> Subnet:
    quotas.check(session, config, values["project_id"], "subnet")
    cidr_text, pool_id = _cidr_from_pool(session, values)
    cidr = ipaddress.ip_network(cidr_text)
    version = values["ip_version"]
    if cidr.version != version:
        raise InvalidInput(f"Invalid input for operation: cidr {cidr} is not an IPv{version} "
                           "network.")
    if cidr.prefixlen == 0 and pool_id is None:
        raise InvalidInput("Invalid input for operation: 0 is not allowed as CIDR prefix "
                           "length.")
    _check_no_overlap(session, network.id, cidr)
    if "gateway_ip" in values:
        gateway = values["gateway_ip"]
        check_gateway(cidr, gateway)
    else:
        first, last = _host_bounds(cidr)
        gateway = str(ipaddress.ip_address(first)) if first <= last else None
    if values.get("allocation_pools") is None:
        pools = default_pools(cidr, gateway)
    else:
        pools = check_pools(cidr, values["allocation_pools"], gateway)
    check_routes(cidr, values.get("host_routes") or [])
    check_nameservers(cidr, values.get("dns_nameservers") or [])
    check_ipv6_modes(version, cidr, values)
    check_service_types(values.get("service_types") or [])
    subnet = Subnet(
        project_id=values["project_id"], network_id=network.id, name=values["name"],
        description=values["description"], ip_version=version, cidr=str(cidr),
        gateway_ip=gateway, enable_dhcp=values["enable_dhcp"],
        ipv6_ra_mode=values.get("ipv6_ra_mode"),
        ipv6_address_mode=values.get("ipv6_address_mode"), subnetpool_id=pool_id,
        segment_id=values.get("segment_id"),
        dns_nameservers=values.get("dns_nameservers") or [],
        host_routes=values.get("host_routes") or [], allocation_pools=pools,
        service_types=values.get("service_types") or [],
        dns_publish_fixed_ip=values.get("dns_publish_fixed_ip") or False)
    session.add(subnet)
    session.flush()
    ipam.rebuild_free_ranges(session, subnet)
    if values.get("tags"):
        tags.set_tags(session, "subnets", subnet.id, values["tags"])
    return subnet


def update(session, subnet: Subnet, values: dict) -> None:
    cidr = ipaddress.ip_network(subnet.cidr)
    gateway = values.get("gateway_ip", subnet.gateway_ip)
    if "gateway_ip" in values:
        check_gateway(cidr, gateway)
    if "allocation_pools" in values:
        pools = check_pools(cidr, values["allocation_pools"] or [], gateway)
    else:
        pools = check_pools(cidr, subnet.allocation_pools, gateway)
    if "host_routes" in values:
        check_routes(cidr, values["host_routes"] or [])
    if "dns_nameservers" in values:
        check_nameservers(cidr, values["dns_nameservers"] or [])
    if "service_types" in values:
        check_service_types(values["service_types"] or [])
    for name in ("name", "description", "gateway_ip", "enable_dhcp", "host_routes",
                 "dns_nameservers", "service_types", "segment_id", "dns_publish_fixed_ip"):
        if name in values:
            setattr(subnet, name, values[name] if values[name] is not None or
                    name in ("gateway_ip", "segment_id") else [])
    if pools != subnet.allocation_pools:
        subnet.allocation_pools = pools
        session.flush()
        ipam.rebuild_free_ranges(session, subnet)


def delete(session, subnet: Subnet) -> None:
    """Delete the subnet; 409 SubnetInUse while a port other than the network's own
    (DHCP) holds an address on it.  On an automatic-address IPv6 subnet only a
    router's port keeps it (hosts made their addresses themselves), as Neutron.
    Ports that do not keep it lose their addresses on it."""
    ipam.lock_subnet(session, subnet.id)
    if ipam.is_auto_address(subnet):
        keeps = Port.device_owner.in_(ipam.ROUTER_OWNERS)
    else:
        keeps = Port.device_owner.notin_(networks.NETWORK_OWNED_PORTS)
    holders = session.scalar(sa.select(sa.func.count()).select_from(IPAllocation).join(
        Port, Port.id == IPAllocation.port_id).where(IPAllocation.subnet_id == subnet.id, keeps))
    if holders:
        raise SubnetInUse(f"Unable to complete operation on subnet {subnet.id}: One or more "
                          "ports have an IP allocation from this subnet.")
    forget_subnet(session, subnet)


def forget_subnet(session, subnet: Subnet) -> None:
    """Drop the subnet, its free ranges and any remaining addresses on it."""
    session.execute(sa.delete(IPAllocation).where(IPAllocation.subnet_id == subnet.id))
    session.execute(sa.delete(FreeRange).where(FreeRange.subnet_id == subnet.id))
    tags.forget(session, "subnets", subnet.id)
    session.delete(subnet)
    session.flush()
    session.expire_all()
