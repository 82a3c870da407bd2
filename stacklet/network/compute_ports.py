"""The network service as compute sees it: Nova's side of Neutron.

``NeutronPorts`` implements ``stacklet.compute.network.PortProvider``: it
checks the networks and ports a server create asks for, makes and binds the
server's ports on its host, reports their addresses for server views and
os-interface, and releases them when the server goes.  As Nova does, it
deletes the ports it made and only unbinds the ports the user brought
(``compute_managed`` on the port says which).

Which ports are a server's is decided in one place, ``is_nic_of``: the
ports compute plugged into it, and the ports of its project naming it as
their device.  Anyone may write a server's id into the device_id of their
own port; that alone never makes it the server's NIC.
"""

from __future__ import annotations

import ipaddress
import itertools
import time

import sqlalchemy as sa

from stacklet.common.errors import BadRequest, Conflict, NotFound
from stacklet.compute.driver import DriverError
from stacklet.compute.models import Instance
from stacklet.network import host_state, networks, ports, security_groups, subnets
from stacklet.network.models import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    Subnet,
)

COMPUTE_OWNER = "compute:nova"
WIRED_POLL_SECONDS = 0.1


class NeutronPorts:
    def __init__(self, cloud):
        self.cloud = cloud

    # -- checks at the API, before anything is written ---------------------------

    def check_requested(self, ctx, requested: list[dict] | str) -> None:
        with self.cloud.db.session() as session:
            if requested == "auto":
                _auto_network(session, ctx.project_id)
                return
            if requested == "none":
                return
            for item in requested:
                if item.get("port"):
                    _usable_port(session, ctx, item["port"])
                elif item.get("uuid"):
                    network = _visible_network(session, ctx, item["uuid"])
                    _require_subnet(session, network)
                    if item.get("fixed_ip"):
                        _free_fixed_ip(session, network, item["fixed_ip"])

    def security_group_name(self, ctx, name_or_id: str) -> str | None:
        if name_or_id == security_groups.DEFAULT_NAME:
            return name_or_id
        with self.cloud.db.session() as session:
            group = _group(session, ctx.project_id, name_or_id)
            return group.name if group is not None else None

    # -- on the host -----------------------------------------------------------------

    def allocate(self, instance, host: str) -> list[dict]:
        with self.cloud.db.transaction() as session:
            bound = _ports_of(session, instance.id)
            if bound:
                # A resize, migration or unshelve: the ports follow the server.
                for port in bound:
                    ports.update_port(session, self.cloud.config, port,
                                      {"binding:host_id": host})
            else:
                bound = self._plug_requested(session, instance, host)
            session.flush()
            documents = ports.views(session, bound)
        host_state.wake_host(self.cloud.bus, host)
        self.wait_wired([document["id"] for document in documents])
        return documents

    def wait_wired(self, port_ids: list[str]) -> None:
        """Return once the host's L2 agent has wired these ports (they are ACTIVE:
        Nova's network-vif-plugged); a DriverError after [compute]
        vif_plugging_timeout, with the agent's reason when it gave one."""
        timeout = self.cloud.config.get("compute", "vif_plugging_timeout")
        deadline = time.monotonic() + timeout
        while True:
            with self.cloud.db.session() as session:
                waiting = list(session.scalars(sa.select(Port.id).where(
                    Port.id.in_(port_ids), Port.status != "ACTIVE").order_by(Port.id)))
            if not waiting:
                return
            if time.monotonic() >= deadline:
                faults = getattr(self.cloud.network_agents, "port_faults", {})
                reasons = "; ".join(f"port {port_id}: {faults.get(port_id) or 'not wired'}"
                                    for port_id in waiting)
                raise DriverError(f"Virtual Interface creation failed: {reasons} after "
                                  f"{timeout:.0f} s (is the network agent running?)")
            time.sleep(WIRED_POLL_SECONDS)

    def _plug_requested(self, session, instance, host: str) -> list[Port]:
        """Make or bind the ports the server's create asked for, on its groups."""
        config = self.cloud.config
        group_names = instance.system_metadata.get("security_groups") or []
        if group_names == [security_groups.DEFAULT_NAME]:
            # As Nova: "default" alone is no request; the network service puts
            # the default group where port security allows a group at all.
            group_names = []
        groups = [_group_id(session, instance.project_id, name) or
                  security_groups.default_group_id(session, instance.project_id)
                  for name in group_names] or None
        plugged = []
        requested = instance.system_metadata.get("networks", "auto")
        for item in _requests(session, instance, requested):
            if item.get("port"):
                port = ports.get(session, item["port"], for_update=True)
                _plug(session, config, port, instance, host)
            else:
                port = _new_port(session, config, instance, host, item["uuid"],
                                 item.get("fixed_ip"), groups)
            plugged.append(port)
        return plugged

    def deallocate(self, instance) -> None:
        with self.cloud.db.transaction() as session:
            for port in _ports_of(session, instance.id):
                _release(session, self.cloud.config, port)
        host_state.wake_host(self.cloud.bus, instance.host or "")

    # -- what the compute API shows ------------------------------------------------

    def addresses(self, instance_ids: list[str]) -> dict[str, dict[str, list[dict]]]:
        found: dict[str, dict[str, list[dict]]] = {}
        if not instance_ids:
            return found
        with self.cloud.db.session() as session:
            rows = session.execute(
                sa.select(Port.device_id, Port.mac_address, Network.name,
                          IPAllocation.ip_address, FloatingIP.floating_ip_address)
                .join(Network, Network.id == Port.network_id)
                .join(IPAllocation, IPAllocation.port_id == Port.id)
                .outerjoin(FloatingIP, sa.and_(
                    FloatingIP.fixed_port_id == Port.id,
                    FloatingIP.fixed_ip_address == IPAllocation.ip_address))
                .where(is_nic_of(instance_ids))
                .order_by(Port.created_at, Port.id, IPAllocation.ip_address))
            for device_id, mac, network_name, address, floating in rows:
                entries = found.setdefault(device_id, {}).setdefault(network_name, [])
                entries.append(_address(address, "fixed", mac))
                if floating:
                    entries.append(_address(floating, "floating", mac))
        return found

    def security_group_names(self, instance_ids: list[str]) -> dict[str, list[str]]:
        """The names of the groups on each server's ports, as Nova shows a
        server's security groups (a server whose ports have none: absent)."""
        found: dict[str, list[str]] = {}
        if not instance_ids:
            return found
        with self.cloud.db.session() as session:
            rows = session.execute(
                sa.select(Port.device_id, SecurityGroup.name).distinct()
                .join(PortSecurityGroup, PortSecurityGroup.port_id == Port.id)
                .join(SecurityGroup, SecurityGroup.id == PortSecurityGroup.security_group_id)
                .where(is_nic_of(instance_ids)).order_by(Port.device_id, SecurityGroup.name))
            for device_id, name in rows:
                found.setdefault(device_id, []).append(name)
        return found

    def interfaces(self, instance_id: str) -> list[dict]:
        with self.cloud.db.session() as session:
            return [_interface(port) for port in _ports_of(session, instance_id)]

    def attach_interface(self, ctx, instance, *, net_id: str | None, port_id: str | None,
                         fixed_ip: str | None, tag: str | None) -> dict:
        config = self.cloud.config
        host = instance.host or ""
        with self.cloud.db.transaction() as session:
            if port_id:
                port = _usable_port(session, ctx, port_id, missing=NotFound)
                _plug(session, config, port, instance, host)
            else:
                if net_id:
                    network = _visible_network(session, ctx, net_id, missing=NotFound)
                else:
                    network = _auto_network(session, instance.project_id)
                    if network is None:
                        raise BadRequest("No specific network was requested and none are "
                                         f"available for project '{instance.project_id}'.")
                port = _new_port(session, config, instance, host, network.id, fixed_ip)
            session.flush()
            interface = _interface(port, tag)
        host_state.wake_host(self.cloud.bus, host)
        return interface

    def detach_interface(self, instance_id: str, port_id: str) -> None:
        with self.cloud.db.transaction() as session:
            port = session.scalar(sa.select(Port).where(Port.id == port_id,
                                                         is_nic_of([instance_id])))
            if port is None:
                raise NotFound(f"Port {port_id} is not attached")
            host = port.binding_host_id
            _release(session, self.cloud.config, port)
        host_state.wake_host(self.cloud.bus, host)

    def add_fixed_ip(self, ctx, instance_id: str, network_id: str) -> None:
        """Nova's addFixedIp: one more address, from the first of the network's
        subnets that has one, on the first of the server's ports on that
        network that takes it.  NotFound when the caller cannot see the
        network, it has no subnet or the server no port on it; BadRequest when
        no address can be added."""
        with self.cloud.db.transaction() as session:
            network = session.get(Network, network_id)
            on_network = [port for port in _ports_of(session, instance_id)
                          if port.network_id == network_id]
            network_subnets = subnets.of_network(session, network_id)
            if network is None or not _can_see(ctx, network) or not network_subnets or \
                    not on_network:
                raise NotFound(f"Network could not be found for instance {instance_id}.")
            port = next((port for port, subnet in itertools.product(on_network, network_subnets)
                         if _took_address(session, self.cloud.config, port, subnet)), None)
            if port is None:
                raise BadRequest(f"No fixed IP addresses available for network: {network_id}")
            host = port.binding_host_id
        host_state.wake_host(self.cloud.bus, host)

    def remove_fixed_ip(self, instance_id: str, address: str) -> None:
        """Nova's removeFixedIp: take the address from the server's port holding
        it; BadRequest when none of the server's ports does."""
        address = str(ipaddress.ip_address(address))   # as addresses are stored
        with self.cloud.db.transaction() as session:
            port = session.scalar(
                sa.select(Port).join(IPAllocation, IPAllocation.port_id == Port.id)
                .where(is_nic_of([instance_id]), IPAllocation.ip_address == address)
                .order_by(Port.created_at, Port.id).limit(1))
            if port is None:
                raise BadRequest(f"Instance {instance_id} doesn't have fixed IP '{address}'.")
            kept = [{"subnet_id": ip.subnet_id, "ip_address": ip.ip_address}
                    for ip in port.fixed_ips if ip.ip_address != address]
            ports.update_port(session, self.cloud.config, port, {"fixed_ips": kept})
            host = port.binding_host_id
        host_state.wake_host(self.cloud.bus, host)

    def networks(self, ctx) -> list[dict]:
        with self.cloud.db.session() as session:
            rows = list(session.scalars(networks.visible_to(ctx, sa.select(Network))
                                        .order_by(Network.created_at, Network.id)))
            subnets = session.execute(sa.select(Subnet.network_id, Subnet.ip_version,
                                                Subnet.cidr)
                                      .order_by(Subnet.created_at, Subnet.id)).all()
        first: dict[tuple[str, int], str] = {}
        for network_id, version, cidr in subnets:
            first.setdefault((network_id, version), cidr)
        return [{"id": n.id, "name": n.name, "project_id": n.project_id,
                 "cidr": first.get((n.id, 4)), "cidr_v6": first.get((n.id, 6))}
                for n in rows]


