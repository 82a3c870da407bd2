"""What a compute agent asks of a hypervisor, and the drivers that answer.

The interface is shaped for the QEMU driver (one process per guest, driven
over QMP); the fake driver implements it without running anything.  Every
call is blocking and idempotent, since after a restart an agent repeats
whatever task a server was in the middle of: spawning a guest that already
runs, or destroying one already gone, succeeds.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Protocol


class DriverError(Exception):
    """The hypervisor could not do what was asked; the message is shown in the
    server's fault."""


class NotSupported(DriverError):
    """The driver has no such operation (the API answers 409 or 501)."""


@dataclasses.dataclass(frozen=True)
class GuestSpec:
    """Everything a driver needs to build or rebuild a guest."""

    instance_id: str
    name: str
    hostname: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int
    swap_mb: int
    image_id: str
    image_properties: dict
    user_data: str | None
    key_data: str | None
    metadata: dict
    config_drive: bool
    admin_password: str | None = None


@dataclasses.dataclass(frozen=True)
class HostResources:
    """What a host offers to the scheduler."""

    hypervisor_type: str
    hypervisor_version: int
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_arch: str = "x86_64"
    host_ip: str = "127.0.0.1"


@dataclasses.dataclass(frozen=True)
class GuestState:
    """A guest the driver found on its host (power_state as Nova numbers it)."""

    instance_id: str
    power_state: int


class ComputeDriver(Protocol):
    name: str
    # The remote consoles (Nova's protocols: "serial", "vnc") the driver's
    # guests offer, each through console_socket.
    consoles: tuple[str, ...]

    def host_resources(self) -> HostResources: ...

    def list_guests(self) -> list[GuestState]:
        """The guests on this host, found after a restart to re-adopt them."""

    def spawn(self, spec: GuestSpec) -> None: ...

    def destroy(self, instance_id: str) -> None: ...

    def power_off(self, instance_id: str) -> None: ...

    def power_on(self, instance_id: str) -> None: ...

    def reboot(self, instance_id: str, hard: bool) -> None: ...

    def pause(self, instance_id: str) -> None: ...

    def unpause(self, instance_id: str) -> None: ...

    def suspend(self, instance_id: str) -> None: ...

    def resume(self, instance_id: str) -> None: ...

    def rebuild(self, spec: GuestSpec) -> None: ...

    def resize(self, spec: GuestSpec) -> None:
        """Give a (stopped or running) guest the vcpus, memory and disks of spec."""

    def snapshot(self, instance_id: str) -> tuple[Path, str]:
        """The guest's root disk as a file of its own (path, disk_format) for the
        image service; the caller removes the file."""

    def rescue(self, instance_id: str, rescue_image_id: str) -> None: ...

    def unrescue(self, instance_id: str) -> None: ...

    def console_output(self, instance_id: str, lines: int | None) -> str: ...

    def console_socket(self, instance_id: str, protocol: str) -> Path:
        """The unix socket on this host where a running guest serves its ``protocol``
        console (a byte stream: the serial port, or VNC's RFB), for the console
        proxy to relay a websocket to; DriverError when the guest does not run."""

    def set_admin_password(self, instance_id: str, password: str) -> None: ...

    def trigger_crash_dump(self, instance_id: str) -> None:
        """Make the guest's kernel dump its memory (an NMI, as Nova's libvirt driver)."""

    def attach_volume(self, instance_id: str, volume_id: str, device: str) -> None: ...

    def detach_volume(self, instance_id: str, volume_id: str) -> None: ...

    def attach_interface(self, instance_id: str, port_id: str, mac: str) -> None: ...

    def detach_interface(self, instance_id: str, port_id: str) -> None: ...

    def housekeeping(self) -> None:
        """Periodic upkeep of the host's guests (bounded console logs), every
        [compute] report_interval."""

    def diagnostics(self, instance_id: str) -> dict:
        """A running guest's figures in Nova's standard form (2.48): state, driver,
        hypervisor, hypervisor_os, uptime (s), config_drive, num_cpus, num_nics,
        num_disks, memory_details (maximum and used, MiB), cpu_details (id, time
        in ns, utilisation %), nic_details (mac_address, rx_/tx_ octets, errors,
        drop, packets, rate) and disk_details (read_/write_ bytes and requests,
        errors_count)."""


def tail_lines(text: str, lines: int | None) -> str:
    """The last ``lines`` lines of a console log, cut as Nova cuts them (on newlines,
    so a log ending in one yields lines - 1 lines and an empty last one)."""
    if lines is None:
        return text
    return "\n".join(text.split("\n")[-lines:]) if lines > 0 else ""


DRIVER_NAMES = ("auto", "qemu", "fake")
QEMU_BINARY = "qemu-system-x86_64"


def qemu_installed() -> bool:
    return shutil.which(QEMU_BINARY) is not None


def resolve_driver_name(name: str) -> str:
    """'auto' is QEMU wherever it is installed, the fake driver elsewhere."""
    if name == "auto":
        return "qemu" if qemu_installed() else "fake"
    return name


def local_driver(cloud, host: str) -> ComputeDriver:
    """The driver of one of this machine's hosts, made once per process, for the
    reads the API does on the host's files (console log, diagnostics)."""
    if host not in cloud.local_drivers:
        cloud.local_drivers[host] = load_driver(cloud.config.get("compute", "driver"),
                                                host, cloud)
    return cloud.local_drivers[host]


def load_driver(name: str, host: str, cloud, metadata=None) -> ComputeDriver:
    """The driver of one host; ``metadata`` serves the QEMU guests' metadata sockets."""
    name = resolve_driver_name(name)
    if name == "fake":
        from stacklet.compute.driver.fake import FakeDriver
        return FakeDriver(host, cloud.db)
    if name == "qemu":
        from stacklet.compute.driver.qemu import QemuDriver
        from stacklet.compute.guest_image import probe_kernel
        return QemuDriver(host, cloud, metadata=metadata, probe_kernel=probe_kernel)
    raise ValueError(f"unknown compute driver {name!r} (known: {', '.join(DRIVER_NAMES)})")
