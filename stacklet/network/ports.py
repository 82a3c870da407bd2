"""Ports: a network's attachment points, with their MAC, fixed IPs, security
groups, allowed address pairs, extra DHCP options and binding.

The service other code builds on (routers, floating IPs, DHCP, compute):
``get``, ``create_port``, ``update_port``, ``delete_port`` and ``views``.
Addresses come from ``ipam``; every change happens in the caller's
transaction, so a failed request leaves nothing behind.

Binding: a port bound to a host (``binding:host_id``) is plugged into a Linux
bridge there, so it reports ``binding:vif_type`` "bridge" with
``port_filter``.  Until the network agents exist (a later issue) nothing
reports the port up, so binding to a host marks it ACTIVE at once and
unbinding marks it DOWN.
"""

from __future__ import annotations

import ipaddress
import secrets

import sqlalchemy as sa

from stacklet.network import ipam, networks, quotas, security_groups, subnets, tags
from stacklet.network.agents import LINUX_BRIDGE_AGENT, alive_condition
from stacklet.network.errors import (
    AddressPairAndPortSecurityRequired,
    DuplicateAddressPairInRequest,
    InvalidInput,
    InvalidIpForNetwork,
    IpAddressGenerationFailureNoMatchingSubnet,
    MacAddressGenerationFailure,
    MacAddressInUse,
    PortBound,
    PortNotFound,
    PortSecurityAndIPRequiredForSecurityGroups,
    PortSecurityPortHasSecurityGroup,
    SecurityGroupNotFound,
    ServicePortInUse,
)
from stacklet.network.models import (
    Agent,
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    RouterPort,
    SecurityGroup,
    Subnet,
)
from stacklet.network.standard import bump_revision, find, standard_view

DEFAULT_DNS_DOMAIN = "openstacklocal"
VIF_TYPE_BOUND = "bridge"            # Linux bridge: the agent plugs the tap into it
VIF_TYPE_UNBOUND = "unbound"
VIF_DETAILS_BOUND = {"port_filter": True, "connectivity": "l2"}
MAC_ATTEMPTS = 16
MAX_FIXED_IPS = 5          # Neutron's max_fixed_ips_per_port


def get(session, port_id: str, *, for_update: bool = False) -> Port:
    return find(session, Port, port_id,
                PortNotFound(f"Port {port_id} could not be found."), for_update=for_update)


def visible_to(ctx, query: sa.Select) -> sa.Select:
    """Ports the caller may list: their project's, and every port on a network of
    their project."""
    if ctx.is_admin:
        return query
    owned_networks = sa.select(Network.id).where(Network.project_id == ctx.project_id)
    return query.where(sa.or_(Port.project_id == ctx.project_id,
                              Port.network_id.in_(owned_networks)))


def policy_target(view: dict, network: Network) -> dict:
    """A port as its policy rules see it: with its network's owner and sharing."""
    return {**view, "network:project_id": network.project_id, "shared": network.shared}


def dns_assignment(port: Port, dns_domain: str) -> list[dict]:
    """The name each fixed IP answers to in the network's DNS (dnsmasq): the port's
    dns_name, else ``host-<address>`` as Neutron names them."""
    domain = dns_domain.strip(".")
    result = []
    for allocation in port.fixed_ips:
        hostname = port.dns_name.rstrip(".") or \
            "host-" + allocation.ip_address.replace(".", "-").replace(":", "-")
        fqdn = port.dns_name if port.dns_name.endswith(".") else f"{hostname}.{domain}."
        result.append({"hostname": hostname, "ip_address": allocation.ip_address,
                       "fqdn": fqdn})
    return result


def views(session, ports: list[Port], dns_domain: str = DEFAULT_DNS_DOMAIN) -> list[dict]:
    """The ports as the API shows them; ``dns_domain`` is [network] dns_domain."""
    port_tags = tags.tags_of(session, "ports", [port.id for port in ports])
    return [{
        **standard_view(port, port_tags[port.id]),
        "name": port.name,
        "network_id": port.network_id,
        "mac_address": port.mac_address,
        "admin_state_up": port.admin_state_up,
        "status": port.status,
        "device_id": port.device_id,
        "device_owner": port.device_owner,
        "fixed_ips": [{"subnet_id": allocation.subnet_id, "ip_address": allocation.ip_address}
                      for allocation in port.fixed_ips],
        "security_groups": sorted(group.security_group_id for group in port.security_groups),
        "port_security_enabled": port.port_security_enabled,
        "allowed_address_pairs": port.allowed_address_pairs,
        "extra_dhcp_opts": port.extra_dhcp_opts,
        "binding:host_id": port.binding_host_id,
        "binding:vnic_type": port.binding_vnic_type,
        "binding:profile": port.binding_profile,
        "binding:vif_type": port.binding_vif_type,
        "binding:vif_details": port.binding_vif_details,
        "dns_name": port.dns_name,
        "dns_assignment": dns_assignment(port, dns_domain),
    } for port in ports]


