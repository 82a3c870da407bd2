"""QEMU guests on the network data plane's TAPs, against real QEMU (TCG).

The test plays the network agents (they are not what is tested here): it
makes what the L2 agent would for the server's ports (a bridge, a persistent
TAP ``tap<port_id[:11]>`` per port in it) and, in a namespace plugged into
the bridge by a veth, what the DHCP agent and the metadata service would: a
dnsmasq with a static lease per port, its MTU and a host route to
169.254.169.254, where a plain HTTP server answers the paths stacklet-tiny
reads.  With no L2 agent registered, a bound port is ACTIVE at once, so
compute boots the guest as soon as its ports are bound.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest
from pyroute2 import IPRoute, NetNS, netns

from stacklet.compute.driver import qmp
from stacklet.compute.driver.qemu import runtime_dir
from stacklet.compute.guest_image import build_guest
from stacklet.network.agent.runtime import NetworkRuntime
from tests.compute import helpers
from tests.compute.test_qemu_driver import (
    BOOT_SECONDS,
    NANO_FLAVOR,
    delete,
    no_guest_outlives_its_test,  # noqa: F401 (autouse: no QEMU outlives a test)
    upload,
    wait_for_console,
)
from tests.network.conftest import Network

pytestmark = [pytest.mark.vm, pytest.mark.dataplane]

SUBNET = "10.77.0"          # inside the test's bridge and namespace only
NAMESPACE_ADDRESS = f"{SUBNET}.2"
MTU = 1400
UNPLUG_SECONDS = 30


@pytest.fixture
def config_overrides():
    return {("compute", "driver"): "qemu", ("compute", "accel"): "tcg",
            ("compute", "shutdown_timeout"): 20.0, ("network", "dataplane"): "on",
            ("compute", "vif_plugging_timeout"): 10.0}


@pytest.fixture(autouse=True)
def test_plays_the_network_agents(monkeypatch):
    monkeypatch.setattr(NetworkRuntime, "start", _no_agents)


async def _no_agents(self) -> None:
    pass


@pytest.fixture(scope="session")
def guest():
    return build_guest(progress=lambda line: None)


@pytest.fixture
def network_admin(api, admin) -> Network:
    return Network(api, admin.token, admin.project_id, admin.user_id)


@pytest.fixture
def tenant_network(network_admin) -> dict:
    network = network_admin.create("network", name="taps", mtu=MTU)
    network_admin.create("subnet", network_id=network["id"], ip_version=4,
                         cidr=f"{SUBNET}.0/24", gateway_ip=None,
                         allocation_pools=[{"start": f"{SUBNET}.10", "end": f"{SUBNET}.99"}])
    return network


def new_port(network_admin, network: dict) -> dict:
    return network_admin.create("port", network_id=network["id"])


@pytest.fixture
def host_links():
    """Links made on the host for one test, removed at its end whatever happens."""
    made: list[str] = []
    with IPRoute() as ipr:
        yield ipr, made
        for name in reversed(made):
            for index in ipr.link_lookup(ifname=name):
                ipr.link("del", index=index)


def make_bridge(host_links, network_id: str) -> int:
    ipr, made = host_links
    name = f"brq{network_id[:11]}"
    ipr.link("add", ifname=name, kind="bridge")
    made.append(name)
    [index] = ipr.link_lookup(ifname=name)
    ipr.link("set", index=index, state="up")
    return index


def make_tap(host_links, bridge: int, port_id: str) -> str:
    """A persistent TAP for the port, as the L2 agent makes it (no one has it
    open until QEMU does: no carrier)."""
    ipr, made = host_links
    name = f"tap{port_id[:11]}"
    ipr.link("add", ifname=name, kind="tuntap", mode="tap")
    made.append(name)
    [index] = ipr.link_lookup(ifname=name)
    ipr.link("set", index=index, master=bridge, state="up")
    return name


def carrier(tap: str) -> bool:
    return Path(f"/sys/class/net/{tap}/carrier").read_text().strip() == "1"


@contextlib.contextmanager
def dhcp_namespace(host_links, bridge: int, leases: dict[str, str], metadata: Path,
                   scratch: Path):
    """A namespace on the bridge serving DHCP (a static lease per MAC, the
    network's MTU, a host route to the metadata address through itself) and
    169.254.169.254:80 from the files under ``metadata``."""
    ipr, made = host_links
    suffix = secrets.token_hex(3)
    name, inside, outside = f"stacklet-test-{suffix}", f"ns-{suffix}", f"vt-{suffix}"
    netns.create(name)
    processes: list[subprocess.Popen] = []
    try:
        ipr.link("add", ifname=outside, kind="veth", peer=inside)
        made.append(outside)
        [outside_index] = ipr.link_lookup(ifname=outside)
        ipr.link("set", index=outside_index, master=bridge, state="up")
        ipr.link("set", index=ipr.link_lookup(ifname=inside)[0], net_ns_fd=name)
        with NetNS(name) as ns:
            [index] = ns.link_lookup(ifname=inside)
            ns.addr("add", index=index, address=NAMESPACE_ADDRESS, prefixlen=24)
            ns.addr("add", index=index, address="169.254.169.254", prefixlen=32)
            ns.link("set", index=index, state="up")
            ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
        enter = ["nsenter", f"--net=/run/netns/{name}"]
        processes.append(subprocess.Popen(enter + [
            "/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
            f"--interface={inside}", "--bind-interfaces", "--except-interface=lo",
            f"--dhcp-range={SUBNET}.0,static,255.255.255.0,600",
            f"--dhcp-leasefile={scratch / 'leases'}", f"--pid-file={scratch / 'dnsmasq.pid'}",
            f"--dhcp-option=option:mtu,{MTU}",
            f"--dhcp-option=option:classless-static-route,169.254.169.254/32,"
            f"{NAMESPACE_ADDRESS}",
            *(f"--dhcp-host={mac},{address}" for mac, address in leases.items())]))
        processes.append(subprocess.Popen(enter + [
            "python3", "-m", "http.server", "80", "--bind", "169.254.169.254",
            "--directory", str(metadata)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        yield name
    finally:
        for process in processes:
            process.kill()
            process.wait()
        netns.remove(name)


def ping(namespace: str, address: str, seconds: float = 30) -> float:
    """Seconds until ADDRESS answers an ICMP echo sent from the namespace."""
    started = time.monotonic()
    sock = netns.create_socket(namespace, socket.AF_INET, socket.SOCK_RAW,
                               socket.IPPROTO_ICMP)
    with sock:
        sock.settimeout(0.5)
        while time.monotonic() - started < seconds:
            header = struct.pack("!BBHHH", 8, 0, 0, 0x5354, 1) + b"stacklet"
            sock.sendto(header[:2] + struct.pack("!H", _checksum(header)) + header[4:],
                        (address, 0))
            with contextlib.suppress(TimeoutError):
                while True:
                    reply, (source, _) = sock.recvfrom(1500)
                    if source == address and reply[20] == 0:   # an echo reply
                        return time.monotonic() - started
    raise AssertionError(f"{address} does not answer ping from {namespace}")


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def ssh(namespace: str, key: Path, address: str, command: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        result = subprocess.run(
            ["nsenter", f"--net=/run/netns/{namespace}", "ssh", "-i", str(key),
             "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
             "-o", "LogLevel=ERROR", f"root@{address}", command],
            capture_output=True, text=True, timeout=30)
        if result.returncode == 0 or time.monotonic() > deadline:
            assert result.returncode == 0, result.stderr
            return result.stdout
        time.sleep(0.5)


def guest_nics(namespace: str, key: Path, address: str, until) -> list[str]:
    """The guest's NICs once ``until(nics)`` holds (ACPI hot-plug takes the
    guest a moment)."""
    deadline = time.monotonic() + 20
    while True:
        nics = ssh(namespace, key, address, "ls /sys/class/net").split()
        if until(nics):
            return nics
        assert time.monotonic() < deadline, f"the guest's NICs stayed {nics}"
        time.sleep(0.5)


def pci_ids(cloud, server_id: str) -> set[str]:
    """The ids of the guest's PCI devices, as its QEMU reports them."""
    socket_path = runtime_dir(cloud.config.data_dir) / server_id / "qmp.sock"
    return {device.get("qdev_id", "") for bus in qmp.execute(socket_path, "query-pci")
            for device in bus["devices"]}


