"""Fixtures of the data-plane tests: namespaces with a veth pair standing in
for guests, and documents in the shape stacklet.network.host_state returns
(no database at this layer).

Everything is named with a random suffix and removed after the test even when
it fails: tests run in parallel, beside other test suites on the same host.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
import uuid

import pytest
from pyroute2 import IPRoute, NetNS, netns

from stacklet.network.agent.settings import DataplaneSettings
from stacklet.network.driver import links, nft

pytestmark = pytest.mark.dataplane

if os.geteuid() != 0:
    pytest.skip("the data-plane tests build real links and nftables rules (root)",
                allow_module_level=True)


def make_settings(tmp_path, **overrides) -> DataplaneSettings:
    values = dict(host="host-" + secrets.token_hex(3), tag=secrets.token_hex(4),
                  state_dir=tmp_path / "network", bridge_mappings={}, interface_mappings={},
                  vxlan_local_ip=None, external_gateway_on_host=False,
                  external_masquerade=False, isolated_metadata=False,
                  metadata_url="http://127.0.0.1:1", metadata_secret=b"secret",
                  dns_domain="openstacklocal.")
    values.update(overrides)
    return DataplaneSettings(**values)


def remove_everything_of(settings: DataplaneSettings) -> None:
    for name in links.our_links(settings):
        links.delete_link(name)
    nft.delete_tables(f"stacklet_{settings.tag}_")


@pytest.fixture
def settings(tmp_path):
    made = make_settings(tmp_path)
    yield made
    remove_everything_of(made)


# Documents -------------------------------------------------------------------

def random_mac() -> str:
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))


def network_doc(network_type: str = "local", segmentation_id: int | None = None,
                physical_network: str | None = None, mtu: int = 1500) -> dict:
    return {"id": str(uuid.uuid4()), "network_type": network_type,
            "physical_network": physical_network, "segmentation_id": segmentation_id,
            "mtu": mtu}


def port_doc(network: dict, *addresses: str, groups=(), mac: str | None = None,
             device_owner: str = "compute:nova", port_security: bool = True,
             pairs=(), admin_state_up: bool = True) -> dict:
    """A host_ports document; ADDRESSES without their prefix length."""
    return {"id": str(uuid.uuid4()), "network_id": network["id"],
            "mac_address": mac or random_mac(), "admin_state_up": admin_state_up,
            "device_owner": device_owner, "device_id": str(uuid.uuid4()),
            "mtu": network["mtu"], "network_type": network["network_type"],
            "physical_network": network["physical_network"],
            "segmentation_id": network["segmentation_id"],
            "fixed_ips": [{"subnet_id": "subnet", "ip_address": a} for a in addresses],
            "port_security_enabled": port_security, "security_groups": list(groups),
            "allowed_address_pairs": list(pairs)}


def rule(direction: str, ethertype: str = "IPv4", protocol=None, port_range_min=None,
         port_range_max=None, remote_ip_prefix=None, remote_group_id=None) -> dict:
    return {"direction": direction, "ethertype": ethertype, "protocol": protocol,
            "port_range_min": port_range_min, "port_range_max": port_range_max,
            "remote_ip_prefix": remote_ip_prefix, "remote_group_id": remote_group_id}


def default_group(group_id: str, members=(), stateful: bool = True) -> dict:
    """Neutron's default group: ingress from its own members, all egress."""
    return {"stateful": stateful, "members": list(members),
            "rules": [rule("ingress", e, remote_group_id=group_id) for e in ("IPv4", "IPv6")]
            + [rule("egress", e) for e in ("IPv4", "IPv6")]}


# Guests ------------------------------------------------------------------------

class Guest:
    """A namespace standing in for a guest: its eth0 is one end of a veth
    pair whose other end, in the root namespace, is the port's tap<id[:11]>."""

    def __init__(self, port: dict, prefixlen: int = 24, namespace: str | None = None):
        self.port = port
        self.namespace = namespace or "g-" + secrets.token_hex(5)
        self.tap = links.tap_name(port["id"])
        netns.create(self.namespace)
        self.processes: list[subprocess.Popen] = []
        with IPRoute() as ipr:
            ipr.link("add", ifname=self.tap, kind="veth",
                     peer={"ifname": "eth0", "net_ns_fd": self.namespace})
        with NetNS(self.namespace) as ns:
            eth0 = ns.link_lookup(ifname="eth0")[0]
            ns.link("set", index=eth0, address=port["mac_address"], mtu=port["mtu"], state="up")
            ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
            for ip in port["fixed_ips"]:
                address = ip["ip_address"]
                ns.addr("add", index=eth0, address=address,
                        prefixlen=64 if ":" in address else prefixlen)

    @property
    def ip(self) -> str:
        return self.port["fixed_ips"][0]["ip_address"]

    def run_script(self, code: str, timeout: float = 10) -> str:
        done = subprocess.run(["nsenter", f"--net=/run/netns/{self.namespace}", sys.executable,
                               "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              timeout=timeout, check=False)
        if done.returncode:
            raise AssertionError(f"in {self.namespace}: {done.stderr}")
        return done.stdout.strip()

    def serve_tcp(self, port: int) -> None:
        """Accept and hold connections on PORT, answering each line with itself."""
        code = textwrap.dedent(f"""
            import socket, threading
            # Both families: "::" takes IPv4 too (as mapped addresses).
            s = socket.socket(socket.AF_INET6)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", {port})); s.listen(64)
            def echo(c):
                while (data := c.recv(65536)):
                    c.sendall(data)
            while True:
                c, _ = s.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()
            """)
        self.processes.append(subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.namespace}", sys.executable, "-c", code]))
        self.run_script(f"""
            import socket, time
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", {port}), timeout=1).close(); break
                except OSError:
                    time.sleep(0.02)
            """)

    def connect(self, address: str, port: int, timeout: float = 1.0, source=None) -> str:
        """"open", "refused" or "timeout": what a TCP connect from here gets."""
        return self.run_script(f"""
            import socket
            s = socket.socket(socket.AF_INET6 if ":" in {address!r} else socket.AF_INET)
            s.settimeout({timeout})
            if {source!r}:
                s.bind(({source!r}, 0))
            try:
                s.connect(({address!r}, {port})); print("open")
            except ConnectionRefusedError:
                print("refused")
            except OSError:
                print("timeout")
            """)

    def ping(self, address: str, timeout: float = 1.0) -> bool:
        """One ICMP echo (a raw socket: this host has no ping)."""
        return self.run_script(f"""
            import socket, struct, time
            def checksum(data):
                total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
                total = (total >> 16) + (total & 0xffff)
                return ~(total + (total >> 16)) & 0xffff
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            s.settimeout({timeout})
            header = struct.pack("!BBHHH", 8, 0, 0, 0x5717, 1)
            packet = struct.pack("!BBHHH", 8, 0, checksum(header + b"stacklet"), 0x5717, 1)
            s.sendto(packet + b"stacklet", ({address!r}, 0))
            deadline = time.monotonic() + {timeout}
            try:
                while time.monotonic() < deadline:
                    data, (peer, _) = s.recvfrom(2048)
                    if peer == {address!r} and data[20] == 0:
                        print("reply"); break
            except OSError:
                pass
            """) == "reply"

    def remove(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()
        links.delete_link(self.tap)
        netns.remove(self.namespace)


@pytest.fixture
def make_guest():
    """make_guest(port_document, prefixlen=24) -> Guest, removed after the test."""
    made = []

    def make(port: dict, prefixlen: int = 24) -> Guest:
        made.append(Guest(port, prefixlen))
        return made[-1]

    yield make
    for guest in made:
        guest.remove()