# -- MAC addresses -----------------------------------------------------------------

def _mac_in_use(session, network_id: str, mac: str, port_id: str | None = None) -> bool:
    query = sa.select(Port.id).where(Port.network_id == network_id, Port.mac_address == mac)
    if port_id is not None:
        query = query.where(Port.id != port_id)
    return session.scalar(query.limit(1)) is not None


def _new_mac(session, config, network_id: str) -> str:
    """[network] base_mac's first three octets and three random ones, unused on the
    network."""
    prefix = config.get("network", "base_mac").lower().split(":")[:3]
    for _ in range(MAC_ATTEMPTS):
        mac = ":".join(prefix + [f"{octet:02x}" for octet in secrets.token_bytes(3)])
        if not _mac_in_use(session, network_id, mac):
            return mac
    raise MacAddressGenerationFailure(f"Unable to generate unique mac on network "
                                      f"{network_id}.")


def _check_mac(session, network_id: str, mac: str, port_id: str | None = None) -> None:
    if _mac_in_use(session, network_id, mac, port_id):
        raise MacAddressInUse(f"Unable to complete operation for network {network_id}. The "
                              f"mac address {mac} is in use.")


# -- fixed IPs ---------------------------------------------------------------------

def _subnet_for(session, network_id: str, request: dict, network_subnets: list[Subnet]):
    """The subnet a fixed-IP request names, or the one holding its address."""
    if request.get("subnet_id") is not None:
        subnet = subnets.get(session, request["subnet_id"])
        if subnet.network_id != network_id:
            raise InvalidInput(f"Invalid input for operation: Failed to create port on network "
                               f"{network_id}, because fixed_ips included invalid subnet "
                               f"{subnet.id}.")
        return subnet
    address = ipaddress.ip_address(request["ip_address"])
    for subnet in network_subnets:
        if address in ipaddress.ip_network(subnet.cidr):
            return subnet
    raise InvalidIpForNetwork(f"IP address {address} is not a valid IP for any of the subnets "
                              "on the specified network.")


def _allocate_requested(session, port: Port, requests: list[dict],
                        network_subnets: list[Subnet]) -> None:
    if len(port.fixed_ips) + len(requests) > MAX_FIXED_IPS:
        raise InvalidInput("Invalid input for operation: Exceeded maximum amount of fixed ips "
                           "per port.")
    for request in requests:
        subnet = _subnet_for(session, port.network_id, request, network_subnets)
        if ipam.allocate(session, port, subnet, request.get("ip_address")) is None:
            raise ipam.exhausted(port.network_id)


def _allocate_default(session, port: Port, network_subnets: list[Subnet]) -> None:
    """As Neutron: one address of IPv4 and one of stateful IPv6, each from the first
    subnet with room, and an address on every auto-address IPv6 subnet; only
    subnets serving the port's device owner count (subnet-service-types)."""
    if network_subnets:
        network_subnets = subnets.for_device_owner(network_subnets, port.device_owner)
        if not network_subnets:
            raise IpAddressGenerationFailureNoMatchingSubnet(
                f"No valid service subnet for the given device owner, network "
                f"{port.network_id}, service type {port.device_owner}.")
    ipv4 = [s for s in network_subnets if s.ip_version == 4]
    stateful = [s for s in network_subnets if s.ip_version == 6 and not ipam.is_auto_address(s)]
    for candidates in (ipv4, stateful):
        if candidates and not any(ipam.allocate(session, port, subnet) is not None
                                  for subnet in candidates):
            raise ipam.exhausted(port.network_id)
    for subnet in network_subnets:
        if ipam.is_auto_address(subnet):
            ipam.allocate(session, port, subnet)


def _same_address(allocation: IPAllocation, request: dict) -> bool:
    if request.get("subnet_id") not in (None, allocation.subnet_id):
        return False
    wanted = request.get("ip_address")
    if wanted is None:
        return request.get("subnet_id") == allocation.subnet_id
    return ipaddress.ip_address(wanted) == ipaddress.ip_address(allocation.ip_address)


def _replace_fixed_ips(session, port: Port, requests: list[dict]) -> None:
    """Give the port exactly the requested addresses: those it holds already stay,
    the others are released first (so one may move), then the new ones taken."""
    kept, new = set(), []
    for request in requests:
        match = next((allocation for allocation in port.fixed_ips
                      if id(allocation) not in kept and _same_address(allocation, request)),
                     None)
        if match is None:
            new.append(request)
        else:
            kept.add(id(match))
    for allocation in [a for a in port.fixed_ips if id(a) not in kept]:
        ipam.release(session, port, allocation, subnets.get(session, allocation.subnet_id))
    _allocate_requested(session, port, new, subnets.of_network(session, port.network_id))


