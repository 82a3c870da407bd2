"""The DHCP agent for real: dnsmasq in qdhcp-<network> leasing Neutron's
addresses to namespaces standing in for guests, and the DHCP ports in the
database.  The helpers here (settings, guests, a small DHCP client) serve
the L3 and metadata proxy tests too."""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import struct
import uuid
from pathlib import Path

import pytest

from stacklet.network import dhcp_ports, host_state
from stacklet.network.agent.dhcp import DhcpAgent, namespace_name
from stacklet.network.agent.settings import ACTIVE, DataplaneSettings
from stacklet.network.driver import dnsmasq, links, namespaces
from stacklet.network.driver.dnsmasq import Files

HOST = "h2-host"


# -- helpers shared by the data-plane tests of DHCP, L3 and metadata ----------------------

def make_settings(tmp_path: Path, **changes) -> DataplaneSettings:
    values = dict(host=HOST, tag=secrets.token_hex(4), state_dir=tmp_path / "network",
                  bridge_mappings={}, interface_mappings={}, vxlan_local_ip=None,
                  external_gateway_on_host=False, external_masquerade=False,
                  isolated_metadata=False, metadata_url="http://127.0.0.1:1",
                  metadata_secret=b"s3cret", dns_domain="openstacklocal.")
    values.update(changes)
    return DataplaneSettings(**values)


def random_mac() -> str:
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))


def make_port(network: dict, address: str, **fields) -> dict:
    """A port document (host_ports shape) on NETWORK with one address."""
    subnet = next(s for s in network["subnets"]
                  if ipaddress.ip_address(address) in ipaddress.ip_network(s["cidr"]))
    return {"id": str(uuid.uuid4()), "network_id": network["id"],
            "mac_address": random_mac(), "admin_state_up": True, "device_owner": "compute:nova",
            "device_id": str(uuid.uuid4()), "mtu": network["mtu"],
            "network_type": "local", "physical_network": None, "segmentation_id": None,
            "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": address}], **fields}


def make_network(cidr: str, gateway: str | None, *, mtu: int = 1400, **subnet_fields) -> dict:
    """A dhcp_networks document of a local network with one IPv4 subnet, no ports yet."""
    return {"id": str(uuid.uuid4()), "mtu": mtu, "dns_domain": "", "network_type": "local",
            "physical_network": None, "segmentation_id": None, "dhcp_port": None, "hosts": [],
            "subnets": [{"id": str(uuid.uuid4()), "cidr": cidr, "ip_version": 4,
                         "gateway_ip": gateway, "dns_nameservers": [], "host_routes": [],
                         "ipv6_address_mode": None, **subnet_fields}]}


def add_host(network: dict, port: dict, hostname: str, **fields) -> None:
    for ip in port["fixed_ips"]:
        network["hosts"].append({"port_id": port["id"], "device_owner": port["device_owner"],
                                 "mac_address": port["mac_address"],
                                 "ip_address": ip["ip_address"], "hostname": hostname,
                                 "extra_dhcp_opts": [], **fields})


class Guest:
    """A namespace standing in for a guest: eth0, a veth whose other end
    (``outside``) is in BRIDGE, with the port's MAC."""

    def __init__(self, settings, bridge: str, mac: str, mtu: int = 1500):
        self.name = "h2g-" + secrets.token_hex(4)
        self.outside = "h2v" + secrets.token_hex(4)
        self.mac = mac
        namespaces.create(self.name)
        links.ensure_veth(settings, self.outside, "eth0", self.name, mtu, mac=mac)
        links.plug(bridge, self.outside)

    def configure(self, cidr: str, gateway: str | None = None) -> None:
        namespaces.sync_addresses(self.name, "eth0", [cidr])
        if gateway:
            namespaces.sync_routes(self.name, [("0.0.0.0/0", gateway)])

    def remove(self) -> None:
        namespaces.delete(self.name)
        links.delete_link(self.outside)


@contextlib.contextmanager
def made(*removers):
    """Run the block; then every remover, even when the block failed."""
    try:
        yield
    finally:
        for remove in removers:
            with contextlib.suppress(Exception):
                remove()


# -- a small DHCP client (RFC 2131), so the tests need no dhclient or busybox ----------

DHCP_MAGIC = b"\x63\x82\x53\x63"
DISCOVER, OFFER, REQUEST, ACK = 1, 2, 3, 5