# -- helpers -------------------------------------------------------------------------------

def is_nic_of(instance_ids: list[str]):
    """The condition on Port that makes a port a NIC of one of these servers.

    A port names its server in device_id, with a ``compute:`` device owner.
    That counts when compute plugged the port into that server, or when the
    port is of the server's project (``openstack port create --device``);
    another project's port naming the server is not its NIC, as Nova only
    takes ports of the instance's project.  Every question about a server's
    ports (views, os-interface, metadata, the guest's NICs, release) asks
    through this."""
    server_project = (sa.select(Instance.project_id).where(Instance.id == Port.device_id)
                      .scalar_subquery())
    return sa.and_(Port.device_id.in_(instance_ids), Port.device_owner.like("compute:%"),
                   sa.or_(Port.plugged_server_id == Port.device_id,
                          Port.project_id == server_project))


def _ports_of(session, instance_id: str) -> list[Port]:
    return list(session.scalars(sa.select(Port).where(is_nic_of([instance_id]))
                                .order_by(Port.created_at, Port.id)))


def _plug(session, config, port: Port, instance, host: str) -> None:
    """Bind a port to the server and remember that compute did it."""
    ports.update_port(session, config, port, {
        "device_id": instance.id, "device_owner": COMPUTE_OWNER, "binding:host_id": host})
    port.plugged_server_id = instance.id


