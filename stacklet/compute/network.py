"""A server's ports, as the compute service sees them.

The network service implements ``PortProvider``
(``stacklet.network.compute_ports.NeutronPorts``); compute only ever asks it
the questions below.
"""

from __future__ import annotations

from typing import Protocol


class PortProvider(Protocol):
    def check_requested(self, ctx, requested: list[dict] | str) -> None:
        """Raise BadRequest naming the first requested network, port or fixed IP
        that cannot be used by the caller (409 for one in use); for "auto", 409
        when several networks could be meant."""

    def security_group_name(self, ctx, name_or_id: str) -> str | None:
        """The name of the caller's project's security group with this name or id;
        None when there is none."""

    def allocate(self, instance, host: str) -> list[dict]:
        """Create or bind the server's ports on its host, for the networks and
        security groups its create asked for (``system_metadata``); a server
        that has ports already (a move) takes them along.  Returns them."""

    def deallocate(self, instance) -> None:
        """Release every port the server has (ports the user made are unbound)."""

    def addresses(self, instance_ids: list[str]) -> dict[str, dict[str, list[dict]]]:
        """Each server's addresses by network name, as Nova's ``addresses``."""

    def security_group_names(self, instance_ids: list[str]) -> dict[str, list[str]]:
        """The names of the security groups on each server's ports (a server
        whose ports have none is absent), as Nova shows them."""

    def wait_wired(self, port_ids: list[str]) -> None:
        """Return once the ports are wired on their host (ACTIVE: Nova's
        network-vif-plugged); DriverError with the reason after
        [compute] vif_plugging_timeout."""

    def add_fixed_ip(self, ctx, instance_id: str, network_id: str) -> None:
        """One more address, on the network, for the server's port there
        (Nova's addFixedIp)."""

    def remove_fixed_ip(self, instance_id: str, address: str) -> None:
        """The address off the server's port holding it (Nova's removeFixedIp)."""

    def interfaces(self, instance_id: str) -> list[dict]:
        """The server's ports as os-interface shows them: port_id, net_id, mac_addr,
        port_state, fixed_ips (subnet_id, ip_address) and tag.  A server's ports
        (here, in ``addresses`` and everywhere) are those compute plugged into
        it and those of its project naming it as their device, never another
        project's port that names it."""

    def attach_interface(self, ctx, instance, *, net_id: str | None, port_id: str | None,
                         fixed_ip: str | None, tag: str | None) -> dict:
        """Plug one more port into a server (on its host, if it has one): the
        given port, or a new one of the server's project on the given network
        (or on the project's only network); returns it as ``interfaces`` does.
        NotFound names a missing network or port, BadRequest says why none can
        be chosen."""

    def detach_interface(self, instance_id: str, port_id: str) -> None:
        """Unplug a port from the server; NotFound when it is not attached."""

    def networks(self, ctx) -> list[dict]:
        """The networks the caller can see, for Nova's os-networks and
        os-tenant-networks proxies: id, name, cidr and cidr_v6 (of the first
        subnet of each family, or None) and project_id."""

