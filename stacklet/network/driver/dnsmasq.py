"""dnsmasq serving one network's DHCP (and DNS) inside its qdhcp- namespace.

Static leases only, as Neutron: every address comes from the hosts file
(MAC, hostname, IP per port); the ranges only say which subnets are served.
What changes with ports (hosts, options, DNS names) lives in files dnsmasq
rereads on SIGHUP; what changes with subnets is on its command line, so only
then is it restarted.  Its files and pid file live in one directory per network.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from stacklet.common.private_files import write_private
from stacklet.network.driver import namespaces

LEASE_SECONDS = 86400          # Neutron's dhcp_lease_duration
METADATA_ADDRESS = "169.254.169.254"
INSTALL_HINT = ("dnsmasq is not installed: install the Debian packages dnsmasq-base and "
                "dnsmasq-utils")
RELEASE = "dhcp_release"       # of dnsmasq-utils
# Which dnsmasq range mode serves an IPv6 subnet's address mode.
IPV6_MODES = {"slaac": "ra-only", "dhcpv6-stateless": "ra-stateless",
              "dhcpv6-stateful": "static"}


class DnsmasqError(Exception):
    """dnsmasq would not start; the message is its own."""


@dataclasses.dataclass(frozen=True)
class Files:
    """What one network's dnsmasq reads (DIR = state_dir/dhcp/<network_id>)."""

    directory: Path

    @property
    def hosts(self) -> Path:
        return self.directory / "host"

    @property
    def opts(self) -> Path:
        return self.directory / "opts"

    @property
    def addn_hosts(self) -> Path:
        return self.directory / "addn_hosts"

    @property
    def pid(self) -> Path:
        return self.directory / "pid"

    @property
    def leases(self) -> Path:
        return self.directory / "leases"

    @property
    def command(self) -> Path:
        """The command line it was last started with (a change means a restart)."""
        return self.directory / "command.json"


def installed() -> bool:
    return shutil.which("dnsmasq") is not None


# -- what dnsmasq is told ----------------------------------------------------------------

def _tag(subnet: dict) -> str:
    return "subnet-" + subnet["id"]


def _range(subnet: dict) -> str | None:
    network = ipaddress.ip_network(subnet["cidr"])
    if network.version == 4:
        return f"set:{_tag(subnet)},{network.network_address},static,{network.netmask}," \
               f"{LEASE_SECONDS}s"
    mode = IPV6_MODES.get(subnet.get("ipv6_address_mode") or "dhcpv6-stateful")
    return f"set:{_tag(subnet)},{network.network_address},{mode},{network.prefixlen}," \
           f"{LEASE_SECONDS}s"


def command(network: dict, interface: str, files: Files, dns_domain: str) -> list[str]:
    """dnsmasq's command line for NETWORK (a dhcp_networks document)."""
    argv = ["dnsmasq", "--conf-file=/dev/null", "--no-hosts", "--no-resolv",
            "--except-interface=lo", "--bind-interfaces", f"--interface={interface}",
            # Its files sit in the private data dir and are reread on SIGHUP, so
            # it keeps the rights it was started with (only inside the namespace).
            "--user=root", "--group=root",
            f"--pid-file={files.pid}", f"--dhcp-hostsfile={files.hosts}",
            f"--dhcp-optsfile={files.opts}", f"--addn-hosts={files.addn_hosts}",
            f"--dhcp-leasefile={files.leases}", "--leasefile-ro",
            "--dhcp-authoritative", f"--dhcp-lease-max={2 ** 16}",
            f"--domain={dns_domain.rstrip('.')}"]
    argv += [f"--dhcp-range={_range(subnet)}" for subnet in network["subnets"]]
    if any(subnet["ip_version"] == 6 and IPV6_MODES.get(subnet.get("ipv6_address_mode")
                                                        or "") in ("ra-only", "ra-stateless")
           for subnet in network["subnets"]):
        argv.append("--enable-ra")
    return argv


def _in_subnet(address: str, subnet: dict) -> bool:
    return ipaddress.ip_address(address) in ipaddress.ip_network(subnet["cidr"])


def hosts_file(network: dict, dns_domain: str) -> str:
    """One static lease per port address: MAC, the port's tag (only for a
    port with extra DHCP options: see ``reload_crashes``), name, address."""
    lines = []
    for host in network["hosts"]:
        address = ipaddress.ip_address(host["ip_address"])
        shown = f"[{address}]" if address.version == 6 else str(address)
        tag = f"set:port-{host['port_id']}," if host["extra_dhcp_opts"] else ""
        lines.append(f"{host['mac_address']},{tag}{_fqdn(host, dns_domain)},{shown}")
    return _text(lines)


def reload_crashes(network: dict) -> bool:
    """dnsmasq 2.90 (Debian's) dies of a segfault on SIGHUP once a host that
    carries a tag in the hosts file holds a lease; with such hosts the
    files take effect by a restart instead."""
    return any(host["extra_dhcp_opts"] for host in network["hosts"])


def _fqdn(host: dict, dns_domain: str) -> str:
    return f"{host['hostname']}.{dns_domain.rstrip('.')}"


def addn_hosts_file(network: dict, dns_domain: str) -> str:
    """DNS names of the ports, answered by dnsmasq."""
    return _text(f"{host['ip_address']}\t{_fqdn(host, dns_domain)} {host['hostname']}"
                 for host in network["hosts"])


