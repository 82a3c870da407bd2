"""The QEMU driver: one QEMU process per server, driven over QMP.

As Incus drives QEMU: each guest's QEMU is started paused, daemonized, with a
QMP socket and a pid file, then told to ``cont``; every later step (power
button, pause, save, NMI, status) is a monitor command.  QEMU processes are
not Stacklet's children: stopping Stacklet leaves them running, and on start
the agent finds them again through their pid files and sockets.

A guest's files live in ``DIR/instances/<id>/``: ``guest.json`` (how to start
it), ``disk`` (a qcow2 overlay on the cached image), ``disk.eph0``,
``disk.swap``, ``disk.config`` (the config drive), ``disk.rescue``,
``console.log``, ``qemu.pid`` and ``state.save`` (a suspended guest's
memory).  Its sockets live in a short runtime directory (a unix socket path
must stay under 108 bytes): ``qmp.sock``, ``metadata.sock``, and the two remote
consoles: ``serial.sock`` (the serial port, whose output QEMU also appends to
``console.log``) and ``vnc.sock`` (the VGA screen over RFB).  No console
listens on a TCP port: Stacklet's console proxy is the only way in.

Where the host runs the network data plane, a guest has one virtio-net NIC
per port, each on the TAP the L2 agent made for it (``tap<port_id[:11]>``,
in the network's bridge): DHCP, routing and metadata come from the network,
and os-interface attach/detach hot-plugs NICs over QMP.  Where it does not
(Stacklet not root, tools missing, ``[network] dataplane = off``), a guest's
one NIC is QEMU user networking (slirp) restricted to the guest: DHCP gives
it 169.254.0.15, 169.254.169.254:80 reaches the metadata service through a
socket that only this guest's QEMU connects to (so the socket names the
asker), and a port on the host's loopback forwards to its SSH server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from qemu.qmp import ExecuteError

from stacklet.common.private_files import NotPrivate, private_dir
from stacklet.compute import states
from stacklet.compute.driver import (
    QEMU_BINARY,
    DriverError,
    GuestSpec,
    GuestState,
    HostResources,
    NotSupported,
    disks,
    qemu_installed,
    qmp,
    tail_lines,
)
from stacklet.compute.driver.accel import choose_accel, qemu_version
from stacklet.compute.driver.accel import default_cache_dir as accel_cache_dir
from stacklet.network.agent.settings import dataplane_wanted
from stacklet.network.driver.links import tap_name
from stacklet.running import runtime_base

LOG = logging.getLogger(__name__)

# The guest side of the interim NIC (see the module docstring).
GUEST_NETWORK = "169.254.0.0/16"
GUEST_GATEWAY = "169.254.0.2"
GUEST_DNS = "169.254.0.3"
GUEST_ADDRESS = "169.254.0.15"
METADATA_ADDRESS = "169.254.169.254"
# Nova's kernel command line for kernel/ramdisk images without os_command_line.
DEFAULT_KERNEL_CMDLINE = "root=/dev/vda console=tty0 console=ttyS0"
# Nova's per-NIC diagnostics, each as rx_ and tx_.
NIC_FIGURES = ("octets", "errors", "drop", "packets", "rate")
# A tap's counters, as (Nova's figure, the kernel's statistics file).
TAP_FIGURES = (("octets", "bytes"), ("packets", "packets"), ("errors", "errors"),
               ("drop", "dropped"))
QUIT_SECONDS = 10.0
# How long a guest has to release a NIC being unplugged (ACPI hot-unplug).
UNPLUG_SECONDS = 20.0
SAVE_SECONDS = 120.0
# QMP run states, as Nova's power states.
RUN_STATES = {"running": states.RUNNING, "paused": states.PAUSED_POWER,
              "suspended": states.SUSPENDED_POWER, "shutdown": states.SHUTDOWN,
              "internal-error": states.CRASHED, "guest-panicked": states.CRASHED,
              "io-error": states.PAUSED_POWER, "postmigrate": states.SUSPENDED_POWER}


def runtime_dir(data_dir: Path) -> Path:
    """A short directory for this data dir's sockets, one per data dir, that only
    this user can enter (refused when another user made it first in /tmp)."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return private_dir(private_dir(runtime_base()) / digest)


@dataclasses.dataclass
class GuestRecord:
    """How to start a guest again: written at spawn, changed by rebuild, resize,
    and rescue, read at every (re)start."""

    spec: dict
    mac: str                   # of the user-networking NIC, fixed for the guest's life
    ssh_port: int              # (user networking) the host's loopback port to its SSH
    rescue_image_id: str | None = None

    @property
    def guest_spec(self) -> GuestSpec:
        return GuestSpec(**self.spec)


