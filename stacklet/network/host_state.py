"""What a network agent on one host reads to build its part of the data plane.

The database is the truth; an agent (the Linux bridge, DHCP and L3 agents of
the data-plane work) reconciles its host against these documents on start
and whenever it is woken on its topic (``network.<host>``), so a restart or
a lost message loses nothing:

- ``host_ports``: the ports bound to the host (``binding:host_id``), each with
  its network's segment (type, physical network, segmentation id) and MTU,
  its MAC, addresses, admin state, port security, security groups and
  allowed address pairs: a bridge per network, a tap per port, nftables
  chains per port;
- ``security_groups``: those groups' rules, and the addresses of each group's
  member ports, for rules whose remote is a group;
- ``dhcp_networks``: every network with a DHCP-enabled subnet, its subnets
  and the MAC, address and hostname of each port: dnsmasq in qdhcp-<id>;
- ``host_routers``: the routers the host serves (``Router.host``) with their
  gateway, interfaces, static routes and floating IPs: qrouter-<id> and NAT.
"""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa

from stacklet.network.models import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    Router,
    RouterPort,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)

TOPIC_PREFIX = "network."


def topic(host: str) -> str:
    return TOPIC_PREFIX + host


def wake_host(bus, host: str) -> None:
    """Tell the host's agents their state changed (they re-read it).  On one
    machine every change of the network API wakes this host's agents; what did
    not change costs them a read of the database and no work on the host."""
    if host:
        bus.cast(topic(host), "sync")


def _segment(network: Network) -> dict:
    segment = network.segments[0] if network.segments else None
    return {"network_type": segment.network_type if segment else "local",
            "physical_network": (segment.physical_network or None) if segment else None,
            "segmentation_id": segment.segmentation_id if segment else None}


def _port_document(port: Port, network: Network) -> dict:
    return {"id": port.id, "network_id": port.network_id, "mac_address": port.mac_address,
            "admin_state_up": port.admin_state_up, "device_owner": port.device_owner,
            "device_id": port.device_id, "mtu": network.mtu, **_segment(network),
            "fixed_ips": [{"subnet_id": ip.subnet_id, "ip_address": ip.ip_address}
                          for ip in port.fixed_ips],
            "port_security_enabled": port.port_security_enabled,
            "security_groups": sorted(g.security_group_id for g in port.security_groups),
            "allowed_address_pairs": port.allowed_address_pairs}


def host_ports(session, host: str) -> list[dict]:
    rows = session.execute(sa.select(Port, Network).join(Network, Network.id == Port.network_id)
                           .where(Port.binding_host_id == host).order_by(Port.id))
    return [_port_document(port, network) for port, network in rows]


def security_groups(session, group_ids: list[str]) -> dict[str, dict]:
    """The groups, and the groups their rules name as remote (whose members the
    rules let in), each with its rules and its members' addresses: fixed IPs
    and allowed address pairs, as Neutron counts them."""
    group_ids = set(group_ids)
    group_ids |= set(session.scalars(sa.select(SecurityGroupRule.remote_group_id).where(
        SecurityGroupRule.security_group_id.in_(group_ids),
        SecurityGroupRule.remote_group_id.is_not(None))))
    groups = session.scalars(sa.select(SecurityGroup).where(SecurityGroup.id.in_(group_ids)))
    found = {}
    for group in groups:
        found[group.id] = {
            "stateful": group.stateful,
            "rules": [{"direction": r.direction, "ethertype": r.ethertype,
                       "protocol": r.protocol, "port_range_min": r.port_range_min,
                       "port_range_max": r.port_range_max,
                       "remote_ip_prefix": r.remote_ip_prefix,
                       "remote_group_id": r.remote_group_id} for r in group.rules],
            "members": [],
        }
    members = session.execute(
        sa.select(PortSecurityGroup.security_group_id, IPAllocation.ip_address)
        .join(IPAllocation, IPAllocation.port_id == PortSecurityGroup.port_id)
        .where(PortSecurityGroup.security_group_id.in_(group_ids))
        .order_by(IPAllocation.ip_address))
    for group_id, address in members:
        found[group_id]["members"].append(address)
    pairs = session.execute(
        sa.select(PortSecurityGroup.security_group_id, Port.allowed_address_pairs)
        .join(Port, Port.id == PortSecurityGroup.port_id)
        .where(PortSecurityGroup.security_group_id.in_(group_ids)))
    for group_id, port_pairs in pairs:
        # A pair naming one address makes it a member; a pair naming a whole
        # prefix does not (the remote-group sets hold addresses).
        prefixes = (ipaddress.ip_network(pair["ip_address"], strict=False)
                    for pair in port_pairs or [])
        found[group_id]["members"] += [str(prefix.network_address) for prefix in prefixes
                                       if prefix.num_addresses == 1]
    return found


DHCP_OWNER = "network:dhcp"