def boot(compute, image_id: str, name: str, port_ids: list[str]) -> str:
    response = compute.post("/servers", {"server": {
        "name": name, "imageRef": image_id, "flavorRef": NANO_FLAVOR,
        "networks": [{"port": port_id} for port_id in port_ids]}})
    assert response.status_code == 202, response.text
    return response.json()["server"]["id"]


def test_a_guest_on_taps_gets_its_ports_by_dhcp_and_hot_plugs_another(
        api, admin, network_admin, tenant_network, cloud, guest, host_links, tmp_path):
    ports = [new_port(network_admin, tenant_network) for _ in range(3)]
    bridge = make_bridge(host_links, tenant_network["id"])
    first, second, plugged = (make_tap(host_links, bridge, port["id"]) for port in ports)
    addresses = [port["fixed_ips"][0]["ip_address"] for port in ports]

    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    metadata = tmp_path / "metadata"
    (metadata / "latest/meta-data/public-keys/0").mkdir(parents=True)
    (metadata / "latest/meta-data/hostname").write_text("tap-guest")
    (metadata / "latest/meta-data/public-keys/0/openssh-key").write_text(
        key.with_suffix(".pub").read_text())

    leases = {port["mac_address"]: address for port, address in zip(ports, addresses)}
    with dhcp_namespace(host_links, bridge, leases, metadata, tmp_path) as namespace:
        image_id = upload(api, admin.token, guest.disk, "raw")
        server_id = boot(admin, image_id, "tap-vm", [ports[0]["id"], ports[1]["id"]])
        helpers.wait_for_status(admin, server_id, "ACTIVE", timeout=BOOT_SECONDS)
        assert carrier(first) and carrier(second) and not carrier(plugged)

        # Both NICs got their Neutron addresses by DHCP, and the metadata address
        # was reached through the host route DHCP gave.
        output = wait_for_console(admin, server_id, r"tap-guest login:")
        assert (f"stacklet-tiny: hostname tap-guest, eth0 {addresses[0]}, "
                f"eth1 {addresses[1]}, metadata from http://169.254.169.254") in output, output
        assert f"NICs {ports[0]['mac_address']} on {first}" in output
        for address in addresses[:2]:
            ping(namespace, address)
        answer = ssh(namespace, key, addresses[0], "cd /sys/class/net; cat eth0/address "
                     "eth1/address eth0/mtu; ip route")
        assert answer.splitlines()[:3] == [ports[0]["mac_address"], ports[1]["mac_address"],
                                           str(MTU)]
        # eth0's route to the metadata address wins over eth1's (same subnet here).
        assert f"169.254.169.254 via {NAMESPACE_ADDRESS} dev eth0 \n" in answer

        diagnostics = admin.get(f"/servers/{server_id}/diagnostics", "2.48").json()
        nic = diagnostics["nic_details"][0]
        assert nic["mac_address"] == ports[0]["mac_address"]
        assert nic["rx_packets"] > 0 and nic["tx_packets"] > 0 and nic["rx_octets"] > 0

        # A third port hot-plugged: QEMU opens its tap, the guest has the NIC.
        response = admin.post(f"/servers/{server_id}/os-interface",
                              {"interfaceAttachment": {"port_id": ports[2]["id"]}})
        assert response.status_code == 200, response.text
        assert carrier(plugged)
        assert f"nic-{ports[2]['id'][:11]}" in pci_ids(cloud, server_id)
        guest_nics(namespace, key, addresses[0], until=lambda nics: "eth2" in nics)

        started = time.monotonic()
        response = admin.delete(f"/servers/{server_id}/os-interface/{ports[2]['id']}")
        assert response.status_code == 202, response.text
        assert time.monotonic() - started < UNPLUG_SECONDS
        assert not carrier(plugged)
        assert f"nic-{ports[2]['id'][:11]}" not in pci_ids(cloud, server_id)
        guest_nics(namespace, key, addresses[0], until=lambda nics: "eth2" not in nics)
        delete(admin, cloud, server_id)


def test_a_port_without_its_tap_fails_the_boot_naming_the_port(
        api, admin, network_admin, tenant_network, cloud, guest, host_links):
    port = new_port(network_admin, tenant_network)
    image_id = upload(api, admin.token, guest.disk, "raw")
    server_id = boot(admin, image_id, "unwired-vm", [port["id"]])
    server = helpers.wait_for_status(admin, server_id, "ERROR", timeout=BOOT_SECONDS)
    assert (f"port {port['id']} is not wired on this host: is the network agent running?"
            in server["fault"]["message"])
    assert helpers.qemu_pids(server_id) == []
    delete(admin, cloud, server_id)
