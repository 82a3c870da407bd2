"""Links of the host through netlink (pyroute2): bridges, VXLAN and VLAN
devices, veth pairs into namespaces, guests' TAPs, VXLAN forwarding entries.

Every link made here carries ``settings.link_alias``, so reconciling and
cleanup only ever remove what this cloud made. The functions are idempotent:
calling one again with the same arguments changes nothing.
"""

from __future__ import annotations

import errno

from pyroute2 import IPRoute, NetNS
from pyroute2.netlink.exceptions import NetlinkError

from stacklet.network.agent.settings import DataplaneSettings

IFNAMSIZ = 15               # the longest interface name the kernel takes
VXLAN_PORT = 4789           # IANA's, as Neutron's vxlan_udp_port defaults to
ZERO_MAC = "00:00:00:00:00:00"


class NoHostSegment(Exception):
    """The network's physical network is mapped to nothing on this host."""


def bridge_name(network_id: str) -> str:
    return "brq" + network_id[:11]


def tap_name(port_id: str) -> str:
    return "tap" + port_id[:11]


def vxlan_name(vni: int) -> str:
    return f"vxlan-{vni}"


def _get(ipr, name: str):
    """The link called NAME, or None (a direct lookup: no dump of every link)."""
    try:
        return ipr.link("get", ifname=name)[0]
    except NetlinkError as error:
        if error.code == errno.ENODEV:
            return None
        raise


def _index(ipr, name: str) -> int:
    link = _get(ipr, name)
    if link is None:
        raise NetlinkError(errno.ENODEV, f"no link named {name}")
    return link["index"]


def link_exists(name: str) -> bool:
    with IPRoute() as ipr:
        return _get(ipr, name) is not None


def link_kind(name: str) -> str | None:
    """The link's kind ("bridge", "veth", "tun", ...), None for a plain device or no link."""
    with IPRoute() as ipr:
        link = _get(ipr, name)
        info = link.get_attr("IFLA_LINKINFO") if link is not None else None
        return info.get_attr("IFLA_INFO_KIND") if info is not None else None


def delete_link(name: str) -> bool:
    """Delete NAME if it exists; True when something was deleted."""
    with IPRoute() as ipr:
        link = _get(ipr, name)
        if link is None:
            return False
        ipr.link("del", index=link["index"])
        return True


def our_links(settings: DataplaneSettings, prefix: str = "") -> list[str]:
    """Names of the root namespace's links carrying our alias."""
    with IPRoute() as ipr:
        names = [link.get_attr("IFLA_IFNAME") for link in ipr.get_links()
                 if link.get_attr("IFLA_IFALIAS") == settings.link_alias]
    return sorted(name for name in names if name.startswith(prefix))


def set_link(name: str, *, up: bool | None = None, mtu: int | None = None,
             mac: str | None = None) -> None:
    """Change what differs of NAME's state, MTU and MAC (no write when nothing does)."""
    with IPRoute() as ipr:
        _set(ipr, _get(ipr, name), up=up, mtu=mtu, mac=mac)


def _set(ipr, link, *, up=None, mtu=None, mac=None, alias=None) -> None:
    changes = {}
    if mtu and link.get_attr("IFLA_MTU") != mtu:
        changes["mtu"] = mtu
    if mac and link.get_attr("IFLA_ADDRESS") != mac.lower():
        changes["address"] = mac.lower()
    if alias and link.get_attr("IFLA_IFALIAS") != alias:
        changes["ifalias"] = alias
    if up is not None and bool(link["flags"] & 1) != up:   # IFF_UP
        changes["state"] = "up" if up else "down"
    if changes:
        ipr.link("set", index=link["index"], **changes)


def _ensure(ipr, settings, name: str, create: dict, *, mtu=None, master=None):
    """Make NAME (of the kind and attributes CREATE says) unless it exists,
    then bring it up with MTU, enslaved to MASTER when given."""
    link = _get(ipr, name)
    if link is None:
        ipr.link("add", ifname=name, **create)
        link = _get(ipr, name)
        _set(ipr, link, alias=settings.link_alias)
    _enslave(ipr, link, master)
    _set(ipr, link, up=True, mtu=mtu)
    return link["index"]


