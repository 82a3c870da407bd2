"""Real virtual machines, end to end: `stacklet up` on an empty data dir with
the QEMU driver (its default where QEMU is installed), which makes DevStack's
networks and the stacklet-tiny image by itself, and a new user's session with
the real `openstack` CLI, `ssh` and a websocket client, with nothing prepared."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import websockets.sync.client

from tests.compute.helpers import qemu_pids, receive_until
from tests.e2e.conftest import OpenStackCLI, StackletServer

pytestmark = pytest.mark.e2e

BOOT_SECONDS = 120
SSH_PORT = re.compile(r"SSH from this host at 127\.0\.0\.1:(\d+)")


def wait_for_console(cli: OpenStackCLI, name: str, text: str) -> str:
    deadline = time.monotonic() + BOOT_SECONDS
    while True:
        log = cli.run("console", "log", "show", "--lines", "40", name).stdout
        if text in log:
            return log
        assert time.monotonic() < deadline, f"{text!r} not on {name}'s console:\n{log}"
        time.sleep(1)


def ssh(key: Path, console_log: str, command: str) -> str:
    """Run COMMAND in the guest through its forwarded SSH port, retrying while
    its SSH server starts."""
    port = SSH_PORT.findall(console_log)[-1]
    deadline = time.monotonic() + 60
    while True:
        result = subprocess.run(
            ["ssh", "-i", str(key), "-p", port, "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
             "-o", "ConnectTimeout=10", "root@127.0.0.1", command],
            capture_output=True, text=True, timeout=60)
        if result.returncode == 0:
            return result.stdout
        assert time.monotonic() < deadline, result.stderr
        time.sleep(2)


@pytest.fixture
def server(tmp_path: Path):
    """A new cloud as `stacklet up` makes it, first run included."""
    stacklet = StackletServer(tmp_path / "data", first_run=True)
    stacklet.start()
    yield stacklet
    stacklet.stop()


def test_a_new_users_session_with_real_guests(server: StackletServer, tmp_path: Path):
    cli = OpenStackCLI(server.clouds_yaml)
    # Without any admin step: the public network is there for a router...
    assert "first run: network public (172.24.4.0/24, external, flat)" in \
        server.wait_for_output("first run: network private (10.0.0.0/26) and router1 to public")
    cli.run("router", "create", "r1")
    cli.run("router", "set", "--external-gateway", "public", "r1")
    assert cli.json("router", "show", "r1")["external_gateway_info"]["network_id"] == \
        cli.json("network", "show", "public")["id"]
    # ... and the image, built while the APIs already answered.
    output = server.wait_for_output("first run: image stacklet-tiny ready")
    image_id = re.search(r"image stacklet-tiny ready \(([0-9a-f-]+)\)", output)[1]
    # `stacklet image build` finds the same build there and adds nothing.
    built = server.stacklet("image", "build")
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip() == image_id
    assert cli.json("hypervisor", "list")[0]["Hypervisor Type"] in ("QEMU", "KVM")
    status = server.stacklet("status").stdout
    assert re.search(r" up \(QEMU(, TCG emulation| with KVM)\) ", status), status

    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    cli.run("keypair", "create", "--public-key", f"{key}.pub", "mykey")
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho user-data-ran-$(hostname)\n")

    vm1 = cli.json("server", "create", "--image", "stacklet-tiny", "--flavor", "m1.nano",
                   "--key-name", "mykey", "--network", "private", "--user-data", str(script),
                   "--wait", "vm1")
    assert vm1["status"] == "ACTIVE"
    (address,) = vm1["addresses"]["private"]
    assert re.fullmatch(r"10\.0\.0\.\d+", address), vm1["addresses"]
    # The hostname and the script came from the metadata service.
    log = wait_for_console(cli, "vm1", "vm1 login:")
    assert "user-data-ran-vm1" in log
    assert ssh(key, log, "hostname").strip() == "vm1"
    # Its remote consoles: the serial one in a websocket client, noVNC's page.
    serial_url = cli.json("console", "url", "show", "--serial", "vm1")["url"]
    with websockets.sync.client.connect(serial_url, open_timeout=30) as serial:
        serial.send(b"\r")   # getty asks again
        receive_until(serial, b"vm1 login:")
    with urllib.request.urlopen(cli.json("console", "url", "show", "vm1")["url"],
                                timeout=30) as novnc:
        assert b"noVNC" in novnc.read()

    cli.run("server", "stop", "vm1")
    wait_for_status(cli, "vm1", "SHUTOFF")
    assert qemu_pids(vm1["id"]) == []
    cli.run("server", "start", "vm1")
    wait_for_status(cli, "vm1", "ACTIVE")
    cli.run("server", "reboot", "--wait", "vm1")
    assert len(qemu_pids(vm1["id"])) == 1

    cli.run("server", "image", "create", "--name", "snap1", "--wait", "vm1")
    assert cli.json("image", "show", "snap1")["status"] == "active"
    vm2 = cli.json("server", "create", "--image", "snap1", "--flavor", "m1.nano",
                   "--key-name", "mykey", "--network", "private", "--wait", "vm2")
    assert vm2["status"] == "ACTIVE"
    wait_for_console(cli, "vm2", "vm2 login:")

    # Stacklet restarts; the guests go on running and are adopted again,
    # but for vm2, whose QEMU dies while Stacklet is down: it shows SHUTOFF.
    pids = qemu_pids(vm1["id"])
    server.stop()
    assert qemu_pids(vm1["id"]) == pids
    for pid in qemu_pids(vm2["id"]):
        os.kill(pid, signal.SIGKILL)
    server.start()
    assert cli.json("server", "show", "vm1")["status"] == "ACTIVE"
    assert qemu_pids(vm1["id"]) == pids
    assert cli.json("server", "show", "vm2")["status"] == "SHUTOFF"
    log = wait_for_console(cli, "vm1", "vm1 login:")
    assert ssh(key, log, "echo still-here").strip() == "still-here"
    # ... including the metadata service, which the guest can still reach.
    assert "vm1" in ssh(key, log, "wget -q -O - http://169.254.169.254/latest/meta-data/hostname")

    cli.run("server", "delete", "--wait", "vm1", "vm2")
    assert qemu_pids(vm1["id"]) == [] and qemu_pids(vm2["id"]) == []
    instances = server.data_dir / "instances"
    assert not (instances / vm1["id"]).exists() and not (instances / vm2["id"]).exists()


def wait_for_status(cli: OpenStackCLI, name: str, status: str) -> None:
    deadline = time.monotonic() + BOOT_SECONDS
    while cli.json("server", "show", name)["status"] != status:
        assert time.monotonic() < deadline, f"{name} never became {status}"
        time.sleep(1)
