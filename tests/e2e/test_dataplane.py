"""The network data plane, end to end: `stacklet up` as root with its agents,
two projects driving the real `openstack` CLI, real QEMU guests of
stacklet-tiny on TAP devices, and `ssh` from the host over floating IPs.

Both projects use 10.0.0.0/24 behind a router of their own.  What a user
would check by hand is checked here: guests of a project reach each other and
their gateway, nothing crosses to the other project, a floating IP answers
SSH only while a security group rule allows it, the DHCP lease carries the
Neutron address and the network's MTU, the metadata service knows the guest,
a guest forging its IP or MAC gets nothing through, and a restart of
Stacklet neither interrupts the guests' traffic nor stops later changes from
applying.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import OpenStackCLI, StackletServer, create_member, write_clouds_yaml

pytestmark = [pytest.mark.e2e, pytest.mark.dataplane]

BOOT_SECONDS = 180
VXLAN_MTU = 1450
# Each project's guests, by name, with their fixed addresses: the same subnet
# in both projects, different hosts in it, so that reaching "the other
# project's address" is a question the network answers, not ARP.
GUESTS = {"alpha": {"a1": "10.0.0.10", "a2": "10.0.0.11"},
          "beta": {"b1": "10.0.0.20", "b2": "10.0.0.21"}}


class Guest:
    """One guest reached by SSH over its floating IP, from this host."""

    def __init__(self, name: str, fixed_ip: str, floating_ip: str, key: Path):
        self.name, self.fixed_ip, self.floating_ip, self.key = name, fixed_ip, floating_ip, key

    def ssh(self, command: str, *, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
             "-o", "ConnectTimeout=5", f"root@{self.floating_ip}", command],
            capture_output=True, text=True, timeout=timeout)

    def run(self, command: str, *, seconds: float = BOOT_SECONDS) -> str:
        """COMMAND's output, retrying SSH until the guest's SSH server answers."""
        deadline = time.monotonic() + seconds
        while True:
            result = self.ssh(command)
            if result.returncode == 0:
                return result.stdout
            assert time.monotonic() < deadline, (
                f"`{command}` on {self.name} ({self.floating_ip}): {result.stderr}")
            time.sleep(2)

    def succeeds(self, command: str) -> bool:
        """Whether COMMAND exits 0 in the guest (SSH itself must work)."""
        result = self.ssh(command)
        assert result.returncode in (0, 1), f"ssh to {self.name}: {result.stderr}"
        return result.returncode == 0

    def can_ssh(self) -> bool:
        return self.ssh("true", timeout=20).returncode == 0

    def echo_requests_received(self) -> int:
        """ICMP echo requests the guest's kernel has received so far."""
        lines = [line.split() for line in self.run("cat /proc/net/snmp").splitlines()
                 if line.startswith("Icmp:")]
        return int(lines[1][lines[0].index("InEchos")])


def ping(guest: Guest, address: str, *, source: str = "") -> bool:
    option = f"-I {source} " if source else ""
    return guest.succeeds(f"ping -c 2 -W 2 {option}{address} >/dev/null")


def tcp_connects(guest: Guest, address: str, port: int) -> bool:
    return guest.succeeds(f"timeout 5 nc {address} {port} </dev/null >/dev/null")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """A cloud with the data plane, its own external bridge and public CIDR
    (nothing clashes with another cloud on this machine), and two projects,
    each with a network, a router, two guests and a floating IP per guest."""
    tmp = tmp_path_factory.mktemp("dataplane")
    data_dir = tmp / "data"
    data_dir.mkdir(mode=0o700)
    suffix = secrets.token_hex(2)
    (data_dir / "stacklet.conf").write_text(
        "[network]\n"
        f"bridge_mappings = public:brx-{suffix}\n"
        # Nothing the guests send leaves this machine.
        "external_masquerade = false\n")
    public_cidr = f"172.31.{int(suffix, 16) % 200 + 20}.0/24"
    server = StackletServer(data_dir, first_run=True, dataplane=True,
                            up_args=("--public-cidr", public_cidr))
    server.start()
    try:
        admin = OpenStackCLI(server.clouds_yaml)
        server.wait_for_output("first run: image stacklet-tiny ready")
        key = tmp / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True)
        clouds = yaml.safe_load(server.clouds_yaml.read_text())["clouds"]
        for project in GUESTS:
            clouds[project] = create_member(admin, server, project, f"{project}-user",
                                            "secret-" + project)["cloud"]
        clouds_yaml = write_clouds_yaml(tmp / "clouds.yaml", clouds)
        clis = {project: OpenStackCLI(clouds_yaml, project) for project in GUESTS}
        guests = {}
        for project, cli in clis.items():
            guests.update(_project_with_guests(cli, project, key))
        yield server, clis, guests
    finally:
        # Guests outlive `stacklet up` (as Nova's outlive nova-compute): they go
        # with the test, then everything the agents built.
        server.stop()
        for pidfile in (data_dir / "instances").glob("*/qemu.pid"):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text()), signal.SIGTERM)
        server.stacklet("cleanup")


