"""The QEMU driver against real QEMU (TCG), through the compute API.

Each test boots stacklet-tiny (built once per machine from Debian packages,
see tests/compute/test_guest_image.py) and checks what a user sees: the
server's status, the guest's console, its QEMU process and files.  Every
server is deleted at the end, and the test checks that nothing is left.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
import websockets.sync.client
from starlette.testclient import TestClient

from stacklet.app import create_app
from stacklet.compute.driver import accel
from stacklet.compute.guest_image import build_guest
from tests.compute import helpers
from tests.compute.conftest import admin_of
from tests.conftest import Api
from tests.image import helpers as image_helpers

pytestmark = pytest.mark.vm

BOOT_SECONDS = 120
NANO_FLAVOR = "42"   # m1.nano: 128 MiB, 1 GiB disk


@pytest.fixture
def listener():
    """A loopback socket bound before Stacklet starts, so that its address is the
    public URL (the one console URLs name); the console test serves it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


@pytest.fixture
def config_overrides(listener):
    host, port = listener.getsockname()
    return {("compute", "driver"): "qemu", ("compute", "accel"): "tcg",
            ("compute", "shutdown_timeout"): 20.0, ("api", "public_url"): f"http://{host}:{port}"}


@pytest.fixture(autouse=True)
def no_guest_outlives_its_test(stacklet_config):
    """Guests are not Stacklet's children: a test that fails before deleting its
    servers would leave them running, so whatever QEMU runs from the test's data
    dir is killed at its end."""
    yield
    marker = str(stacklet_config.data_dir).encode()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            if b"qemu-system" in cmdline and marker in cmdline:
                os.kill(int(entry), signal.SIGKILL)
        except OSError:
            pass   # it ended meanwhile


@pytest.fixture(scope="session")
def guest():
    return build_guest(progress=lambda line: None)


def upload(api, token: str, path: Path, disk_format: str, **fields) -> str:
    image = image_helpers.create(api, token, name=path.name, disk_format=disk_format,
                                 container_format="bare", **fields)
    response = image_helpers.upload(api, token, image["id"], path.read_bytes())
    assert response.status_code == 204, response.text
    return image["id"]


def console(compute, server_id: str, length: int | None = None) -> str:
    body = {"os-getConsoleOutput": {} if length is None else {"length": length}}
    response = compute.post(f"/servers/{server_id}/action", body)
    assert response.status_code == 200, response.text
    return response.json()["output"]


def wait_for_console(compute, server_id: str, pattern: str, after: int = 0) -> str:
    """The console once ``pattern`` appears in it after character ``after``."""
    deadline = time.monotonic() + BOOT_SECONDS
    while True:
        output = console(compute, server_id)
        if re.search(pattern, output[after:]):
            return output
        assert time.monotonic() < deadline, f"no {pattern!r} on the console:\n{output[-2000:]}"
        time.sleep(0.5)


def act(compute, server_id: str, action: dict, status: str) -> dict:
    response = compute.post(f"/servers/{server_id}/action", action)
    assert response.status_code in (200, 202), response.text
    return helpers.wait_for_status(compute, server_id, status, timeout=BOOT_SECONDS)


def boot(compute, image_id: str, name: str, **fields) -> dict:
    body = {"server": {"name": name, "imageRef": image_id, "flavorRef": NANO_FLAVOR,
                       **fields}}
    response = compute.post("/servers", body)
    assert response.status_code == 202, response.text
    return helpers.wait_for_status(compute, response.json()["server"]["id"], "ACTIVE",
                                   timeout=BOOT_SECONDS)


def delete(compute, cloud, server_id: str) -> None:
    assert compute.delete(f"/servers/{server_id}").status_code == 204
    helpers.wait_for_status(compute, server_id, "DELETED", timeout=BOOT_SECONDS)
    assert helpers.qemu_pids(server_id) == []
    assert not (cloud.config.data_dir / "instances" / server_id).exists()