def opts_file(network: dict, dhcp_addresses: list[str], isolated_metadata: bool) -> str:
    """Per subnet: router, DNS servers, static routes and MTU; per port: its
    extra_dhcp_opts."""
    lines = []
    for subnet in network["subnets"]:
        if subnet["ip_version"] == 4:
            lines += _ipv4_options(network, subnet, dhcp_addresses, isolated_metadata)
        else:
            servers = subnet["dns_nameservers"] or [
                f"[{a}]" for a in dhcp_addresses if _in_subnet(a, subnet)]
            if servers:
                lines.append(f"tag:{_tag(subnet)},option6:dns-server,"
                             + ",".join(f"[{s.strip('[]')}]" for s in servers))
    for host in network["hosts"]:
        for option in host["extra_dhcp_opts"]:
            if option.get("ip_version", 4) != ipaddress.ip_address(host["ip_address"]).version:
                continue
            lines.append(f"tag:port-{host['port_id']},"
                         f"{_option_name(option['opt_name'], option.get('ip_version', 4))},"
                         f"{option['opt_value']}")
    return _text(dict.fromkeys(lines))       # a port with two addresses: its options once


def _ipv4_options(network: dict, subnet: dict, dhcp_addresses: list[str],
                  isolated_metadata: bool) -> list[str]:
    tag = f"tag:{_tag(subnet)}"
    own = [address for address in dhcp_addresses if _in_subnet(address, subnet)]
    gateway = subnet["gateway_ip"]
    # No gateway: the option present but empty, so dnsmasq sends no router.
    lines = [f"{tag},option:router" + (f",{gateway}" if gateway else "")]
    servers = subnet["dns_nameservers"] or own
    if servers:
        lines.append(f"{tag},option:dns-server," + ",".join(servers))
    routes = [(route["destination"], route["nexthop"]) for route in subnet["host_routes"]
              if ipaddress.ip_network(route["destination"]).version == 4]
    if isolated_metadata and own and not _routed(network, subnet):
        routes.append((f"{METADATA_ADDRESS}/32", own[0]))
    if routes:
        # A client given classless routes ignores the router option (RFC 3442):
        # the default route goes with them.
        if gateway:
            routes.append(("0.0.0.0/0", gateway))
        lines.append(f"{tag},option:classless-static-route,"
                     + ",".join(f"{dst},{hop}" for dst, hop in routes))
    lines.append(f"{tag},option:mtu,{network['mtu']}")
    return lines


def _routed(network: dict, subnet: dict) -> bool:
    """Whether a router holds the subnet's gateway (its metadata comes from there)."""
    return any(host["device_owner"] == "network:router_interface"
               and host["ip_address"] == subnet["gateway_ip"] for host in network["hosts"])


def _option_name(name: str, ip_version: int) -> str:
    """dnsmasq takes a number or a name after option: (option6: for DHCPv6)."""
    return f"option{'6' if ip_version == 6 else ''}:{name}"


def _text(lines) -> str:
    return "".join(f"{line}\n" for line in lines)


# -- the process ---------------------------------------------------------------------------

def running_pid(files: Files) -> int | None:
    """The pid of the dnsmasq serving these files, None when it is not running."""
    try:
        pid = int(files.pid.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    # The pid file may name a pid another process took since.
    if cmdline and cmdline[0].endswith(b"dnsmasq") and \
            f"--pid-file={files.pid}".encode() in cmdline:
        return pid
    return None


def write_files(files: Files, contents: dict[Path, str]) -> bool:
    """Write what differs; whether anything did."""
    files.directory.mkdir(parents=True, exist_ok=True)
    changed = False
    for path, text in contents.items():
        if not path.exists() or path.read_text() != text:
            write_private(path, text)
            changed = True
    return changed


def start(namespace: str, files: Files, argv: list[str]) -> int:
    """Start dnsmasq in NAMESPACE (it daemonizes once it serves); its pid."""
    stop(files)
    done = subprocess.run(namespaces.command(namespace, argv), capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise DnsmasqError(done.stderr.strip() or f"dnsmasq exited {done.returncode}")
    write_private(files.command, json.dumps(argv))
    for _ in range(50):       # the daemon writes its pid file just after the parent exits
        pid = running_pid(files)
        if pid is not None:
            return pid
        time.sleep(0.01)
    raise DnsmasqError("dnsmasq started but wrote no pid file")


def started_with(files: Files) -> list[str] | None:
    try:
        return json.loads(files.command.read_text())
    except (FileNotFoundError, ValueError):
        return None


def reload(files: Files) -> None:
    """SIGHUP: dnsmasq rereads its hosts, options and addn-hosts files."""
    pid = running_pid(files)
    if pid is not None:
        os.kill(pid, signal.SIGHUP)


def leases_in(hosts_text: str) -> set[tuple[str, str]]:
    """(MAC, IPv4 address) of each static lease of a hosts file's text."""
    leases = set()
    for line in hosts_text.splitlines():
        fields = line.split(",")
        if not fields[-1].startswith("["):       # IPv6 leases are the client id's
            leases.add((fields[0], fields[-1]))
    return leases


def release(namespace: str, interface: str, leases: set[tuple[str, str]]) -> None:
    """Forget leases dnsmasq gave to ports that are gone (Neutron does the
    same): with --leasefile-ro it keeps them in memory for their whole lease
    time, and would never offer the address to the next port that gets it."""
    for mac, address in sorted(leases):
        subprocess.run(namespaces.command(namespace, [RELEASE, interface, address, mac]),
                       capture_output=True, check=False, stdin=subprocess.DEVNULL)


def stop(files: Files) -> bool:
    """Stop the dnsmasq of these files; whether one was running."""
    pid = running_pid(files)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.01)
    return True


def _alive(pid: int) -> bool:
    """Running, not gone nor a zombie its parent has not reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False
