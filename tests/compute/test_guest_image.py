"""stacklet-tiny boots under real QEMU (TCG) the way the QEMU driver wires a
guest: slirp NIC on 169.254.0.0/16, metadata behind a guestfwd, SSH through a
hostfwd, the config drive as the last virtio disk, QMP for the power button."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stacklet.compute.guest_image import build_guest, default_cache_dir

pytestmark = pytest.mark.vm

BOOT_TIMEOUT = 60
POWERDOWN_TIMEOUT = 20
SLIRP = ("user,id=net0,net=169.254.0.0/16,host=169.254.0.2,dns=169.254.0.3,"
         "dhcpstart=169.254.0.15,restrict=on")


@pytest.fixture(scope="module")
def guest():
    for tool in ("qemu-system-x86_64", "socat", "ssh", "xorriso"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: the VM tests need the packages of "
                        "scripts/lib.sh ensure_vm_packages (qemu-system-x86, socat, "
                        "openssh-client, xorriso, ...)")
    return build_guest(default_cache_dir(), progress=lambda message: None)


@pytest.fixture
def ssh_key(tmp_path):
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


class MetadataStandIn:
    """A plain HTTP server answering the EC2 paths stacklet-tiny reads."""

    def __init__(self, documents: dict[str, bytes]):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = documents.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def metadata_service(ssh_key):
    """Metadata as Nova's EC2 tree gives it: hostname, key and a user-data script."""
    documents = {
        "/latest/meta-data/hostname": b"tiny-one",
        "/latest/meta-data/public-keys/0/openssh-key": ssh_key.with_suffix(".pub").read_bytes(),
        "/latest/user-data": b"#!/bin/sh\necho \"user data ran on $(hostname)\"\n"
                             b"touch /run/user-data-ran\n",
    }
    service = MetadataStandIn(documents)
    yield service
    service.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Guest:
    """One QEMU process; killed at the end of the test if still running."""

    def __init__(self, qemu_args: list[str]):
        # A unix socket path must stay under 108 bytes: a short dir of its own.
        self.directory = Path(tempfile.mkdtemp(prefix="stacklet-vm-"))
        self.console = self.directory / "console.log"
        self.qmp = self.directory / "qmp.sock"
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            ["qemu-system-x86_64", "-machine", "pc,accel=tcg", "-m", "256",
             "-nodefaults", "-no-user-config", "-display", "none",
             "-serial", f"file:{self.console}",
             "-qmp", f"unix:{self.qmp},server=on,wait=off", *qemu_args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def console_text(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def wait_for_console(self, text: str, timeout: float = BOOT_TIMEOUT) -> float:
        """Seconds since QEMU started when TEXT appeared on the serial console."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if text in self.console_text():
                return time.monotonic() - self.started
            if self.process.poll() is not None:
                pytest.fail(f"QEMU exited with {self.process.returncode}: "
                            f"{self.process.stdout.read().decode()}\n{self.console_text()}")
            time.sleep(0.1)
        pytest.fail(f"{text!r} not on the console within {timeout}s:\n{self.console_text()}")

    def qmp_command(self, command: str) -> dict:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.qmp))
            replies = sock.makefile("r")
            json.loads(replies.readline())  # the greeting
            for execute in ("qmp_capabilities", command):
                sock.sendall(json.dumps({"execute": execute}).encode() + b"\n")
                while "return" not in (reply := json.loads(replies.readline())):
                    assert "error" not in reply, reply
            return reply

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def boot():
    guests = []

    def start(*qemu_args: str) -> Guest:
        guests.append(Guest(list(qemu_args)))
        return guests[-1]

    yield start
    for guest in guests:
        guest.close()


def nic_args(metadata_port: int, ssh_port: int) -> list[str]:
    forwards = (f",hostfwd=tcp:127.0.0.1:{ssh_port}-:22,guestfwd=tcp:169.254.169.254:80"
                f"-cmd:socat - TCP:127.0.0.1:{metadata_port}")
    return ["-netdev", SLIRP + forwards, "-device", "virtio-net-pci,netdev=net0"]


def ssh(key: Path, port: int, command: str, timeout: float = 30) -> str:
    """COMMAND's output over SSH as root, retrying while dropbear starts."""
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(
            ["ssh", "-i", str(key), "-p", str(port), "-o", "BatchMode=yes",
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", "root@127.0.0.1", command],
            capture_output=True, text=True, timeout=30)
        if result.returncode == 0 or time.monotonic() > deadline:
            assert result.returncode == 0, result.stderr
            return result.stdout
        time.sleep(0.5)


def power_down(guest: Guest) -> float:
    started = time.monotonic()
    guest.qmp_command("system_powerdown")
    try:
        guest.process.wait(timeout=POWERDOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the guest ignored the power button for {POWERDOWN_TIMEOUT}s:\n"
                    f"{guest.console_text()}")
    return time.monotonic() - started


def test_disk_boots_with_metadata_service_ssh_and_power_button(
        guest, boot, metadata_service, ssh_key):
    ssh_port = free_port()
    vm = boot("-drive", f"file={guest.disk},if=virtio,format=raw,snapshot=on",
              *nic_args(metadata_service.port, ssh_port))

    seconds = vm.wait_for_console("tiny-one login:")
    print(f"stacklet-tiny: login prompt {seconds:.1f}s after QEMU started (disk boot)")
    console = vm.console_text()
    assert "stacklet-tiny: hostname tiny-one, eth0 169.254.0.15" in console
    assert "user data ran on tiny-one" in console

    answer = ssh(ssh_key, ssh_port, "hostname; ls /run/user-data-ran; ip route")
    assert answer.splitlines()[:2] == ["tiny-one", "/run/user-data-ran"]
    # slirp's restrict=on leaves the router and DNS out of its DHCP offer: the
    # metadata address is reached on the link.
    assert "169.254.0.0/16 dev eth0" in answer

    assert power_down(vm) < POWERDOWN_TIMEOUT
    assert vm.process.returncode == 0


def test_kernel_and_ramdisk_boot(guest, boot, metadata_service, ssh_key):
    ssh_port = free_port()
    vm = boot("-kernel", str(guest.kernel), "-initrd", str(guest.initrd),
              "-append", guest.cmdline, *nic_args(metadata_service.port, ssh_port))

    seconds = vm.wait_for_console("tiny-one login:")
    print(f"stacklet-tiny: login prompt {seconds:.1f}s after QEMU started (kernel boot)")
    assert ssh(ssh_key, ssh_port, "cat /proc/cmdline").strip() == guest.cmdline


def test_config_drive_without_network(guest, boot, ssh_key, tmp_path):
    drive = tmp_path / "drive"
    (drive / "openstack/latest").mkdir(parents=True)
    meta_data = {"uuid": "5d0b4a51-5cbe-4f3d-8a5f-5a3fe6b4a0c1", "name": "tiny two",
                 "hostname": "tiny-two",
                 "public_keys": {"mykey": ssh_key.with_suffix(".pub").read_text()},
                 "meta": {"role": "test"}}
    (drive / "openstack/latest/meta_data.json").write_text(json.dumps(meta_data))
    (drive / "openstack/latest/user_data").write_text("#!/bin/sh\necho config drive user data\n"
                                                      "cat /root/.ssh/authorized_keys\n")
    iso = tmp_path / "config.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "config-2", "-J", "-R",
                    "-o", str(iso), str(drive)], check=True, capture_output=True)

    vm = boot("-drive", f"file={guest.disk},if=virtio,format=raw,snapshot=on",
              "-drive", f"file={iso},if=virtio,format=raw,readonly=on", "-nic", "none")

    vm.wait_for_console("tiny-two login:")
    console = vm.console_text()
    assert "stacklet-tiny: hostname tiny-two, eth0 none, metadata from config drive" in console
    assert "config drive user data" in console
    # The key reached authorized_keys whole (the user data printed it).
    assert ssh_key.with_suffix(".pub").read_text().strip() in console
    assert power_down(vm) < POWERDOWN_TIMEOUT