def _dhcp_packet(mac: str, xid: int, kind: int, extra: bytes = b"") -> bytes:
    chaddr = bytes.fromhex(mac.replace(":", "")).ljust(16, b"\0")
    header = struct.pack("!BBBBIHH4s4s4s4s16s192x", 1, 1, 6, 0, xid, 0, 0x8000,
                         bytes(4), bytes(4), bytes(4), bytes(4), chaddr)
    wanted = bytes([1, 3, 6, 15, 26, 121])
    options = bytes([53, 1, kind, 55, len(wanted)]) + wanted + extra + b"\xff"
    return header + DHCP_MAGIC + options


def _parse(packet: bytes) -> tuple[str, dict[int, bytes]]:
    yiaddr = socket.inet_ntoa(packet[16:20])
    options, at = {}, 240
    while at < len(packet) and packet[at] != 255:
        if packet[at] == 0:
            at += 1
            continue
        code, length = packet[at], packet[at + 1]
        options[code] = packet[at + 2:at + 2 + length]
        at += 2 + length
    return yiaddr, options


def dhcp_lease(namespace: str, mac: str, timeout: float = 5.0) -> dict:
    """DISCOVER, OFFER, REQUEST, ACK from inside NAMESPACE (on eth0); what
    the ACK gives: address, mask, router, dns, mtu, routes (classless)."""
    xid = secrets.randbits(32)
    with namespaces.entered(namespace):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", 68))
        sock.settimeout(timeout)

        def exchange(kind: int, extra: bytes, answer: int) -> tuple[str, dict]:
            sock.sendto(_dhcp_packet(mac, xid, kind, extra), ("255.255.255.255", 67))
            while True:
                packet = sock.recv(4096)
                if struct.unpack("!I", packet[4:8])[0] != xid:
                    continue
                yiaddr, options = _parse(packet)
                if options.get(53) == bytes([answer]):
                    return yiaddr, options

        offered, options = exchange(DISCOVER, b"", OFFER)
        address, options = exchange(
            REQUEST, bytes([50, 4]) + socket.inet_aton(offered) + bytes([54, 4]) + options[54],
            ACK)
    return {"address": address,
            "mask": socket.inet_ntoa(options[1]) if 1 in options else None,
            "router": socket.inet_ntoa(options[3]) if 3 in options else None,
            "dns": [socket.inet_ntoa(options[6][at:at + 4])
                    for at in range(0, len(options.get(6, b"")), 4)],
            "mtu": struct.unpack("!H", options[26])[0] if 26 in options else None,
            "domain": options.get(15, b"").decode(),
            "routes": _classless(options.get(121, b""))}


def _classless(data: bytes) -> list[tuple[str, str]]:
    routes, at = [], 0
    while at < len(data):
        width = data[at]
        octets = (width + 7) // 8
        destination = data[at + 1:at + 1 + octets].ljust(4, b"\0")
        hop = data[at + 1 + octets:at + 5 + octets]
        routes.append((f"{socket.inet_ntoa(destination)}/{width}", socket.inet_ntoa(hop)))
        at += 5 + octets
    return routes


# -- the agent -------------------------------------------------------------------------------

@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path)


def dhcp_network(settings) -> tuple[dict, dict]:
    """A network 10.77.0.0/24 (gateway .1) with its DHCP port .2 bound to our host."""
    network = make_network("10.77.0.0/24", "10.77.0.1", mtu=1400)
    port = make_port(network, "10.77.0.2", device_owner="network:dhcp")
    network["dhcp_port"] = {**port, "binding_host_id": settings.host}
    add_host(network, port, "host-10-77-0-2")
    return network, port