# -- security groups, address pairs, DHCP options, binding -------------------------

def _check_groups(session, project_id: str, group_ids: list[str]) -> None:
    found = set(session.scalars(sa.select(SecurityGroup.id).where(
        SecurityGroup.id.in_(group_ids), SecurityGroup.project_id == project_id)))
    for group_id in group_ids:
        if group_id not in found:
            raise SecurityGroupNotFound(f"Security group {group_id} does not exist")


def _set_groups(session, port: Port, group_ids: list[str]) -> None:
    _check_groups(session, port.project_id, group_ids)
    port.security_groups = [PortSecurityGroup(security_group_id=group_id)
                            for group_id in dict.fromkeys(group_ids)]


def _address_pairs(pairs: list[dict], mac_address: str) -> list[dict]:
    """The pairs with each MAC filled in (the port's by default); 400 for a duplicate."""
    result, seen = [], set()
    for pair in pairs:
        complete = {"ip_address": pair["ip_address"],
                    "mac_address": pair.get("mac_address") or mac_address}
        key = (complete["ip_address"], complete["mac_address"])
        if key in seen:
            raise DuplicateAddressPairInRequest(
                f"Request contains duplicate address pair: mac_address "
                f"{complete['mac_address']} ip_address {complete['ip_address']}.")
        seen.add(key)
        result.append(complete)
    return result


def _merge_dhcp_options(current: list[dict], changes: list[dict]) -> list[dict]:
    """Neutron's update of extra_dhcp_opts: an option replaces the one of the same
    name and IP version; an option with a null value removes it."""
    merged = {(option["opt_name"], option["ip_version"]): option for option in current}
    for option in changes:
        key = (option["opt_name"], option["ip_version"])
        if option["opt_value"] is None:
            merged.pop(key, None)
        else:
            merged[key] = option
    return list(merged.values())


def _bind(session, port: Port, host: str) -> None:
    """Bind the port to a host.  Where an L2 agent runs, the port stays DOWN
    until the agent has wired it and says so; a host without one (the fake
    compute driver, a host without the data plane) has nothing more to do."""
    port.binding_host_id = host
    if host:
        port.binding_vif_type = VIF_TYPE_BOUND
        port.binding_vif_details = dict(VIF_DETAILS_BOUND)
        wired_by_agent = session.scalar(sa.select(Agent.id).where(
            Agent.agent_type == LINUX_BRIDGE_AGENT, Agent.host == host,
            alive_condition(True)).limit(1))
        port.status = "DOWN" if wired_by_agent else "ACTIVE"
    else:
        port.binding_vif_type = VIF_TYPE_UNBOUND
        port.binding_vif_details = {}
        port.status = "DOWN"


def _check_port_security(enabled: bool, group_ids: list[str], pairs: list[dict]) -> None:
    if enabled:
        return
    if group_ids:
        raise PortSecurityAndIPRequiredForSecurityGroups(
            "Port security must be enabled and port must have an IP address in order to "
            "use security groups.")
    if pairs:
        raise AddressPairAndPortSecurityRequired(
            "Port Security must be enabled in order to have allowed address pairs on a port.")


# -- create, update, delete --------------------------------------------------------

def create_port(session, config, values: dict) -> Port:
    """A new port on ``values["network_id"]`` for ``values["project_id"]``.

    Every other key is optional: name, description, admin_state_up (True),
    mac_address (None: generated), fixed_ips (None: an address of each IP
    version, [] none, else [{"subnet_id"?, "ip_address"?}]), device_id,
    device_owner, security_groups (None: the project's default group, none for
    "network:" owners), port_security_enabled (None: the network's),
    allowed_address_pairs, extra_dhcp_opts, dns_name, "binding:host_id",
    "binding:vnic_type", "binding:profile", tags, check_quota (True).
    """
    network = networks.get(session, values["network_id"])
    if values.get("check_quota", True):
        quotas.check(session, config, values["project_id"], "port")
    mac = values.get("mac_address")
    if mac is None:
        mac = _new_mac(session, config, network.id)
    else:
        _check_mac(session, network.id, mac)
    enabled = values.get("port_security_enabled")
    if enabled is None:
        enabled = network.port_security_enabled
    device_owner = values.get("device_owner") or ""
    group_ids = values.get("security_groups")
    pairs = _address_pairs(values.get("allowed_address_pairs") or [], mac)
    _check_port_security(enabled, group_ids or [], pairs)
    if group_ids is None:
        group_ids = [] if not enabled or device_owner.startswith("network:") else \
            [security_groups.default_group_id(session, values["project_id"])]
    port = Port(
        project_id=values["project_id"], network_id=network.id, name=values.get("name") or "",
        description=values.get("description") or "", mac_address=mac,
        admin_state_up=values.get("admin_state_up", True),
        device_id=values.get("device_id") or "", device_owner=device_owner,
        dns_name=values.get("dns_name") or "",
        port_security_enabled=enabled, allowed_address_pairs=pairs,
        extra_dhcp_opts=_merge_dhcp_options([], values.get("extra_dhcp_opts") or []),
        binding_vnic_type=values.get("binding:vnic_type") or "normal",
        binding_profile=values.get("binding:profile") or {})
    _bind(session, port, values.get("binding:host_id") or "")
    session.add(port)
    session.flush()
    _set_groups(session, port, group_ids)
    requests = values.get("fixed_ips")
    if requests is None:
        _allocate_default(session, port, subnets.of_network(session, network.id))
    else:
        _allocate_requested(session, port, requests, subnets.of_network(session, network.id))
    if values.get("tags"):
        tags.set_tags(session, "ports", port.id, values["tags"])
    session.flush()
    return port