def test_a_guest_boots_runs_its_lifecycle_and_leaves_nothing(api, admin, cloud, guest):
    image_id = upload(api, admin.token, guest.disk, "raw")
    server = boot(admin, image_id, "lifecycle-vm")
    server_id = server["id"]
    assert len(helpers.qemu_pids(server_id)) == 1
    # The hostname comes from the metadata service, read by the guest at boot.
    wait_for_console(admin, server_id, r"lifecycle-vm login:")
    assert console(admin, server_id, length=1).count("\n") == 0
    # A server with no key and no user data boots without complaints on its
    # console (the metadata service's 404s for them are not errors).
    assert "wget" not in console(admin, server_id)

    act(admin, server_id, {"pause": None}, "PAUSED")
    act(admin, server_id, {"unpause": None}, "ACTIVE")

    # Stop presses the power button: the guest powers itself off, QEMU goes.
    act(admin, server_id, {"os-stop": None}, "SHUTOFF")
    assert helpers.qemu_pids(server_id) == []
    # The console of a stopped server stays readable, as in Nova, and its log
    # keeps within [compute] console_log_kb (1024) however much the guest writes.
    assert "lifecycle-vm login:" in console(admin, server_id)
    log = cloud.config.data_dir / "instances" / server_id / "console.log"
    with open(log, "ab") as chatter:
        chatter.write(b"chatter\n" * 400_000)
    assert console(admin, server_id, length=2) == "chatter\n"
    assert log.stat().st_size <= 1024 * 1024
    mark = len(console(admin, server_id))
    act(admin, server_id, {"os-start": None}, "ACTIVE")
    wait_for_console(admin, server_id, r"lifecycle-vm login:", after=mark)

    # A suspended guest is saved to a file and restored, still running where it was.
    act(admin, server_id, {"suspend": None}, "SUSPENDED")
    assert helpers.qemu_pids(server_id) == []
    act(admin, server_id, {"resume": None}, "ACTIVE")
    assert len(helpers.qemu_pids(server_id)) == 1

    mark = len(console(admin, server_id))
    act(admin, server_id, {"reboot": {"type": "SOFT"}}, "ACTIVE")
    wait_for_console(admin, server_id, r"lifecycle-vm login:", after=mark)
    pid = helpers.qemu_pids(server_id)
    act(admin, server_id, {"reboot": {"type": "HARD"}}, "ACTIVE")
    assert helpers.qemu_pids(server_id) != pid

    diagnostics = admin.get(f"/servers/{server_id}/diagnostics")
    assert diagnostics.status_code == 200, diagnostics.text
    delete(admin, cloud, server_id)


@pytest.mark.parametrize("config_overrides", [{
    ("compute", "driver"): "qemu", ("compute", "accel"): "tcg",
    # Long enough for a slow TCG boot on a busy machine: only a guest that
    # never hears the button (as before) waits it out.
    ("compute", "shutdown_timeout"): 60.0}])
def test_a_guest_stopped_in_its_first_seconds_powers_itself_off(api, admin, cloud, guest):
    """The power button pressed while the guest still boots is not lost: it is
    pressed again until the guest's handler is up, which powers off even
    before init runs (PID 1 is then a shell that poweroff cannot signal)."""
    image_id = upload(api, admin.token, guest.disk, "raw")
    server_id = boot(admin, image_id, "early-stop")["id"]
    started = time.monotonic()
    act(admin, server_id, {"os-stop": None}, "SHUTOFF")
    output = console(admin, server_id)
    # The guest powered itself off: QEMU forced off prints nothing of the kind.
    assert "reboot: Power down" in output, output
    assert time.monotonic() - started < 60
    delete(admin, cloud, server_id)


@contextlib.contextmanager
def serving(app, listener: socket.socket):
    """The app on a real HTTP listener (uvicorn, as `stacklet up` runs it), for
    clients that speak websockets over the network."""
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join()


def remote_console(compute, server_id: str, protocol: str, console_type: str) -> str:
    body = {"remote_console": {"protocol": protocol, "type": console_type}}
    response = compute.post(f"/servers/{server_id}/remote-consoles", body, "2.6")
    assert response.status_code == 200, response.text
    return response.json()["remote_console"]["url"]