@pytest.mark.dataplane
def test_a_guest_leases_its_address_mtu_and_router_and_a_new_port_needs_no_restart(settings):
    agent = DhcpAgent(settings)
    network, dhcp_port = dhcp_network(settings)
    first = make_port(network, "10.77.0.10")
    add_host(network, first, "first")
    bridge = links.bridge_name(network["id"])
    with made(agent.cleanup, lambda: links.delete_link(bridge)):
        assert agent.sync([network]) == {dhcp_port["id"]: ACTIVE}
        namespace = namespace_name(network["id"])
        assert namespaces.holds_alias(namespace, settings.link_alias)
        guest = Guest(settings, bridge, first["mac_address"])
        with made(guest.remove):
            lease = dhcp_lease(guest.name, first["mac_address"])
            assert lease == {"address": "10.77.0.10", "mask": "255.255.255.0",
                             "router": "10.77.0.1", "dns": ["10.77.0.2"], "mtu": 1400,
                             "domain": "openstacklocal", "routes": []}
            files = Files(settings.state_dir / "dhcp" / network["id"])
            pid = dnsmasq.running_pid(files)
            assert pid is not None

            # A second port: the files change, dnsmasq rereads them (same pid).
            second = make_port(network, "10.77.0.11")
            add_host(network, second, "second")
            network["subnets"][0]["host_routes"] = [
                {"destination": "10.99.0.0/16", "nexthop": "10.77.0.254"}]
            assert agent.sync([network])[dhcp_port["id"]].state == "ACTIVE"
            other = Guest(settings, bridge, second["mac_address"])
            with made(other.remove):
                lease = dhcp_lease(other.name, second["mac_address"])
                assert lease["address"] == "10.77.0.11"
                assert lease["routes"] == [("10.99.0.0/16", "10.77.0.254"),
                                           ("0.0.0.0/0", "10.77.0.1")]
            assert dnsmasq.running_pid(files) == pid

            # The first port deleted, its address given to a new port: dnsmasq
            # forgets the old lease (dhcp_release) and offers it to the new MAC,
            # still without a restart.
            network["hosts"] = [h for h in network["hosts"]
                                if h["mac_address"] != first["mac_address"]]
            successor = make_port(network, "10.77.0.10")
            add_host(network, successor, "successor")
            assert agent.sync([network])[dhcp_port["id"]].state == "ACTIVE"
            heir = Guest(settings, bridge, successor["mac_address"])
            with made(heir.remove):
                assert dhcp_lease(heir.name, successor["mac_address"])["address"] == \
                    "10.77.0.10"
            assert dnsmasq.running_pid(files) == pid

            # A MAC the network does not know gets nothing (static leases only).
            stranger = Guest(settings, bridge, random_mac())
            with made(stranger.remove), pytest.raises(socket.timeout):
                dhcp_lease(stranger.name, stranger.mac, timeout=1.5)

        # The network gone: namespace, dnsmasq and files with it.
        assert agent.sync([]) == {}
        assert not namespaces.exists(namespace)
        assert not Path(f"/proc/{pid}").exists() or dnsmasq.running_pid(files) is None
        assert not files.directory.exists()


@pytest.mark.dataplane
def test_no_gateway_means_no_router_and_a_dead_dnsmasq_comes_back(settings):
    agent = DhcpAgent(settings)
    network, dhcp_port = dhcp_network(settings)
    network["subnets"][0].update(gateway_ip=None, dns_nameservers=["10.77.0.53"])
    guest_port = make_port(network, "10.77.0.20")
    add_host(network, guest_port, "quiet")
    bridge = links.bridge_name(network["id"])
    with made(agent.cleanup, lambda: links.delete_link(bridge)):
        agent.sync([network])
        files = Files(settings.state_dir / "dhcp" / network["id"])
        dnsmasq.stop(files)
        assert agent.sync([network])[dhcp_port["id"]].state == "ACTIVE"
        assert dnsmasq.running_pid(files) is not None
        guest = Guest(settings, bridge, guest_port["mac_address"])
        with made(guest.remove):
            lease = dhcp_lease(guest.name, guest_port["mac_address"])
            assert (lease["address"], lease["router"], lease["dns"]) == (
                "10.77.0.20", None, ["10.77.0.53"])


def test_without_dnsmasq_the_port_is_down_with_what_to_install(settings, monkeypatch):
    network, dhcp_port = dhcp_network(settings)
    monkeypatch.setattr(dnsmasq.shutil, "which", lambda name: None)
    status = DhcpAgent(settings).sync([network])[dhcp_port["id"]]
    assert status.state == "DOWN" and "dnsmasq-base" in status.reason