def _new_port(session, config, instance, host: str, network_id: str,
              fixed_ip: str | None = None, groups: list[str] | None = None) -> Port:
    """A port compute makes for the server: of the server's project (whoever
    asked, as Nova makes them), deleted with the server."""
    values = {"project_id": instance.project_id, "network_id": network_id,
              "device_id": instance.id, "device_owner": COMPUTE_OWNER,
              "binding:host_id": host, "security_groups": groups}
    if fixed_ip:
        values["fixed_ips"] = [{"ip_address": fixed_ip}]
    port = ports.create_port(session, config, values)
    port.compute_managed = True
    port.plugged_server_id = instance.id
    return port


def _took_address(session, config, port: Port, subnet: Subnet) -> bool:
    """Give the port one more address on the subnet, keeping those it has;
    False when the network service refuses (the subnet is full, the port holds
    its one address of an automatic IPv6 subnet, or as many as a port may).
    A refused allocation changes nothing, so another may be tried after it."""
    held = [{"subnet_id": ip.subnet_id, "ip_address": ip.ip_address} for ip in port.fixed_ips]
    try:
        ports.update_port(session, config, port,
                          {"fixed_ips": [*held, {"subnet_id": subnet.id}]})
    except (BadRequest, Conflict):
        return False
    return True