def dhcp_networks(session) -> list[dict]:
    """Each network with a DHCP-enabled subnet: its subnets, a host entry per
    port address (``port_id``, MAC, address, hostname, device owner, extra
    DHCP options) and its own DHCP port (``dhcp_port``: a port document with
    ``binding_host_id``, None until the server made it)."""
    subnets = list(session.scalars(sa.select(Subnet).where(Subnet.enable_dhcp)
                                   .order_by(Subnet.network_id, Subnet.id)))
    network_ids = sorted({subnet.network_id for subnet in subnets})
    networks = {n.id: n for n in session.scalars(
        sa.select(Network).where(Network.id.in_(network_ids)))}
    ports = session.scalars(sa.select(Port).where(Port.network_id.in_(network_ids))
                            .order_by(Port.id))
    documents = {network_id: {"id": network_id, "mtu": networks[network_id].mtu,
                              "dns_domain": networks[network_id].dns_domain,
                              **_segment(networks[network_id]), "subnets": [], "hosts": [],
                              "dhcp_port": None}
                 for network_id in network_ids}
    for subnet in subnets:
        documents[subnet.network_id]["subnets"].append({
            "id": subnet.id, "cidr": subnet.cidr, "ip_version": subnet.ip_version,
            "gateway_ip": subnet.gateway_ip, "dns_nameservers": subnet.dns_nameservers,
            "host_routes": subnet.host_routes, "ipv6_address_mode": subnet.ipv6_address_mode})
    for port in ports:
        document = documents[port.network_id]
        if port.device_owner == DHCP_OWNER and document["dhcp_port"] is None:
            document["dhcp_port"] = {**_port_document(port, networks[port.network_id]),
                                     "binding_host_id": port.binding_host_id}
        for ip in port.fixed_ips:
            document["hosts"].append({
                "port_id": port.id, "device_owner": port.device_owner,
                "mac_address": port.mac_address, "ip_address": ip.ip_address,
                "hostname": port.dns_name or f"host-{_dashed(ip.ip_address)}",
                "extra_dhcp_opts": port.extra_dhcp_opts})
    return list(documents.values())


def external_networks(session) -> list[dict]:
    """Each external network with its segment and its subnets' CIDRs and
    gateways: what the host side of a mapped bridge (br-ex) is made from."""
    networks = list(session.scalars(sa.select(Network).where(Network.router_external)
                                    .order_by(Network.id)))
    subnets = session.scalars(sa.select(Subnet).where(
        Subnet.network_id.in_([network.id for network in networks])).order_by(Subnet.id))
    documents = {network.id: {"id": network.id, "mtu": network.mtu, **_segment(network),
                              "subnets": []} for network in networks}
    for subnet in subnets:
        documents[subnet.network_id]["subnets"].append({
            "cidr": subnet.cidr, "ip_version": subnet.ip_version,
            "gateway_ip": subnet.gateway_ip})
    return list(documents.values())


def _dashed(address: str) -> str:
    """An address as a host name label, as Neutron names ports without a dns_name."""
    return address.replace(".", "-").replace(":", "-")


def host_routers(session, host: str) -> list[dict]:
    """The routers the host serves; each port document also has the
    ``subnets`` of its addresses (id, cidr, gateway_ip), each floating IP its
    ``id`` and ``floating_network_id``."""
    routers = list(session.scalars(sa.select(Router).where(Router.host == host)
                                   .order_by(Router.id)))
    documents = []
    for router in routers:
        ports = list(session.execute(
            sa.select(RouterPort.port_type, Port, Network)
            .join(Port, Port.id == RouterPort.port_id)
            .join(Network, Network.id == Port.network_id)
            .where(RouterPort.router_id == router.id).order_by(Port.id)))
        subnet_ids = {ip.subnet_id for _, port, _ in ports for ip in port.fixed_ips}
        subnets = {s.id: {"id": s.id, "cidr": s.cidr, "gateway_ip": s.gateway_ip}
                   for s in session.scalars(sa.select(Subnet).where(Subnet.id.in_(subnet_ids)))}
        floating = session.scalars(sa.select(FloatingIP).where(
            FloatingIP.router_id == router.id).order_by(FloatingIP.id))
        documents.append({
            "id": router.id, "admin_state_up": router.admin_state_up,
            "enable_snat": router.enable_snat, "routes": router.routes,
            "ports": [{"port_type": kind, **_port_document(port, network),
                       "subnets": [subnets[ip.subnet_id] for ip in port.fixed_ips]}
                      for kind, port, network in ports],
            "floating_ips": [{"id": f.id, "floating_ip_address": f.floating_ip_address,
                              "floating_network_id": f.floating_network_id,
                              "fixed_ip_address": f.fixed_ip_address}
                             for f in floating if f.fixed_ip_address]})
    return documents


def metadata_instance(session, network_ids: list[str], address: str) -> tuple[str, str] | None:
    """The server (instance id, project id) whose port on one of NETWORK_IDS
    holds ADDRESS: who a metadata request from that address is for."""
    row = session.execute(
        sa.select(Port.device_id, Port.project_id)
        .join(IPAllocation, IPAllocation.port_id == Port.id)
        .where(Port.network_id.in_(network_ids), IPAllocation.ip_address == address,
               Port.device_owner.startswith("compute:"), Port.device_id != "")
        .limit(1)).first()
    return (row.device_id, row.project_id) if row else None