def test_dnsmasq_files_and_command_line():
    network = make_network("10.5.0.0/24", "10.5.0.1", mtu=1450)
    network["subnets"].append({"id": "v6", "cidr": "fd00:5::/64", "ip_version": 6,
                               "gateway_ip": "fd00:5::1", "dns_nameservers": [],
                               "host_routes": [], "ipv6_address_mode": "slaac"})
    port = make_port(network, "10.5.0.7")
    add_host(network, port, "web", extra_dhcp_opts=[
        {"opt_name": "26", "opt_value": "1400", "ip_version": 4}])
    files = Files(Path("/x"))
    argv = dnsmasq.command(network, "ns-abc", files, "example.org.")
    subnet_id = network["subnets"][0]["id"]
    assert f"--dhcp-range=set:subnet-{subnet_id},10.5.0.0,static,255.255.255.0,86400s" in argv
    assert "--dhcp-range=set:subnet-v6,fd00:5::,ra-only,64,86400s" in argv
    assert "--enable-ra" in argv and "--domain=example.org" in argv
    assert dnsmasq.hosts_file(network, "example.org.") == \
        f"{port['mac_address']},set:port-{port['id']},web.example.org,10.5.0.7\n"
    assert dnsmasq.addn_hosts_file(network, "example.org") == "10.5.0.7\tweb.example.org web\n"
    opts = dnsmasq.opts_file(network, ["10.5.0.2"], isolated_metadata=True).splitlines()
    assert opts == [
        f"tag:subnet-{subnet_id},option:router,10.5.0.1",
        f"tag:subnet-{subnet_id},option:dns-server,10.5.0.2",
        # Isolated (no router holds the gateway): metadata through the DHCP port.
        f"tag:subnet-{subnet_id},option:classless-static-route,"
        "169.254.169.254/32,10.5.0.2,0.0.0.0/0,10.5.0.1",
        f"tag:subnet-{subnet_id},option:mtu,1450",
        f"tag:port-{port['id']},option:26,1400"]
    network["subnets"][1]["ipv6_address_mode"] = "dhcpv6-stateful"
    argv = dnsmasq.command(network, "ns-abc", files, "example.org.")
    assert "--dhcp-range=set:subnet-v6,fd00:5::,static,64,86400s" in argv
    assert "--enable-ra" not in argv


# -- DHCP ports in the database --------------------------------------------------------------

def test_every_dhcp_network_gets_one_dhcp_port_and_loses_it_with_its_subnets(api, alice, admin):
    network = alice.create("network", name="private")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.0.0.0/24")
    quiet = alice.create("network", name="no-dhcp")
    alice.create("subnet", network_id=quiet["id"], ip_version=4, cidr="10.1.0.0/24",
                 enable_dhcp=False)
    config = api.cloud.config

    with api.cloud.db.transaction() as session:
        assert dhcp_ports.ensure_dhcp_ports(session, config, HOST) is True
    with api.cloud.db.transaction() as session:
        assert dhcp_ports.ensure_dhcp_ports(session, config, HOST) is False
    ports = admin.get(f"/ports?network_id={network['id']}").json()["ports"]
    (port,) = ports
    assert port["device_owner"] == "network:dhcp"
    assert port["device_id"] == dhcp_ports.device_id(HOST, network["id"])
    assert port["device_id"].startswith("dhcp") and port["device_id"].endswith(network["id"])
    assert port["binding:host_id"] == HOST and port["security_groups"] == []
    assert [ip["subnet_id"] for ip in port["fixed_ips"]] == [subnet["id"]]
    assert admin.get(f"/ports?network_id={quiet['id']}").json()["ports"] == []
    with api.cloud.db.session() as session:
        (document,) = host_state.dhcp_networks(session)
        assert document["dhcp_port"]["id"] == port["id"]
        assert {h["port_id"] for h in document["hosts"]} == {port["id"]}

    # A second DHCP subnet: the port gets an address there too.
    second = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.2.0.0/24")
    with api.cloud.db.transaction() as session:
        assert dhcp_ports.ensure_dhcp_ports(session, config, HOST) is True
    port = admin.get(f"/ports/{port['id']}").json()["port"]
    assert sorted(ip["subnet_id"] for ip in port["fixed_ips"]) == sorted(
        [subnet["id"], second["id"]])

    assert alice.put(f"/subnets/{subnet['id']}",
                     {"subnet": {"enable_dhcp": False}}).status_code == 200
    assert alice.put(f"/subnets/{second['id']}",
                     {"subnet": {"enable_dhcp": False}}).status_code == 200
    with api.cloud.db.transaction() as session:
        assert dhcp_ports.ensure_dhcp_ports(session, config, HOST) is True
    assert admin.get(f"/ports?network_id={network['id']}").json()["ports"] == []
