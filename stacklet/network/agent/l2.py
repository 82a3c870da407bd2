"""The L2 agent (Neutron's Linux bridge agent): a bridge per network on this
host, a TAP per guest port in it, VXLAN forwarding entries per remote host,
and the ports' security groups (agent.firewall) in force before a TAP joins
its bridge.

What was applied is remembered, so a sync that changes nothing writes
nothing (no netlink, no nft); the first sync after a start checks the host
itself and removes what is ours and no longer wanted.
"""

from __future__ import annotations

import logging

from pyroute2.netlink.exceptions import NetlinkError

from stacklet.network.agent.firewall import Firewall
from stacklet.network.agent.settings import ACTIVE, DataplaneSettings, Status
from stacklet.network.driver import links

LOG = logging.getLogger(__name__)

SEGMENT_KEYS = ("network_type", "physical_network", "segmentation_id", "mtu")


def is_compute(port: dict) -> bool:
    return (port.get("device_owner") or "").startswith("compute:")


def tap_mac(mac: str) -> str:
    """The TAP's own MAC: the guest's with fe as first octet (Neutron's
    fa:16:3e -> fe:16:3e), so the bridge never learns the guest's MAC on it."""
    return "fe" + mac[2:]


class L2Agent:
    def __init__(self, settings: DataplaneSettings):
        self.settings = settings
        self.firewall = Firewall(settings)
        self.networks: dict[str, tuple] = {}     # network id -> segment applied
        self.bridges: dict[str, str] = {}        # network id -> its bridge
        self.wired: dict[str, tuple] = {}        # port id -> (bridge, tap, admin state up)
        self.fdb: dict[int, tuple] = {}          # vni -> remote VTEPs applied
        self.started = False

    def sync(self, ports: list[dict], groups: dict[str, dict],
             peers: dict[int, list[str]] | None = None) -> dict[str, Status]:
        statuses: dict[str, Status] = {}
        failed = self._ensure_networks(ports)
        self._ensure_fdb(peers or {})
        compute = []
        for port in filter(is_compute, ports):
            if port["network_id"] in failed:
                statuses[port["id"]] = failed[port["network_id"]]
            else:
                compute.append(port)
        for port in compute:
            self._ensure_tap(port)
        bridges = {p["id"]: self.bridges[p["network_id"]] for p in compute}
        statuses.update(self.firewall.sync(compute, groups, bridges))
        for port in compute:
            if port["id"] not in statuses:
                statuses[port["id"]] = self._wire(port, bridges[port["id"]])
        self._remove_stale(ports)
        self.started = True
        return statuses

    def _ensure_networks(self, ports: list[dict]) -> dict[str, Status]:
        """Bridges of the ports' networks; the networks that failed, with why."""
        failed = {}
        for port in ports:
            network_id = port["network_id"]
            segment = tuple(port.get(key) for key in SEGMENT_KEYS)
            if self.networks.get(network_id) == segment or network_id in failed:
                continue
            try:
                self.bridges[network_id] = links.ensure_network_bridge(self.settings, port)
                self.networks[network_id] = segment
            except links.NoHostSegment as error:
                LOG.error("network %s not wired: %s", network_id, error)
                failed[network_id] = Status("DOWN", str(error))
            except (NetlinkError, OSError) as error:
                LOG.error("network %s not wired: %s", network_id, error)
                failed[network_id] = Status("DOWN", f"bridge of network {network_id}: {error}")
        return failed

    def _ensure_fdb(self, peers: dict[int, list[str]]) -> None:
        vnis = {segment[2] for segment in self.networks.values() if segment[0] == "vxlan"}
        for vni in sorted(vnis):
            remote = tuple(sorted(peers.get(vni, [])))
            if self.fdb.get(vni) != remote:
                links.set_fdb(self.settings, vni, list(remote))
                self.fdb[vni] = remote
        for vni in set(self.fdb) - vnis:
            del self.fdb[vni]

    def _ensure_tap(self, port: dict) -> None:
        """The guest's TAP, made (down, outside any bridge) unless a link of its
        name exists: a TAP from before a restart, or a veth standing in for a guest."""
        tap = links.tap_name(port["id"])
        if port["id"] not in self.wired and not links.link_exists(tap):
            links.ensure_tap(self.settings, tap, tap_mac(port["mac_address"]), port.get("mtu"))

    def _wire(self, port: dict, bridge: str) -> Status:
        """Into the bridge (its rules are in force already), up or down as its admin state says."""
        tap, up = links.tap_name(port["id"]), bool(port.get("admin_state_up", True))
        wanted = (bridge, tap, up)
        try:
            if self.wired.get(port["id"]) != wanted:
                links.plug(bridge, tap)
                if not up:
                    links.set_link(tap, up=False)
                self.wired[port["id"]] = wanted
        except (NetlinkError, OSError) as error:
            self.wired.pop(port["id"], None)
            return Status("DOWN", f"{tap} not plugged into {bridge}: {error}")
        return ACTIVE if up else Status("DOWN", "admin_state_up is false")

    def _remove_stale(self, ports: list[dict]) -> None:
        here = {links.tap_name(p["id"]) for p in ports}
        wanted_networks = {p["network_id"] for p in ports}
        for port_id in [p for p in self.wired if links.tap_name(p) not in here]:
            if links.link_kind(links.tap_name(port_id)) == "tun":
                links.delete_link(links.tap_name(port_id))
            del self.wired[port_id]
        kept = set()
        for network_id, segment in list(self.networks.items()):
            document = {"network_id": network_id, **dict(zip(SEGMENT_KEYS, segment))}
            if network_id in wanted_networks:
                kept.update(links.network_links(self.settings, document))
                continue
            for name in links.network_links(self.settings, document):
                links.delete_link(name)
            del self.networks[network_id]
            self.bridges.pop(network_id, None)
        if not self.started:
            # After a start: what an earlier run left and nothing wants any more.
            for name in links.our_links(self.settings):
                stale_tap = name.startswith("tap") and name not in here \
                    and links.link_kind(name) == "tun"
                stale_network = name.startswith(("brq", "vxlan-")) and name not in kept
                if stale_tap or stale_network:
                    links.delete_link(name)

    def configurations(self) -> dict:
        return {"bridge_mappings": dict(self.settings.bridge_mappings),
                "interface_mappings": dict(self.settings.interface_mappings),
                "devices": len(self.wired), "tunnel_types": ["vxlan"],
                "tunneling_ip": self.settings.vxlan_local_ip, "l2_population": True}

    def cleanup(self) -> list[str]:
        """Remove our TAPs, bridges, VXLAN and VLAN devices and the firewall's
        tables (the DHCP and L3 agents remove their own veths)."""
        removed = []
        for name in links.our_links(self.settings):
            if links.link_kind(name) != "veth" and links.delete_link(name):
                removed.append(f"link {name}")
        removed += self.firewall.cleanup()
        self.networks.clear()
        self.bridges.clear()
        self.wired.clear()
        self.fdb.clear()
        self.started = False
        return removed