class GuestFiles:
    def __init__(self, instances_dir: Path, sockets_dir: Path, instance_id: str):
        self.dir = instances_dir / instance_id
        self.sockets = sockets_dir / instance_id
        self.record = self.dir / "guest.json"
        self.root = self.dir / "disk"
        self.ephemeral = self.dir / "disk.eph0"
        self.swap = self.dir / "disk.swap"
        self.config_drive = self.dir / "disk.config"
        self.rescue = self.dir / "disk.rescue"
        self.console = self.dir / "console.log"
        self.pidfile = self.dir / "qemu.pid"
        self.saved_state = self.dir / "state.save"
        self.qmp = self.sockets / "qmp.sock"
        self.metadata = self.sockets / "metadata.sock"
        self.serial = self.sockets / "serial.sock"
        self.vnc = self.sockets / "vnc.sock"


class QemuDriver:
    name = "qemu"
    consoles = ("serial", "vnc")

    def __init__(self, host: str, cloud, metadata=None, probe_kernel=None):
        """``metadata`` serves each guest's metadata socket (listen/close);
        ``probe_kernel`` gives a kernel to test KVM with (None: no test boot)."""
        self.host = host
        self.cloud = cloud
        self.metadata = metadata
        data_dir = cloud.config.data_dir
        self.instances_dir = data_dir / "instances"
        try:
            self.sockets_dir = runtime_dir(data_dir)
        except NotPrivate as exc:
            raise DriverError(f"the guests' socket directory is not private: {exc}") from None
        self.images = disks.ImageCache(cloud.db, cloud.image_store, self.instances_dir / "_base")
        if not qemu_installed():
            raise DriverError(f"{QEMU_BINARY} is not installed (Debian package "
                              "qemu-system-x86): install it, or use the fake driver")
        _, self.version_number = qemu_version()
        self.accel = choose_accel(cloud.config.get("compute", "accel"),
                                  accel_cache_dir(),
                                  probe_kernel or (lambda: None))
        self.shutdown_timeout = cloud.config.get("compute", "shutdown_timeout")
        self.console_limit = cloud.config.get("compute", "console_log_kb") * 1024
        self.tap_networking, reason = dataplane_wanted(cloud.config)
        if not self.tap_networking:
            LOG.info("guests get QEMU user networking (no network data plane: %s)", reason)
        self.vhost = _vhost_net_works()
        # Guests outlive Stacklet: the ones found here (after a restart) get their
        # metadata sockets served again, whatever their state.
        for instance_id in self._guest_ids():
            self._serve_metadata(instance_id, self._files(instance_id))

    # -- the host -------------------------------------------------------------------------

    def host_resources(self) -> HostResources:
        with open("/proc/meminfo") as meminfo:
            total_kb = next(int(line.split()[1]) for line in meminfo
                            if line.startswith("MemTotal:"))
        self.instances_dir.mkdir(parents=True, exist_ok=True)
        disk = shutil.disk_usage(self.instances_dir)
        # As the hypervisor types of Nova's libvirt driver (virt_type qemu or kvm).
        hypervisor_type = "KVM" if self.accel == "kvm" else "QEMU"
        return HostResources(hypervisor_type=hypervisor_type,
                             hypervisor_version=self.version_number,
                             vcpus=os.cpu_count() or 1, memory_mb=total_kb // 1024,
                             local_gb=disk.total >> 30)

    def list_guests(self) -> list[GuestState]:
        """Every guest with files on this host, and its power state."""
        return [GuestState(instance_id, self._power_state(self._files(instance_id)))
                for instance_id in self._guest_ids()]

    def _guest_ids(self) -> list[str]:
        if not self.instances_dir.is_dir():
            return []
        return sorted(entry.name for entry in self.instances_dir.iterdir()
                      if (entry / "guest.json").exists())

    # -- building and destroying ----------------------------------------------------------

    def spawn(self, spec: GuestSpec) -> None:
        files = self._files(spec.instance_id)
        if self._pid(files) is not None:
            return   # a repeated spawn after a restart: it runs already
        record = self._read_record(files)
        if record is None:
            files.dir.mkdir(parents=True, exist_ok=True)
            record = GuestRecord(spec=dataclasses.asdict(spec),
                                 mac=self._first_mac(spec.instance_id), ssh_port=_free_port())
        else:
            record.spec = dataclasses.asdict(spec)
        self._make_disks(spec, files)
        self._write_record(files, record)
        self._start(files, record)

    def destroy(self, instance_id: str) -> None:
        files = self._files(instance_id)
        self._kill(files)
        if self.metadata is not None:
            self.metadata.close(instance_id)
        shutil.rmtree(files.dir, ignore_errors=True)
        shutil.rmtree(files.sockets, ignore_errors=True)

    def rebuild(self, spec: GuestSpec) -> None:
        """A new root disk from the (new) image; ports, SSH port and console stay."""
        files = self._files(spec.instance_id)
        self._kill(files)
        for disk in (files.root, files.config_drive, files.rescue, files.saved_state):
            disk.unlink(missing_ok=True)
        record = self._read_record(files)
        if record is not None:
            record.rescue_image_id = None
            self._write_record(files, record)
        self.spawn(spec)

    def resize(self, spec: GuestSpec) -> None:
        """Power off, give the disks their new sizes, start with the new flavor."""
        files = self._files(spec.instance_id)
        record = self._record(files)
        self._power_down(files)
        disks.grow(files.root, spec.root_gb)
        old = record.guest_spec
        if spec.ephemeral_gb != old.ephemeral_gb:
            files.ephemeral.unlink(missing_ok=True)
        if spec.swap_mb != old.swap_mb:
            files.swap.unlink(missing_ok=True)
        record.spec = dataclasses.asdict(spec)
        self._make_disks(spec, files)
        self._write_record(files, record)
        self._start(files, record)

    # -- power ----------------------------------------------------------------------------

    def power_off(self, instance_id: str) -> None:
        self._power_down(self._files(instance_id))

    def power_on(self, instance_id: str) -> None:
        files = self._files(instance_id)
        if self._pid(files) is not None:
            return
        files.saved_state.unlink(missing_ok=True)
        self._start(files, self._record(files))

    def reboot(self, instance_id: str, hard: bool) -> None:
        """Hard: a new QEMU process.  Soft: the power button, then a new process
        (forced off when the guest ignores the button), as Nova's libvirt does."""
        files = self._files(instance_id)
        record = self._record(files)
        if hard:
            self._kill(files)
        else:
            self._power_down(files)
        files.saved_state.unlink(missing_ok=True)
        self._start(files, record)

    def pause(self, instance_id: str) -> None:
        qmp.execute(self._running(instance_id).qmp, "stop")

    def unpause(self, instance_id: str) -> None:
        qmp.execute(self._running(instance_id).qmp, "cont")

    def suspend(self, instance_id: str) -> None:
        """The guest's memory and devices saved to state.save, then no process."""
        files = self._running(instance_id)
        partial = files.saved_state.with_suffix(".part")
        qmp.execute(files.qmp, "stop")
        qmp.execute(files.qmp, "migrate", {"uri": f"exec:cat > {_shell_quote(partial)}"})
        qmp.wait_for_migration(files.qmp, SAVE_SECONDS)
        os.replace(partial, files.saved_state)
        self._kill(files)

    def resume(self, instance_id: str) -> None:
        files = self._files(instance_id)
        if self._pid(files) is not None:
            return
        if not files.saved_state.exists():
            raise DriverError(f"Instance {instance_id} has no saved state to resume from.")
        self._start(files, self._record(files), incoming=True)

    # -- rescue ---------------------------------------------------------------------------

    def rescue(self, instance_id: str, rescue_image_id: str) -> None:
        """Boot the rescue image, with the guest's own disk as its second disk."""
        files = self._files(instance_id)
        record = self._record(files)
        self._power_down(files)
        files.rescue.unlink(missing_ok=True)
        base, base_format = self.images.fetch(rescue_image_id)
        disks.create_overlay(files.rescue, base, base_format, 0)
        record.rescue_image_id = rescue_image_id
        self._write_record(files, record)
        self._start(files, record)

    def unrescue(self, instance_id: str) -> None:
        files = self._files(instance_id)
        record = self._record(files)
        self._kill(files)
        files.rescue.unlink(missing_ok=True)
        record.rescue_image_id = None
        self._write_record(files, record)
        self._start(files, record)

    # -- snapshots ------------------------------------------------------------------------

    def snapshot(self, instance_id: str) -> tuple[Path, str]:
        """The root disk as one standalone qcow2 file (the caller removes it).
        A running guest is paused while its disk is copied, so the copy is
        consistent."""
        files = self._files(instance_id)
        self._record(files)
        destination = files.dir / "snapshot.qcow2"
        running = self._power_state(files) == states.RUNNING
        if running:
            qmp.execute(files.qmp, "stop")
        try:
            disks.export_qcow2(files.root, destination)
        finally:
            if running:
                qmp.execute(files.qmp, "cont")
        return destination, "qcow2"

    # -- console and guest requests ---------------------------------------------------------

    def console_output(self, instance_id: str, lines: int | None) -> str:
        files = self._files(instance_id)
        self._trim_console(files)
        try:
            text = files.console.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            text = ""
        return tail_lines(text.replace("\r\n", "\n"), lines)

    def console_socket(self, instance_id: str, protocol: str) -> Path:
        files = self._running(instance_id)
        return {"serial": files.serial, "vnc": files.vnc}[protocol]

    def set_admin_password(self, instance_id: str, password: str) -> None:
        raise NotSupported("Setting the admin password needs a guest agent, which QEMU "
                           "guests of Stacklet do not run.")

    def trigger_crash_dump(self, instance_id: str) -> None:
        qmp.execute(self._running(instance_id).qmp, "inject-nmi")

    def attach_volume(self, instance_id: str, volume_id: str, device: str) -> None:
        raise NotSupported("Volumes are not available yet: there is no block storage "
                           "service.")

    def detach_volume(self, instance_id: str, volume_id: str) -> None:
        raise NotSupported("Volumes are not available yet: there is no block storage "
                           "service.")

    def attach_interface(self, instance_id: str, port_id: str, mac: str) -> None:
        """A running guest on taps gets the port's NIC hot-plugged; otherwise each
        start gives the guest a NIC per port the server has then."""
        files = self._files(instance_id)
        if not self.tap_networking or self._pid(files) is None:
            return
        port = next((port for port in self._ports(instance_id) if port["port_id"] == port_id),
                    {"port_id": port_id, "mac": mac, "mtu": None})
        netdev, device = self._tap_nic(port)

        async def plug(client) -> None:
            if device["id"] in await _peripherals(client):
                return   # a repeated attach: plugged already
            await _unless_done(client.execute("netdev_add", netdev))
            await client.execute("device_add", device)
        qmp.session(files.qmp, plug)

    def detach_interface(self, instance_id: str, port_id: str) -> None:
        """A running guest on taps is asked to release the port's NIC (ACPI
        hot-unplug) and its tap is closed even if the guest does not answer;
        otherwise the NIC goes at the guest's next start."""
        files = self._files(instance_id)
        if not self.tap_networking or self._pid(files) is None:
            return
        netdev_id, device_id = _nic_ids(port_id)

        async def unplug(client) -> bool:
            released = True
            if device_id in await _peripherals(client):
                with client.listener("DEVICE_DELETED") as listener:
                    await _unless_done(client.execute("device_del", {"id": device_id}))
                    released = await _device_deleted(listener, device_id, UNPLUG_SECONDS)
            # Deleting the backend closes the tap at once: a NIC the guest keeps
            # has no link and carries nothing.
            await _unless_done(client.execute("netdev_del", {"id": netdev_id}))
            return released
        if not qmp.session(files.qmp, unplug, timeout=UNPLUG_SECONDS + 30):
            LOG.warning("guest %s did not release the NIC of port %s within %.0f s: its "
                        "link is down, and it is gone at the next start",
                        instance_id, port_id, UNPLUG_SECONDS)

    def diagnostics(self, instance_id: str) -> dict:
        files = self._files(instance_id)
        record = self._record(files)
        spec = record.guest_spec
        power = self._power_state(files)
        pid = self._pid(files)
        disk_stats: list[dict] = []
        if pid is not None:
            disk_stats = qmp.execute(files.qmp, "query-blockstats")
        uptime, cpu_ns, rss_mb = _process_figures(pid)
        nics = self._nic_details(record, running=pid is not None)
        return {
            "state": states.POWER_STATE_NAMES.get(power, "pending"), "driver": "libvirt",
            "hypervisor": self.accel, "hypervisor_os": "linux", "uptime": uptime,
            "config_drive": spec.config_drive, "num_cpus": spec.vcpus,
            "num_nics": len(nics), "num_disks": len(disk_stats),
            "memory_details": {"maximum": spec.memory_mb, "used": min(rss_mb, spec.memory_mb)},
            "cpu_details": [{"id": cpu, "time": cpu_ns // spec.vcpus, "utilisation": None}
                            for cpu in range(spec.vcpus)],
            "nic_details": nics,
            "disk_details": [{"read_bytes": item["stats"]["rd_bytes"],
                              "read_requests": item["stats"]["rd_operations"],
                              "write_bytes": item["stats"]["wr_bytes"],
                              "write_requests": item["stats"]["wr_operations"],
                              "errors_count": item["stats"].get("failed_rd_operations", 0)
                              + item["stats"].get("failed_wr_operations", 0)}
                             for item in disk_stats],
        }

    def _nic_details(self, record: GuestRecord, running: bool) -> list[dict]:
        """Each NIC's MAC and counters.  On taps, the tap's counters seen from the
        guest (what the tap sends the guest receives), as libvirt reports them to
        Nova; user networking keeps none QEMU can report: unknown (null)."""
        unknown = {f"{way}_{figure}": None for way in ("rx", "tx") for figure in NIC_FIGURES}
        if not self.tap_networking:
            macs = [record.mac] + [port["mac"] for port in self._extra_nics(record)]
            return [{"mac_address": mac, **unknown} for mac in macs]
        details = []
        for port in self._ports(record.spec["instance_id"]):
            figures = dict(unknown)
            statistics = Path("/sys/class/net", tap_name(port["port_id"]), "statistics")
            if running and statistics.is_dir():
                for figure, counter in TAP_FIGURES:
                    figures[f"rx_{figure}"] = int((statistics / f"tx_{counter}").read_text())
                    figures[f"tx_{figure}"] = int((statistics / f"rx_{counter}").read_text())
            details.append({"mac_address": port["mac"], **figures})
        return details

    def housekeeping(self) -> None:
        """Keep every console log within its bound."""
        for instance_id in self._guest_ids():
            self._trim_console(self._files(instance_id))

    # -- starting and stopping QEMU ---------------------------------------------------------

    def _start(self, files: GuestFiles, record: GuestRecord, incoming: bool = False) -> None:
        """Start QEMU paused and daemonized, then let the guest run (after loading
        its saved state when ``incoming``)."""
        spec = record.guest_spec
        files.sockets.mkdir(parents=True, exist_ok=True)
        self._remove_sockets(files)
        nics, reached = self._nics(files, record)
        self._trim_console(files)
        with open(files.console, "ab") as console:
            console.write(f"[stacklet] starting {spec.name}: {reached} "
                          f"({self.accel.upper()})\r\n".encode())
        command = self._command(files, record) + nics
        if incoming:
            command += ["-incoming", "defer"]
        try:
            subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
        except subprocess.CalledProcessError as exc:
            raise DriverError(f"QEMU did not start: {exc.stderr.strip()[-500:]}") from None
        except subprocess.TimeoutExpired:
            self._kill(files)
            raise DriverError("QEMU did not start within 60 s") from None
        try:
            if incoming:
                qmp.execute(files.qmp, "migrate-incoming",
                            {"uri": f"exec:cat {_shell_quote(files.saved_state)}"})
                qmp.wait_for_migration(files.qmp, SAVE_SECONDS)
                files.saved_state.unlink(missing_ok=True)
            qmp.execute(files.qmp, "cont")
        except DriverError:
            self._kill(files)
            raise

    def _command(self, files: GuestFiles, record: GuestRecord) -> list[str]:
        spec = record.guest_spec
        cpu = "host" if self.accel == "kvm" else "max"
        command = [
            QEMU_BINARY, "-name", f"guest={spec.instance_id},process=stacklet-{spec.instance_id}",
            "-machine", f"pc,accel={self.accel}", "-cpu", cpu, "-smp", str(spec.vcpus),
            "-m", str(spec.memory_mb), "-nodefaults", "-no-user-config",
            "-display", "none", "-S", "-daemonize",
            "-pidfile", str(files.pidfile),
            "-qmp", f"unix:{files.qmp},server=on,wait=off",
            # The serial port is a socket for the console proxy; QEMU writes the
            # same bytes to console.log whether or not anyone is connected.
            "-chardev", f"socket,id=console,path={_option_value(files.serial)},server=on,"
            f"wait=off,logfile={_option_value(files.console)},logappend=on",
            "-serial", "chardev:console",
            "-vga", "std", "-vnc", f"unix:{_option_value(files.vnc)}",
            "-device", "virtio-rng-pci",
        ]
        drives: list[tuple[Path, str, bool]] = []
        if record.rescue_image_id:
            drives.append((files.rescue, "qcow2", False))
        drives.append((files.root, "qcow2", False))
        if files.ephemeral.exists():
            drives.append((files.ephemeral, "qcow2", False))
        if files.swap.exists():
            drives.append((files.swap, "qcow2", False))
        if files.config_drive.exists():
            drives.append((files.config_drive, "raw", True))
        for index, (path, fmt, readonly) in enumerate(drives):
            command += ["-drive", f"file={_option_value(path)},if=none,id=disk{index},"
                        f"format={fmt},discard=unmap" + (",readonly=on" if readonly else ""),
                        "-device", f"virtio-blk-pci,drive=disk{index}"
                        + (",bootindex=1" if index == 0 else "")]
        if _is_installer(spec) and not record.rescue_image_id:
            iso, _ = self.images.fetch(spec.image_id)
            command += ["-drive", f"file={_option_value(iso)},if=none,id=cdrom,format=raw,"
                        "media=cdrom,readonly=on", "-device", "ide-cd,drive=cdrom,bootindex=0"]
        return command + self._kernel_boot(spec)

    def _nics(self, files: GuestFiles, record: GuestRecord) -> tuple[list[str], str]:
        """QEMU's arguments for the guest's NICs, and how the guest is reached (for
        the console's start line)."""
        if self.tap_networking:
            ports = self._ports(record.spec["instance_id"])
            nics = ", ".join(f"{port['mac']} on {tap_name(port['port_id'])}" for port in ports)
            return self._tap_nics(ports), f"NICs {nics or 'none'}"
        if not _port_is_free(record.ssh_port):
            record.ssh_port = _free_port()
            self._write_record(files, record)
        self._serve_metadata(record.spec["instance_id"], files)
        return (self._user_nics(files, record),
                f"SSH from this host at 127.0.0.1:{record.ssh_port}")

    def _user_nics(self, files: GuestFiles, record: GuestRecord) -> list[str]:
        """The fallback without a data plane (see the module docstring): a slirp
        NIC for metadata and SSH, and a NIC with nothing behind it per other port."""
        spec = record.guest_spec
        command = [
            "-netdev", f"user,id=net0,net={GUEST_NETWORK},host={GUEST_GATEWAY},"
            f"dns={GUEST_DNS},dhcpstart={GUEST_ADDRESS},restrict=on,"
            f"hostname={spec.hostname},"
            f"hostfwd=tcp:127.0.0.1:{record.ssh_port}-:22,"
            f"guestfwd=tcp:{METADATA_ADDRESS}:80-cmd:socat - UNIX-CONNECT:{files.metadata}",
            "-device", f"virtio-net-pci,netdev=net0,mac={record.mac}",
        ]
        for port in self._extra_nics(record):
            name = f"nic-{port['port_id'][:11]}"
            command += ["-netdev", f"user,id={name},restrict=on",
                        "-device", f"virtio-net-pci,netdev={name},id={name},mac={port['mac']}"]
        return command

    def _tap_nics(self, ports: list[dict]) -> list[str]:
        """A virtio-net NIC per port, in the ports' order, each on its port's tap."""
        command = []
        for port in ports:
            netdev, device = self._tap_nic(port)
            command += ["-netdev", _options("type", netdev), "-device", _options("driver", device)]
        return command

    def _tap_nic(self, port: dict) -> tuple[dict, dict]:
        """The port's netdev and NIC, as QMP's netdev_add and device_add take them.
        The L2 agent made the tap (persistent, in the network's bridge, with the
        port's firewall): QEMU only opens it, and runs no script."""
        tap = tap_name(port["port_id"])
        if not Path("/sys/class/net", tap).exists():
            raise DriverError(f"port {port['port_id']} is not wired on this host: is the "
                              "network agent running?")
        netdev_id, device_id = _nic_ids(port["port_id"])
        netdev = {"type": "tap", "id": netdev_id, "ifname": tap, "script": "no",
                  "downscript": "no", "vhost": self.vhost}
        device = {"driver": "virtio-net-pci", "id": device_id, "netdev": netdev_id,
                  "mac": port["mac"]}
        if port.get("mtu"):
            device["host_mtu"] = port["mtu"]
        return netdev, device

    def _kernel_boot(self, spec: GuestSpec) -> list[str]:
        """-kernel/-initrd/-append for images naming a kernel (as cirros' UEC ones do)."""
        properties = spec.image_properties
        kernel_id = properties.get("kernel_id")
        if not kernel_id:
            return []
        kernel, _ = self.images.fetch(kernel_id)
        arguments = ["-kernel", str(kernel)]
        if properties.get("ramdisk_id"):
            ramdisk, _ = self.images.fetch(properties["ramdisk_id"])
            arguments += ["-initrd", str(ramdisk)]
        return arguments + ["-append", properties.get("os_command_line")
                            or DEFAULT_KERNEL_CMDLINE]

    def _make_disks(self, spec: GuestSpec, files: GuestFiles) -> None:
        if not files.root.exists():
            if _is_installer(spec):
                # An ISO boots as a CD-ROM (_command) and installs onto a blank disk.
                disks.create_blank(files.root, (spec.root_gb or 1) * 1024)
            else:
                base, base_format = self.images.fetch(spec.image_id)
                disks.create_overlay(files.root, base, base_format, spec.root_gb)
        if spec.ephemeral_gb and not files.ephemeral.exists():
            disks.create_blank(files.ephemeral, spec.ephemeral_gb * 1024)
        if spec.swap_mb and not files.swap.exists():
            disks.create_blank(files.swap, spec.swap_mb)
        if spec.config_drive and not files.config_drive.exists():
            self._write_config_drive(spec.instance_id, files.config_drive)

    def _write_config_drive(self, instance_id: str, destination: Path) -> None:
        from stacklet.compute.config_drive import write_config_drive
        from stacklet.compute.metadata import documents_for

        with self.cloud.db.session() as session:
            documents = documents_for(session, instance_id)
        if documents is None:
            raise DriverError(f"Instance {instance_id} could not be found.")
        write_config_drive(documents.config_drive_files(), destination)

    def _ports(self, instance_id: str) -> list[dict]:
        """The server's ports now, as {port_id, mac, mtu}, oldest first."""
        return [{"port_id": port["port_id"], "mac": port["mac_addr"], "mtu": port.get("mtu")}
                for port in self.cloud.ports.interfaces(instance_id)]

    def _first_mac(self, instance_id: str) -> str:
        """The MAC of the server's first port, or one made from its id (a server
        without networks still gets the interim NIC for metadata and SSH)."""
        ports = self._ports(instance_id)
        if ports:
            return ports[0]["mac"]
        digest = hashlib.sha256(instance_id.encode()).digest()
        return "fa:16:3e:" + ":".join(f"{byte:02x}" for byte in digest[:3])

    def _extra_nics(self, record: GuestRecord) -> list[dict]:
        """The server's ports beyond the one whose MAC is on the first NIC."""
        return [port for port in self._ports(record.spec["instance_id"])
                if port["mac"] != record.mac]

    def _serve_metadata(self, instance_id: str, files: GuestFiles) -> None:
        """(User networking) the socket behind the guest's guestfwd to 169.254.169.254."""
        if self.metadata is not None and not self.tap_networking:
            files.sockets.mkdir(parents=True, exist_ok=True)
            self.metadata.listen(instance_id, files.metadata)

    def _power_down(self, files: GuestFiles) -> None:
        """The ACPI power button, then QEMU forced off if the guest has not powered
        off within shutdown_timeout.  A paused guest cannot hear the button."""
        pid = self._pid(files)
        if pid is None:
            return
        status = self._run_state(files)
        if status == "running":
            # Pressed again every few seconds, as Nova's libvirt driver does: a
            # guest still booting has no ACPI handler yet and loses the first.
            deadline = time.monotonic() + self.shutdown_timeout
            while time.monotonic() < deadline:
                try:
                    qmp.execute(files.qmp, "system_powerdown")
                except DriverError as exc:
                    LOG.warning("power button of %s: %s", files.dir.name, exc)
                if _wait_for_exit(pid, min(POWER_BUTTON_INTERVAL,
                                           deadline - time.monotonic())):
                    self._forget_process(files)
                    return
            LOG.warning("guest %s ignored the power button for %.0f s: forcing it off",
                        files.dir.name, self.shutdown_timeout)
        self._kill(files)

    def _kill(self, files: GuestFiles) -> None:
        """QEMU gone: asked to quit, then killed."""
        pid = self._pid(files)
        if pid is not None:
            try:
                qmp.execute(files.qmp, "quit")
            except DriverError:
                pass
            if not _wait_for_exit(pid, QUIT_SECONDS):
                os.kill(pid, signal.SIGKILL)
                _wait_for_exit(pid, QUIT_SECONDS)
        self._forget_process(files)

    def _forget_process(self, files: GuestFiles) -> None:
        files.pidfile.unlink(missing_ok=True)
        self._remove_sockets(files)

    @staticmethod
    def _remove_sockets(files: GuestFiles) -> None:
        """The sockets a QEMU process listened on (a new one binds them afresh)."""
        for path in (files.qmp, files.serial, files.vnc):
            path.unlink(missing_ok=True)

    # -- state ------------------------------------------------------------------------------

    def _files(self, instance_id: str) -> GuestFiles:
        return GuestFiles(self.instances_dir, self.sockets_dir, instance_id)

    def _record(self, files: GuestFiles) -> GuestRecord:
        record = self._read_record(files)
        if record is None:
            raise DriverError(f"Instance {files.dir.name} could not be found on host "
                              f"{self.host}.")
        return record

    @staticmethod
    def _read_record(files: GuestFiles) -> GuestRecord | None:
        try:
            return GuestRecord(**json.loads(files.record.read_text()))
        except FileNotFoundError:
            return None

    @staticmethod
    def _write_record(files: GuestFiles, record: GuestRecord) -> None:
        partial = files.record.with_suffix(".part")
        partial.write_text(json.dumps(dataclasses.asdict(record)))
        os.replace(partial, files.record)

    def _pid(self, files: GuestFiles) -> int | None:
        """The pid of this guest's QEMU, if it runs (a stale pid file is ignored)."""
        try:
            pid = int(files.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        if f"guest={files.dir.name}".encode() not in cmdline:
            return None
        return pid

    def _running(self, instance_id: str) -> GuestFiles:
        files = self._files(instance_id)
        if self._pid(files) is None:
            raise DriverError(f"Instance {instance_id} is not running.")
        return files

    def _run_state(self, files: GuestFiles) -> str | None:
        try:
            return qmp.execute(files.qmp, "query-status")["status"]
        except DriverError:
            return None

    def _power_state(self, files: GuestFiles) -> int:
        if self._pid(files) is None:
            return states.SUSPENDED_POWER if files.saved_state.exists() else states.SHUTDOWN
        return RUN_STATES.get(self._run_state(files) or "", states.NOSTATE)

    def _trim_console(self, files: GuestFiles) -> None:
        """Keep the newest console_log_kb of the log.  QEMU appends (O_APPEND), so
        cutting the file's head in place loses at most what it writes meanwhile."""
        try:
            size = files.console.stat().st_size
        except FileNotFoundError:
            return
        if size <= self.console_limit:
            return
        with open(files.console, "r+b") as log:
            log.seek(size - self.console_limit // 2)
            tail = log.read()
            log.seek(0)
            log.write(tail)
            log.truncate(len(tail))


# -- helpers ------------------------------------------------------------------------------------

def _nic_ids(port_id: str) -> tuple[str, str]:
    """QEMU's ids of a port's netdev and NIC."""
    return f"net-{port_id[:11]}", f"nic-{port_id[:11]}"


def _options(kind: str, fields: dict) -> str:
    """QMP arguments as a -netdev/-device option string (KIND's value first)."""
    def value(item) -> str:
        if isinstance(item, bool):
            return "on" if item else "off"
        return str(item).replace(",", ",,")
    return ",".join([fields[kind]] + [f"{key}={value(item)}" for key, item in fields.items()
                                      if key != kind])


def _vhost_net_works() -> bool:
    """Whether the kernel's virtio-net backend can be opened: without it (no
    vhost_net module, as in many VMs and containers) QEMU moves the packets."""
    try:
        os.close(os.open("/dev/vhost-net", os.O_RDWR))
    except OSError:
        return False
    return True


async def _peripherals(client) -> set[str]:
    """The ids of the devices given to the guest (-device, device_add)."""
    children = await client.execute("qom-list", {"path": "/machine/peripheral"})
    return {child["name"] for child in children}


# What QEMU answers a step of a hot-plug repeated (a half-done attach or a
# detach the guest has not answered, tried again): done already, or under way.
ALREADY_DONE = ("Duplicate ID", "is already in the process of unplug")


async def _unless_done(command) -> None:
    try:
        await command
    except ExecuteError as exc:
        if exc.error_class != "DeviceNotFound" and not any(
                answer in str(exc) for answer in ALREADY_DONE):
            raise


async def _device_deleted(listener, device_id: str, seconds: float) -> bool:
    async def heard() -> None:
        async for event in listener:
            if event["data"].get("device") == device_id:
                return
    try:
        await asyncio.wait_for(heard(), seconds)
    except asyncio.TimeoutError:
        return False
    return True


def _is_installer(spec: GuestSpec) -> bool:
    return spec.image_properties.get("disk_format") == "iso"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# Seconds between presses of the power button while a guest has not powered off.
POWER_BUTTON_INTERVAL = 3


def _wait_for_exit(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.05)
    return not Path(f"/proc/{pid}").exists()


def _process_figures(pid: int | None) -> tuple[int, int, int]:
    """(uptime s, CPU time ns, resident MiB) of a QEMU process."""
    if pid is None:
        return 0, 0, 0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu_ns = (int(fields[11]) + int(fields[12])) * 1_000_000_000 // ticks
    with open("/proc/uptime") as uptime_file:
        host_uptime = float(uptime_file.read().split()[0])
    uptime = int(host_uptime - int(fields[19]) / ticks)
    rss_mb = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") >> 20
    return uptime, cpu_ns, rss_mb


def _option_value(path: Path) -> str:
    """A path inside a QEMU -drive option, where a comma is written twice."""
    return str(path).replace(",", ",,")


def _shell_quote(path: Path) -> str:
    """QEMU runs exec: migration URIs through /bin/sh."""
    return "'" + str(path).replace("'", "'\\''") + "'"
