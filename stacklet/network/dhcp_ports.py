"""The DHCP ports: one ``network:dhcp`` port per network with a DHCP-enabled
subnet, holding an address on each such subnet, as Neutron's DHCP agent
makes them.  dnsmasq answers from that address in the network's qdhcp-
namespace on the host the port is bound to.

Like Neutron's, they cost the project no port quota and carry no security
group; their device id names the host (``dhcp<uuid5 of host>-<network_id>``),
so it stays the same across restarts.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from stacklet.network import ports
from stacklet.network.host_state import DHCP_OWNER
from stacklet.network.models import Network, Port, Subnet


def device_id(host: str, network_id: str) -> str:
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host)}-{network_id}"


def ensure_dhcp_ports(session, config, host: str) -> bool:
    """Give every network with a DHCP-enabled subnet its DHCP port (bound to
    HOST, an address on each such subnet) and delete those of networks left
    with none; whether anything changed."""
    wanted: dict[str, list[str]] = {}
    for network_id, subnet_id in session.execute(
            sa.select(Subnet.network_id, Subnet.id).where(Subnet.enable_dhcp)
            .order_by(Subnet.created_at, Subnet.id)):
        wanted.setdefault(network_id, []).append(subnet_id)
    existing = {port.network_id: port for port in session.scalars(
        sa.select(Port).where(Port.device_owner == DHCP_OWNER).order_by(Port.id))}
    changed = False
    for network_id, port in existing.items():
        if network_id not in wanted:
            ports.delete_port(session, port)
            changed = True
    for network_id, subnet_ids in wanted.items():
        port = existing.get(network_id)
        fixed_ips = [{"subnet_id": subnet_id} for subnet_id in subnet_ids]
        if port is None:
            _create(session, config, host, network_id, fixed_ips)
            changed = True
        elif sorted(ip.subnet_id for ip in port.fixed_ips) != sorted(subnet_ids) \
                or port.binding_host_id != host:
            ports.update_port(session, config, port, {"fixed_ips": fixed_ips,
                                                      "binding:host_id": host})
            changed = True
    return changed


def _create(session, config, host: str, network_id: str, fixed_ips: list[dict]) -> None:
    network = session.get(Network, network_id)
    ports.create_port(session, config, {
        "network_id": network_id, "project_id": network.project_id,
        "device_owner": DHCP_OWNER, "device_id": device_id(host, network_id),
        "fixed_ips": fixed_ips, "security_groups": [], "check_quota": False,
        "binding:host_id": host})