def _enslave(ipr, link, master: int | None) -> None:
    if master is not None and link.get_attr("IFLA_MASTER") != master:
        ipr.link("set", index=link["index"], master=master)


def ensure_bridge(settings: DataplaneSettings, name: str, mtu: int | None = None) -> int:
    with IPRoute() as ipr:
        return _ensure(ipr, settings, name, {"kind": "bridge"}, mtu=mtu)


def _sub_interface(device: str, vlan_id: int) -> str:
    suffix = f".{vlan_id}"
    return device[:IFNAMSIZ - len(suffix)] + suffix


def ensure_network_bridge(settings: DataplaneSettings, network: dict) -> str:
    """Make the bridge carrying NETWORK on this host (and its uplink); its name.

    NETWORK has the keys of a host_ports port (``network_id``) or of a
    dhcp_networks network (``id``): network_type, physical_network,
    segmentation_id, mtu.
    """
    network_id = network.get("network_id") or network["id"]
    kind, physnet = network["network_type"], network.get("physical_network")
    segment, mtu = network.get("segmentation_id"), network.get("mtu") or None
    if kind in ("flat", "vlan") and physnet not in settings.bridge_mappings \
            and physnet not in settings.interface_mappings:
        raise NoHostSegment(
            f"physical network {physnet!r} of network {network_id} is mapped to nothing on "
            f"host {settings.host}: set [network] bridge_mappings = {physnet}:<bridge> or "
            f"physical_interface_mappings = {physnet}:<interface>")
    with IPRoute() as ipr:
        if kind == "flat" and physnet in settings.bridge_mappings:
            # The operator's bridge carries the network itself (DevStack's br-ex).
            host_bridge = settings.bridge_mappings[physnet]
            _ensure(ipr, settings, host_bridge, {"kind": "bridge"})
            return host_bridge
        bridge = bridge_name(network_id)
        index = _ensure(ipr, settings, bridge, {"kind": "bridge"}, mtu=mtu)
        if kind == "vxlan":
            create = {"kind": "vxlan", "vxlan_id": segment, "vxlan_port": VXLAN_PORT,
                      # l2population: the FDB says where each MAC is; never learn it.
                      "vxlan_learning": 0}
            if settings.vxlan_local_ip:
                create["vxlan_local"] = settings.vxlan_local_ip
            _ensure(ipr, settings, vxlan_name(segment), create, mtu=mtu, master=index)
        elif kind in ("flat", "vlan"):
            uplink = settings.interface_mappings.get(physnet) or settings.bridge_mappings[physnet]
            if kind == "vlan":
                create = {"kind": "vlan", "link": _index(ipr, uplink), "vlan_id": segment}
                try:
                    _ensure(ipr, settings, _sub_interface(uplink, segment), create,
                            mtu=mtu, master=index)
                except NetlinkError as error:
                    if error.code != errno.EOPNOTSUPP:
                        raise
                    raise NoHostSegment(f"VLAN network {network_id}: this host's kernel has "
                                        "no 802.1Q support (CONFIG_VLAN_8021Q)") from None
            else:
                # A flat network on an interface: the interface itself joins brq.
                link = _get(ipr, uplink)
                _enslave(ipr, link, index)
                _set(ipr, link, up=True)
        return bridge


def network_links(settings: DataplaneSettings, network: dict) -> list[str]:
    """The links ensure_network_bridge makes for NETWORK that are only its own
    (not a mapped host bridge or interface): what to delete when it leaves."""
    network_id = network.get("network_id") or network["id"]
    kind, physnet = network["network_type"], network.get("physical_network")
    if kind == "flat":
        return [] if physnet in settings.bridge_mappings else [bridge_name(network_id)]
    links = [bridge_name(network_id)]
    if kind == "vxlan":
        links.append(vxlan_name(network["segmentation_id"]))
    elif kind == "vlan":
        uplink = settings.interface_mappings.get(physnet) or settings.bridge_mappings.get(physnet)
        if uplink:
            links.append(_sub_interface(uplink, network["segmentation_id"]))
    return links


