"""The host's side of the external networks, as DevStack sets up br-ex.

An external flat network on a physical network mapped to a host bridge
(``[network] bridge_mappings = public:br-ex``) gets, on that bridge, the
gateway address of each of its subnets (172.24.4.1/24): the host reaches
routers' gateways and floating IPs, and guests reach the host.  With
``external_masquerade`` the host also masquerades those subnets' traffic
leaving by any other interface (its own routes decide where), so guests
reach beyond it.  The addresses it added are recorded in the state dir:
only those are ever removed again.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket

from pyroute2 import IPRoute

from stacklet.network.agent.settings import DataplaneSettings
from stacklet.network.driver import links, nft

LOG = logging.getLogger(__name__)


class ExternalGateway:
    def __init__(self, settings: DataplaneSettings):
        self.settings = settings
        self.record = settings.state_dir / "host-gateways.json"
        self.table = f"stacklet_{settings.tag}_external"
        self._applied: tuple | None = None

    def sync(self, networks: list[dict]) -> None:
        addresses: set[tuple[str, str]] = set()     # (bridge, address/prefix)
        masqueraded: set[tuple[str, str]] = set()   # (cidr, bridge)
        for network in networks:
            if network["network_type"] != "flat" or \
                    network["physical_network"] not in self.settings.bridge_mappings:
                continue
            bridge = links.ensure_network_bridge(self.settings, network)
            for subnet in network["subnets"]:
                if not subnet["gateway_ip"]:
                    continue
                prefix = ipaddress.ip_network(subnet["cidr"]).prefixlen
                addresses.add((bridge, f"{subnet['gateway_ip']}/{prefix}"))
                if subnet["ip_version"] == 4:
                    masqueraded.add((subnet["cidr"], bridge))
        if not self.settings.external_gateway_on_host:
            addresses = set()
        addresses = {(bridge, address) for bridge, address in addresses
                     if not self._clashes(bridge, address)}
        if not self.settings.external_masquerade:
            masqueraded = set()
        wanted = (frozenset(addresses), frozenset(masqueraded))
        if wanted == self._applied:
            return
        self._sync_addresses(addresses)
        self._sync_masquerade(masqueraded)
        self._applied = wanted

    def _clashes(self, bridge: str, address: str) -> bool:
        """Whether the host already routes part of the subnet elsewhere (its own
        LAN on the same CIDR): taking the gateway address would cut the host
        off from it, so it is not taken, and the operator is told."""
        subnet = ipaddress.ip_interface(address).network
        with IPRoute() as ipr:
            bridge_index = next(iter(ipr.link_lookup(ifname=bridge)), None)
            for route in ipr.get_routes(family=_family(subnet), table=254):
                destination = route.get_attr("RTA_DST")
                if destination is None or route.get_attr("RTA_OIF") == bridge_index:
                    continue
                routed = ipaddress.ip_network(f"{destination}/{route['dst_len']}")
                if routed.overlaps(subnet):
                    LOG.error("network: external subnet %s overlaps this host's route to %s: "
                              "the host does not take its gateway address on %s (recreate "
                              "the subnet on a free CIDR, e.g. stacklet up --public-cidr)",
                              subnet, routed, bridge)
                    return True
        return False

    def cleanup(self) -> list[str]:
        recorded = self._recorded()
        removed = [f"address {address} from {bridge}" for bridge, address in recorded]
        if recorded:
            self._sync_addresses(set())
        removed += [f"nftables table {name}" for name in nft.delete_tables(self.table)]
        return removed

    def _recorded(self) -> set[tuple[str, str]]:
        try:
            return {tuple(item) for item in json.loads(self.record.read_text())}
        except FileNotFoundError:
            return set()

    def _sync_addresses(self, wanted: set[tuple[str, str]]) -> None:
        recorded = self._recorded()
        self.record.parent.mkdir(parents=True, exist_ok=True)
        # Recorded before they are added: a crash between the two leaves a
        # record of an address that cleanup removes, never an unrecorded one.
        self.record.write_text(json.dumps(sorted(recorded | wanted)))
        with IPRoute() as ipr:
            for bridge, address in sorted(recorded - wanted):
                _change_address(ipr, "del", bridge, address)
            for bridge, address in sorted(wanted):
                _change_address(ipr, "add", bridge, address)
        self.record.write_text(json.dumps(sorted(wanted)))

    def _sync_masquerade(self, masqueraded: set[tuple[str, str]]) -> None:
        rules = "".join(f"        ip saddr {cidr} oifname != \"{bridge}\" masquerade\n"
                        for cidr, bridge in sorted(masqueraded))
        script = (f"add table ip {self.table}\ndelete table ip {self.table}\n")
        if masqueraded:
            script += (f"table ip {self.table} {{\n"
                       "    chain postrouting {\n"
                       "        type nat hook postrouting priority srcnat;\n"
                       f"{rules}    }}\n}}\n")
            # Masquerading means forwarding for the host.
            with open("/proc/sys/net/ipv4/ip_forward", "w") as forward:
                forward.write("1")
        nft.apply(script)


def _family(network) -> int:
    return socket.AF_INET if network.version == 4 else socket.AF_INET6


def _change_address(ipr, action: str, bridge: str, address: str) -> None:
    found = ipr.link_lookup(ifname=bridge)
    if not found:
        return
    interface = ipaddress.ip_interface(address)
    present = any(record.get("IFA_ADDRESS") == str(interface.ip)
                  for record in ipr.get_addr(index=found[0]))
    if (action == "add") == present:
        return
    ipr.addr(action, index=found[0], address=str(interface.ip),
             prefixlen=interface.network.prefixlen)
    if action == "add":
        ipr.link("set", index=found[0], state="up")