def update_port(session, config, port: Port, values: dict) -> None:
    """Change the given keys (those of ``create_port``); fixed_ips replace the
    port's addresses, those it keeps staying as they are."""
    enabled = values.get("port_security_enabled")
    if enabled is None:
        enabled = port.port_security_enabled
    if "mac_address" in values and values["mac_address"] != port.mac_address:
        if port.binding_vif_type != VIF_TYPE_UNBOUND:
            raise PortBound(f"Unable to complete operation on port {port.id}, port is already "
                            f"bound, port type: {port.binding_vif_type}, old_mac "
                            f"{port.mac_address}, new_mac {values['mac_address']}.")
        _check_mac(session, port.network_id, values["mac_address"], port.id)
        port.mac_address = values["mac_address"]
    group_ids = values.get("security_groups")
    current_groups = [group.security_group_id for group in port.security_groups]
    pairs = port.allowed_address_pairs
    if "allowed_address_pairs" in values:
        pairs = _address_pairs(values.get("allowed_address_pairs") or [], port.mac_address)
    if values.get("port_security_enabled") is False and group_ids is None and current_groups:
        raise PortSecurityPortHasSecurityGroup(
            "Port has security group associated. Cannot disable port security or ip address "
            "until security group is removed")
    _check_port_security(enabled, group_ids or [], pairs)
    port.port_security_enabled = enabled
    port.allowed_address_pairs = pairs
    if group_ids is not None:
        _set_groups(session, port, group_ids)
    for name in ("name", "description", "admin_state_up", "device_id", "device_owner",
                 "dns_name"):
        if name in values:
            setattr(port, name, values[name] if values[name] is not None else "")
    if "extra_dhcp_opts" in values:
        port.extra_dhcp_opts = _merge_dhcp_options(port.extra_dhcp_opts,
                                                   values["extra_dhcp_opts"] or [])
    if "binding:vnic_type" in values:
        port.binding_vnic_type = values["binding:vnic_type"]
    if "binding:profile" in values:
        port.binding_profile = values["binding:profile"] or {}
    if "binding:host_id" in values and (values["binding:host_id"] or "") != port.binding_host_id:
        _bind(session, port, values["binding:host_id"] or "")
    if values.get("fixed_ips") is not None:
        _replace_fixed_ips(session, port, values["fixed_ips"])
    bump_revision(port)
    session.flush()


def check_user_may_delete(session, port: Port) -> None:
    """A router's port or a floating IP's goes with its router or floating IP,
    never through DELETE /ports (409 ServicePortInUse, as Neutron)."""
    owned = session.scalar(sa.select(RouterPort.port_id).where(RouterPort.port_id == port.id)) \
        or session.scalar(sa.select(FloatingIP.id).where(FloatingIP.floating_port_id == port.id))
    if owned is not None:
        raise ServicePortInUse(f"Port {port.id} cannot be deleted directly via the port API: "
                               f"has device owner {port.device_owner}.")


def delete_port(session, port: Port) -> None:
    """Delete the port; its addresses go back to their pools, and floating IPs
    associated with it are disassociated (as Neutron does)."""
    session.execute(sa.update(FloatingIP).where(FloatingIP.fixed_port_id == port.id).values(
        fixed_port_id=None, fixed_ip_address=None, router_id=None, status="DOWN"))
    for allocation in list(port.fixed_ips):
        ipam.release(session, port, allocation, subnets.get(session, allocation.subnet_id))
    tags.forget(session, "ports", port.id)
    session.delete(port)
    session.flush()