def ensure_tap(settings: DataplaneSettings, name: str, mac: str, mtu: int | None) -> None:
    """A persistent TAP that QEMU opens by name later (``-netdev tap,ifname=NAME,
    script=no``): no packet information header, owned by root; left down."""
    with IPRoute() as ipr:
        link = _get(ipr, name)
        if link is None:
            ipr.link("add", ifname=name, kind="tuntap", mode="tap", uid=0,
                     ifr={"no_pi": True})
            link = _get(ipr, name)
        _set(ipr, link, mtu=mtu, mac=mac, alias=settings.link_alias)


def ensure_veth(settings: DataplaneSettings, outside: str, inside: str, namespace: str,
                mtu: int, mac: str | None = None) -> None:
    """A veth pair: OUTSIDE in the root namespace, INSIDE in the existing
    network namespace NAMESPACE with MAC; both up, MTU, our alias."""
    with IPRoute() as ipr:
        if _get(ipr, outside) is None:
            ipr.link("add", ifname=outside, kind="veth",
                     peer={"ifname": inside, "net_ns_fd": namespace})
        _set(ipr, _get(ipr, outside), up=True, mtu=mtu, alias=settings.link_alias)
    with NetNS(namespace) as ns:
        _set(ns, _get(ns, inside), up=True, mtu=mtu, mac=mac, alias=settings.link_alias)


def plug(bridge: str, device: str) -> None:
    """Enslave DEVICE to BRIDGE and bring it up."""
    with IPRoute() as ipr:
        link = _get(ipr, device)
        _enslave(ipr, link, _index(ipr, bridge))
        _set(ipr, link, up=True)


def set_fdb(settings: DataplaneSettings, vni: int, remote_vteps: list[str]) -> None:
    """l2population: one all-zero MAC entry per remote VTEP on vxlan-<vni>
    (broadcast and unknown unicast go to each), stale ones removed."""
    with IPRoute() as ipr:
        index = _index(ipr, vxlan_name(vni))
        present = {entry.get_attr("NDA_DST") for entry in ipr.fdb("dump", ifindex=index)
                   if entry["ifindex"] == index and entry.get_attr("NDA_LLADDR") == ZERO_MAC}
        wanted = set(remote_vteps)
        for vtep in sorted(wanted - present):
            ipr.fdb("append", ifindex=index, lladdr=ZERO_MAC, dst=vtep)
        for vtep in sorted(present - wanted):
            ipr.fdb("del", ifindex=index, lladdr=ZERO_MAC, dst=vtep)


def fdb_entries(vni: int) -> list[str]:
    """The remote VTEPs of vxlan-<vni>'s all-zero entries."""
    with IPRoute() as ipr:
        index = _index(ipr, vxlan_name(vni))
        return sorted(entry.get_attr("NDA_DST") for entry in ipr.fdb("dump", ifindex=index)
                      if entry["ifindex"] == index
                      and entry.get_attr("NDA_LLADDR") == ZERO_MAC)


def _attribute(name: str, attribute: str):
    with IPRoute() as ipr:
        link = _get(ipr, name)
        return None if link is None else link.get_attr(attribute)


def link_mac(name: str) -> str | None:
    return _attribute(name, "IFLA_ADDRESS")


def link_mtu(name: str) -> int | None:
    return _attribute(name, "IFLA_MTU")


def link_up(name: str) -> bool:
    with IPRoute() as ipr:
        link = _get(ipr, name)
        return link is not None and bool(link["flags"] & 1)


def link_master(name: str) -> str | None:
    """The name of the bridge NAME is in, if any."""
    with IPRoute() as ipr:
        link = _get(ipr, name)
        master = link.get_attr("IFLA_MASTER") if link is not None else None
        return ipr.get_links(master)[0].get_attr("IFLA_IFNAME") if master else None
