"""A server's ports, as the compute service sees them.

The network service implements ``PortProvider``; compute only ever asks it
the questions below.  Until a cloud runs one, ``NoNetworks`` answers: a
server asked for ``auto`` or ``none`` networks boots without ports, and one
asked for a particular network or port is refused with the network named.
"""

from __future__ import annotations

from typing import Protocol

from stacklet.common.errors import BadRequest, NotFound


class PortProvider(Protocol):
    def check_requested(self, ctx, requested: list[dict] | str) -> None:
        """Raise BadRequest naming the first requested network, port or fixed IP
        that cannot be used by the caller (409 for one in use); for "auto", 409
        when several networks could be meant."""

    def security_group_exists(self, ctx, name: str) -> bool:
        """Whether the caller's project has a security group of this name or id."""

    def allocate(self, instance, host: str) -> list[dict]:
        """Create or bind the server's ports on its host, for the networks and
        security groups its create asked for (``system_metadata``); a server
        that has ports already (a move) takes them along.  Returns them."""

    def deallocate(self, instance) -> None:
        """Release every port the server has (ports the user made are unbound)."""

    def addresses(self, instance_ids: list[str]) -> dict[str, dict[str, list[dict]]]:
        """Each server's addresses by network name, as Nova's ``addresses``."""

    def interfaces(self, instance_id: str) -> list[dict]:
        """The server's ports as os-interface shows them: port_id, net_id, mac_addr,
        port_state, fixed_ips (subnet_id, ip_address) and tag."""

    def attach_interface(self, ctx, instance_id: str, host: str | None, *,
                         net_id: str | None, port_id: str | None,
                         fixed_ip: str | None, tag: str | None) -> dict:
        """Plug one more port into a server: the given port, or a new one on the
        given network (or on the project's only network); returns it as
        ``interfaces`` does.  NotFound names a missing network or port,
        BadRequest says why none can be chosen."""

    def detach_interface(self, instance_id: str, port_id: str) -> None:
        """Unplug a port from the server; NotFound when it is not attached."""

    def networks(self, ctx) -> list[dict]:
        """The networks the caller can see, for Nova's os-networks and
        os-tenant-networks proxies: id, name, cidr and cidr_v6 (of the first
        subnet of each family, or None) and project_id."""


class NoNetworks:
    """The port provider of a cloud without a network service."""

    def check_requested(self, ctx, requested: list[dict] | str) -> None:
        for item in requested if isinstance(requested, list) else []:
            if item.get("port"):
                raise BadRequest(f"Port {item['port']} could not be found.")
            if item.get("uuid"):
                raise BadRequest(f"Network {item['uuid']} could not be found.")

    def security_group_exists(self, ctx, name: str) -> bool:
        # Every project has its "default" group, as in Neutron.
        return name == "default"

    def allocate(self, instance, host: str) -> list[dict]:
        return []

    def deallocate(self, instance) -> None:
        return None

    def addresses(self, instance_ids: list[str]) -> dict[str, dict[str, list[dict]]]:
        return {}

    def interfaces(self, instance_id: str) -> list[dict]:
        return []

    def attach_interface(self, ctx, instance_id: str, host: str | None, *,
                         net_id: str | None, port_id: str | None,
                         fixed_ip: str | None, tag: str | None) -> dict:
        if port_id:
            raise NotFound(f"Port {port_id} could not be found.")
        if net_id:
            raise NotFound(f"Network {net_id} could not be found.")
        raise BadRequest("No specific network was requested and none are available for "
                         f"project '{ctx.project_id}'.")

    def detach_interface(self, instance_id: str, port_id: str) -> None:
        raise NotFound(f"Port {port_id} is not attached")

    def networks(self, ctx) -> list[dict]:
        return []