def _project_with_guests(cli: OpenStackCLI, project: str, key: Path) -> dict[str, Guest]:
    cli.run("keypair", "create", "--public-key", f"{key}.pub", "key")
    cli.run("network", "create", "net")
    cli.run("subnet", "create", "--network", "net", "--subnet-range", "10.0.0.0/24", "sub")
    cli.run("router", "create", "router")
    cli.run("router", "set", "--external-gateway", "public", "router")
    cli.run("router", "add", "subnet", "router", "sub")
    cli.run("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
            "default")
    for name, address in GUESTS[project].items():
        cli.run("server", "create", "--image", "stacklet-tiny", "--flavor", "m1.nano",
                "--key-name", "key", "--nic", f"net-id=net,v4-fixed-ip={address}", name)
    guests = {}
    for name, address in GUESTS[project].items():
        wait_for_status(cli, name, "ACTIVE")
        floating = cli.json("floating", "ip", "create", "public")["floating_ip_address"]
        cli.run("server", "add", "floating", "ip", name, floating)
        guests[name] = Guest(name, address, floating, key)
    return guests


def wait_for_status(cli: OpenStackCLI, name: str, status: str) -> None:
    deadline = time.monotonic() + BOOT_SECONDS
    while (shown := cli.json("server", "show", name))["status"] != status:
        assert shown["status"] != "ERROR", f"{name}: {shown.get('fault')}"
        assert time.monotonic() < deadline, f"{name} never became {status}"
        time.sleep(1)


def ssh_rule(cli: OpenStackCLI) -> str | None:
    for rule in cli.json("security", "group", "rule", "list", "default", "--long"):
        if rule["IP Protocol"] == "tcp" and rule["Port Range"] == "22:22":
            return rule["ID"]
    return None


def wait_until(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_guests_of_a_project_talk_and_nothing_crosses(cloud):
    _server, _clis, guests = cloud
    a1, a2, b1, b2 = guests["a1"], guests["a2"], guests["b1"], guests["b2"]
    # The DHCP lease: the Neutron address, and the VXLAN network's MTU.
    assert re.search(r"inet 10\.0\.0\.10/24", a1.run("ip -4 addr show eth0"))
    assert a1.run("cat /sys/class/net/eth0/mtu").strip() == str(VXLAN_MTU)
    # The metadata service, through the router, knows who asks.
    assert a1.run("wget -q -O - http://169.254.169.254/latest/meta-data/hostname"
                  ).startswith("a1")
    assert b2.run("wget -q -O - http://169.254.169.254/openstack/latest/meta_data.json"
                  ).count('"name": "b2"') == 1
    # A project's guests reach each other and their gateway...
    assert ping(a1, a2.fixed_ip) and ping(a1, "10.0.0.1")
    assert ping(b1, b2.fixed_ip) and ping(b1, "10.0.0.1")
    # ... and nothing of the other project, which uses the same subnet.
    for guest, other in ((a1, b1), (b2, a2)):
        assert not ping(guest, other.fixed_ip)
        assert not tcp_connects(guest, other.fixed_ip, 22)


def test_a_guest_forging_its_address_gets_nothing_through(cloud):
    _server, _clis, guests = cloud
    a1, a2 = guests["a1"], guests["a2"]
    received = a1.echo_requests_received()
    # Another IP on its NIC, then another MAC: a1 hears none of those pings.
    a2.run("ip addr add 10.0.0.99/24 dev eth0; ping -c 3 -W 1 -I 10.0.0.99 10.0.0.10; "
           "ip addr del 10.0.0.99/24 dev eth0; true")
    mac = a2.run("cat /sys/class/net/eth0/address").strip()
    a2.run(f"ip link set eth0 address fa:16:3e:99:99:99; ping -c 3 -W 1 10.0.0.10; "
           f"ip link set eth0 address {mac}; true")
    assert a1.echo_requests_received() == received
    # Its own address and MAC get through.
    assert ping(a2, a1.fixed_ip)
    assert a1.echo_requests_received() >= received + 2


def test_ssh_over_a_floating_ip_follows_the_security_group(cloud):
    _server, clis, guests = cloud
    alpha, a1 = clis["alpha"], guests["a1"]
    assert a1.can_ssh()
    alpha.run("security", "group", "rule", "delete", ssh_rule(alpha))
    assert wait_until(lambda: not a1.can_ssh()), "SSH still answers without the rule"
    alpha.run("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
              "default")
    assert wait_until(a1.can_ssh), "SSH does not answer with the rule back"


def test_guests_keep_talking_through_a_restart(cloud):
    server, clis, guests = cloud
    alpha, a1, a2 = clis["alpha"], guests["a1"], guests["a2"]
    # 20 s of pings from a1 to a2, with Stacklet stopped and started meanwhile.
    a1.run("ping -i 0.2 -c 100 10.0.0.11 </dev/null >/tmp/ping.log 2>&1 &")
    server.stop()
    server.start()
    assert a1.run("sleep 22; cat /tmp/ping.log").count(" bytes from 10.0.0.11") >= 98
    # After the restart the agents still apply changes.
    alpha.run("security", "group", "rule", "delete", ssh_rule(alpha))
    assert wait_until(lambda: not a1.can_ssh(), seconds=30)
    alpha.run("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
              "default")
    assert wait_until(a1.can_ssh, seconds=30)
    assert ping(a1, a2.fixed_ip)
