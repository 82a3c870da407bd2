"""Network namespaces (qdhcp-, qrouter-): made, listed and removed with
pyroute2, and what lives inside one (links' addresses, routes, sysctls,
sockets, processes).

A thread may step into a namespace (``entered``): the network namespace is a
property of the thread, so sockets it opens there stay there, and
/proc/sys/net opened there is that namespace's.  Processes run inside with
``nsenter``, so nothing forks with this process's threads in flight.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import signal
import socket
from pathlib import Path

from pyroute2 import IPRoute, netns

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class NamespaceError(Exception):
    """A namespace could not be entered or changed."""


def path(name: str) -> Path:
    return NETNS_DIR / name


def exists(name: str) -> bool:
    return path(name).exists()


def names(prefix: str = "") -> list[str]:
    return sorted(name for name in netns.listnetns() if name.startswith(prefix))


def create(name: str) -> None:
    """Make the namespace (nothing if it exists) with its loopback up."""
    if not exists(name):
        netns.create(name)
    with iproute(name) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def delete(name: str) -> None:
    """Kill what runs in the namespace and remove it; nothing if it is gone."""
    if not exists(name):
        return
    for pid in pids(name):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    netns.remove(name)


def pids(name: str) -> list[int]:
    """The processes whose network namespace is ``name``."""
    try:
        wanted = path(name).stat().st_ino
    except FileNotFoundError:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "ns" / "net").stat().st_ino == wanted:
                    found.append(int(entry.name))
    return found


def iproute(name: str) -> IPRoute:
    """Netlink inside the namespace (which must exist: it is never made here)."""
    return IPRoute(netns=name, flags=0)


def holds_alias(name: str, alias: str) -> bool:
    """Whether a link of the namespace carries ``alias``: the mark of the
    namespaces this cloud made."""
    try:
        with iproute(name) as ipr:
            return any(link.get("IFLA_IFALIAS") == alias for link in ipr.get_links())
    except FileNotFoundError:   # removed meanwhile (by another cloud): not ours
        return False


def served(prefix: str, alias: str, records: Path) -> set[str]:
    """The ids of the ``<prefix><id>`` namespaces a cloud serves on the host:
    those recorded under RECORDS (an entry per id, made before the namespace),
    and those holding a link with its ALIAS (made before a record was lost)."""
    recorded = {path.name for path in records.iterdir()} if records.is_dir() else set()
    marked = {name[len(prefix):] for name in names(prefix)
              if name[len(prefix):] not in recorded and holds_alias(name, alias)}
    return recorded | marked


@contextlib.contextmanager
def entered(name: str):
    """Run the block with this thread inside the namespace."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(path(name), os.O_RDONLY)
    try:
        _setns(target, name)
        try:
            yield
        finally:
            _setns(home, "the thread's own namespace")
    finally:
        os.close(target)
        os.close(home)


def _setns(fd: int, what: str) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise NamespaceError(f"cannot enter {what}: {os.strerror(ctypes.get_errno())}")


def set_sysctl(name: str, key: str, value: str) -> None:
    """``net.ipv4.ip_forward``-style key, set inside the namespace."""
    with entered(name):
        Path("/proc/sys", *key.split(".")).write_text(value)


def listening_socket(name: str, address: str, port: int) -> socket.socket:
    """A TCP socket listening on address:port inside the namespace (it stays
    there whichever thread serves it)."""
    with entered(name):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # 169.254.169.254 may be bound before its address is up.
            sock.setsockopt(socket.SOL_IP, 15, 1)     # IP_FREEBIND
            sock.bind((address, port))
            sock.listen(64)
        except OSError:
            sock.close()
            raise
    sock.setblocking(False)
    return sock


def command(name: str, argv: list[str]) -> list[str]:
    """``argv`` as run inside the namespace."""
    return ["nsenter", f"--net={path(name)}", *argv]


def link_index(ipr: IPRoute, ifname: str) -> int:
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise NamespaceError(f"no link {ifname}")
    return found[0]


def set_up(name: str, ifname: str, up: bool) -> None:
    with iproute(name) as ipr:
        ipr.link("set", index=link_index(ipr, ifname), state="up" if up else "down")


def sync_addresses(name: str, ifname: str, cidrs: list[str]) -> None:
    """Make the link's global addresses exactly ``cidrs`` (address/prefix);
    link-local ones the kernel made are left alone."""
    wanted = {ipaddress.ip_interface(cidr) for cidr in cidrs}
    with iproute(name) as ipr:
        index = link_index(ipr, ifname)
        present = set()
        for record in ipr.get_addr(index=index):
            interface = ipaddress.ip_interface(
                f"{record.get('IFA_ADDRESS')}/{record['prefixlen']}")
            if interface.ip.is_link_local and interface.version == 6:
                continue
            if interface in wanted:
                present.add(interface)
            else:
                ipr.addr("del", index=index, address=str(interface.ip),
                         prefixlen=interface.network.prefixlen)
        for interface in wanted - present:
            ipr.addr("add", index=index, address=str(interface.ip),
                     prefixlen=interface.network.prefixlen,
                     **({"nodad": True} if interface.version == 6 else {}))


def sync_routes(name: str, routes: list[tuple[str, str]]) -> None:
    """Make the namespace's gateway routes (main table) exactly ``routes``:
    (destination cidr, next hop) pairs; routes of connected subnets (the
    kernel's, without a gateway) are left alone."""
    wanted = {(str(ipaddress.ip_network(dst)), gateway) for dst, gateway in routes}
    with iproute(name) as ipr:
        present = set()
        for family in (socket.AF_INET, socket.AF_INET6):
            for route in ipr.get_routes(family=family, table=254):
                gateway = route.get("RTA_GATEWAY")
                if gateway is None:
                    continue
                dst = route.get("RTA_DST") or ("0.0.0.0" if family == socket.AF_INET else "::")
                key = (str(ipaddress.ip_network(f"{dst}/{route['dst_len']}")), gateway)
                if key in wanted:
                    present.add(key)
                else:
                    ipr.route("del", dst=key[0], gateway=gateway)
        for dst, gateway in wanted - present:
            ipr.route("replace", dst=dst, gateway=gateway)