def test_the_serial_and_vnc_consoles_open_through_the_urls_of_the_api(api, admin, cloud,
                                                                       guest, listener):
    image_id = upload(api, admin.token, guest.disk, "raw")
    server_id = boot(admin, image_id, "console-vm")["id"]
    prompts = wait_for_console(admin, server_id, r"console-vm login:").count("login:")
    with serving(api.client.app, listener):
        serial_url = remote_console(admin, server_id, "serial", "serial")
        with websockets.sync.client.connect(serial_url, open_timeout=30) as serial:
            serial.send(b"\r")   # getty asks again
            helpers.receive_until(serial, b"console-vm login:")
        # What the guest writes while someone is connected goes to its log too.
        assert console(admin, server_id).count("login:") > prompts

        page_url = remote_console(admin, server_id, "vnc", "novnc")
        with urllib.request.urlopen(page_url, timeout=30) as page:
            assert b"noVNC" in page.read()
        websocket_path = parse_qs(urlsplit(page_url).query)["path"][0]
        with websockets.sync.client.connect(f"ws://{urlsplit(page_url).netloc}/{websocket_path}",
                                            subprotocols=["binary"], open_timeout=30) as vnc:
            assert vnc.subprotocol == "binary"
            assert vnc.recv(timeout=30) == b"RFB 003.008\n"
    delete(admin, cloud, server_id)


def test_a_snapshot_boots_a_second_server(api, admin, cloud, guest):
    image_id = upload(api, admin.token, guest.disk, "raw")
    first = boot(admin, image_id, "original")
    wait_for_console(admin, first["id"], r"original login:")
    response = admin.post(f"/servers/{first['id']}/action", {"createImage": {"name": "snap"}})
    assert response.status_code == 202, response.text
    snapshot_id = response.headers["Location"].rsplit("/", 1)[1]
    helpers.wait_for_status(admin, first["id"], "ACTIVE", timeout=BOOT_SECONDS)
    snapshot = api.client.get(f"/image/v2/images/{snapshot_id}",
                              headers={"X-Auth-Token": admin.token}).json()
    assert (snapshot["status"], snapshot["disk_format"]) == ("active", "qcow2")

    second = boot(admin, snapshot_id, "from-snapshot")
    wait_for_console(admin, second["id"], r"from-snapshot login:")
    delete(admin, cloud, first["id"])
    delete(admin, cloud, second["id"])


def test_a_kernel_and_ramdisk_image_boots_with_its_command_line(api, admin, cloud, guest):
    kernel_id = upload(api, admin.token, guest.kernel, "aki")
    ramdisk_id = upload(api, admin.token, guest.initrd, "ari")
    image_id = upload(api, admin.token, guest.disk, "ami", kernel_id=kernel_id,
                      ramdisk_id=ramdisk_id, os_command_line=guest.cmdline)
    server = boot(admin, image_id, "uec-vm")
    wait_for_console(admin, server["id"], r"uec-vm login:")
    delete(admin, cloud, server["id"])


def test_a_config_drive_gives_the_guest_its_hostname(api, admin, cloud, guest):
    image_id = upload(api, admin.token, guest.disk, "raw")
    server = boot(admin, image_id, "drive-vm", config_drive=True)
    assert (cloud.config.data_dir / "instances" / server["id"] / "disk.config").exists()
    wait_for_console(admin, server["id"], r"drive-vm login:")
    delete(admin, cloud, server["id"])


def test_rescue_boots_the_rescue_image_and_unrescue_the_server_again(api, admin, cloud,
                                                                     guest):
    image_id = upload(api, admin.token, guest.disk, "raw")
    server = boot(admin, image_id, "rescue-vm")
    wait_for_console(admin, server["id"], r"rescue-vm login:")
    act(admin, server["id"], {"rescue": {}}, "RESCUE")
    assert (cloud.config.data_dir / "instances" / server["id"] / "disk.rescue").exists()
    act(admin, server["id"], {"unrescue": None}, "ACTIVE")
    assert not (cloud.config.data_dir / "instances" / server["id"] / "disk.rescue").exists()
    delete(admin, cloud, server["id"])