def _release(session, config, port: Port) -> None:
    """Delete a port compute made; give back one the user brought."""
    if port.compute_managed:
        ports.delete_port(session, port)
    else:
        ports.update_port(session, config, port, {"device_id": "", "device_owner": "",
                                                  "binding:host_id": ""})
        port.plugged_server_id = None


def _address(address: str, kind: str, mac: str) -> dict:
    return {"version": ipaddress.ip_address(address).version, "addr": address,
            "OS-EXT-IPS:type": kind, "OS-EXT-IPS-MAC:mac_addr": mac}


def _interface(port: Port, tag: str | None = None) -> dict:
    return {"port_id": port.id, "net_id": port.network_id, "mac_addr": port.mac_address,
            "port_state": port.status,
            "fixed_ips": [{"subnet_id": ip.subnet_id, "ip_address": ip.ip_address}
                          for ip in port.fixed_ips],
            "mtu": sa.orm.object_session(port).get(Network, port.network_id).mtu,
            "tag": tag}


def _can_see(ctx, network: Network) -> bool:
    return ctx.is_admin or network.project_id == ctx.project_id or network.shared


def _visible_network(session, ctx, network_id: str, missing=BadRequest) -> Network:
    network = session.get(Network, network_id)
    if network is None or not _can_see(ctx, network):
        raise missing(f"Network {network_id} could not be found.")
    return network


def _require_subnet(session, network: Network) -> None:
    if not session.scalar(sa.select(sa.func.count()).select_from(Subnet).where(
            Subnet.network_id == network.id)):
        raise BadRequest(f"Network {network.id} requires a subnet in order to boot "
                         "instances on.")


def _free_fixed_ip(session, network: Network, address: str) -> None:
    taken = session.scalar(sa.select(IPAllocation.port_id).where(
        IPAllocation.network_id == network.id, IPAllocation.ip_address == address))
    if taken:
        raise BadRequest(f"Fixed IP address {address} is already in use on instance.")


def _usable_port(session, ctx, port_id: str, missing=BadRequest) -> Port:
    port = session.get(Port, port_id)
    if port is None or not (ctx.is_admin or port.project_id == ctx.project_id):
        raise missing(f"Port {port_id} could not be found.")
    if port.device_id:
        raise Conflict(f"Port {port_id} is still in use.")
    return port


def _available_networks(session, project_id: str) -> list[Network]:
    """Up to two networks a server asking for none in particular could go on:
    the project's own and the shared ones, as Nova looks for them."""
    return list(session.scalars(sa.select(Network).where(
        sa.or_(Network.project_id == project_id, Network.shared))
        .order_by(Network.created_at, Network.id).limit(2)))


def _auto_network(session, project_id: str) -> Network | None:
    """The only available network; none when there is none; 409 when several."""
    candidates = _available_networks(session, project_id)
    if len(candidates) > 1:
        raise Conflict("Multiple possible networks found, use a Network ID to be more "
                       "specific.")
    return candidates[0] if candidates else None


def _requests(session, instance, requested) -> list[dict]:
    if requested == "none":
        return []
    if requested == "auto":
        # The API checked there was at most one; take it as it is now.
        available = _available_networks(session, instance.project_id)
        return [{"uuid": available[0].id}] if available else []
    return requested


def _group(session, project_id: str, name_or_id: str) -> SecurityGroup | None:
    return session.scalar(sa.select(SecurityGroup).where(
        SecurityGroup.project_id == project_id,
        sa.or_(SecurityGroup.id == name_or_id, SecurityGroup.name == name_or_id))
        .order_by(SecurityGroup.created_at).limit(1))


def _group_id(session, project_id: str, name_or_id: str) -> str | None:
    group = _group(session, project_id, name_or_id)
    return group.id if group is not None else None