def test_the_kvm_probe_falls_back_to_tcg_when_a_kernel_cannot_boot(tmp_path):
    """Whatever /dev/kvm says, a test boot that prints nothing means TCG, and the
    answer is remembered for this QEMU and host kernel."""
    not_a_kernel = tmp_path / "vmlinuz"
    not_a_kernel.write_bytes(b"\0" * 4096)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        assert accel.choose_accel("auto", tmp_path, lambda: not_a_kernel) == "tcg"
        return
    assert accel.choose_accel("auto", tmp_path, lambda: not_a_kernel) == "tcg"
    assert '"accel": "tcg"' in (tmp_path / "accel.json").read_text()
    assert accel.choose_accel("kvm", tmp_path, lambda: None) == "kvm"


@pytest.mark.parametrize("config_overrides", [{
    ("compute", "driver"): "qemu", ("compute", "accel"): "tcg",
    ("compute", "resume_guests_state_on_host_boot"): True}])
def test_a_guest_that_died_while_stacklet_was_down_starts_again_when_configured(
        cloud, guest):
    """Nova's resume_guests_state_on_host_boot: an ACTIVE server whose guest is
    gone when Stacklet starts gets a new guest instead of showing SHUTOFF."""
    with TestClient(create_app(cloud), base_url="http://stacklet.test") as client:
        admin = admin_of(Api(client, cloud))
        image_id = upload(admin.api, admin.token, guest.disk, "raw")
        server_id = boot(admin, image_id, "phoenix")["id"]
        [old_pid] = helpers.qemu_pids(server_id)
    os.kill(old_pid, signal.SIGKILL)
    with TestClient(create_app(cloud), base_url="http://stacklet.test") as client:
        admin = admin_of(Api(client, cloud))
        assert admin.get(f"/servers/{server_id}").json()["server"]["status"] == "ACTIVE"
        [new_pid] = helpers.qemu_pids(server_id)
        assert new_pid != old_pid
        delete(admin, cloud, server_id)


def test_an_iso_image_boots_from_a_cd_rom(api, admin, cloud, guest, tmp_path):
    """An installer ISO boots as a CD-ROM (El Torito, isolinux) with a blank root
    disk beside it, as Nova's libvirt driver attaches ISO images."""
    tree = tmp_path / "iso"
    tree.mkdir()
    for source in (Path("/usr/lib/ISOLINUX/isolinux.bin"),
                   Path("/usr/lib/syslinux/modules/bios/ldlinux.c32"),
                   guest.kernel, guest.initrd):
        shutil.copyfile(source, tree / source.name)
    (tree / "isolinux.cfg").write_text(
        f"DEFAULT tiny\nLABEL tiny\n  KERNEL {guest.kernel.name}\n"
        f"  APPEND initrd={guest.initrd.name} {guest.cmdline}\n")
    iso = tmp_path / "installer.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", str(iso), "-b", "isolinux.bin",
                    "-c", "boot.cat", "-no-emul-boot", "-boot-load-size", "4",
                    "-boot-info-table", str(tree)], check=True)
    image_id = upload(api, admin.token, iso, "iso")
    server = boot(admin, image_id, "iso-vm")
    wait_for_console(admin, server["id"], r"iso-vm login:")
    delete(admin, cloud, server["id"])


def test_a_vmdk_image_is_converted_once_and_boots(api, admin, cloud, guest, tmp_path):
    vmdk = tmp_path / "tiny.vmdk"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vmdk", str(guest.disk),
                    str(vmdk)], check=True)
    image_id = upload(api, admin.token, vmdk, "vmdk")
    server = boot(admin, image_id, "vmdk-vm")
    assert (cloud.config.data_dir / "instances" / "_base" / f"{image_id}.qcow2").exists()
    wait_for_console(admin, server["id"], r"vmdk-vm login:")
    delete(admin, cloud, server["id"])
