"""The fake compute driver: guests are database rows, nothing runs.

It exists for control-plane tests and scale runs (many fake hosts in one
process).  Its guests live in the database so that a restart of Stacklet
re-adopts them like real ones.  It is never the default where QEMU is
installed.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from stacklet.compute import states
from stacklet.compute.driver import (
    DriverError,
    GuestSpec,
    GuestState,
    HostResources,
    NotSupported,
    tail_lines,
)
from stacklet.compute.models import FakeGuest

# Nova's fake driver offers this much, so that scheduling rarely runs out.
FAKE_RESOURCES = HostResources(hypervisor_type="fake", hypervisor_version=1000,
                               vcpus=1000, memory_mb=800000, local_gb=600000)
# A fake root disk, as a raw image, for snapshots.
SNAPSHOT_DATA = b"stacklet fake driver disk\n".ljust(4096, b"\0")


def boot_console(spec: GuestSpec) -> str:
    """What a fake guest 'prints' while booting: a few lines, as clients (and
    Tempest, which asks for the last three) expect of a console log."""
    return (f"Booting {spec.name} from image {spec.image_id} (stacklet fake driver)\n"
            "[    0.000000] Linux version fake\n"
            f"[    0.100000] Memory: {spec.memory_mb}M, {spec.vcpus} CPUs\n"
            f"Welcome to {spec.hostname}\n"
            f"{spec.hostname} login: ")


class FakeDriver:
    name = "fake"
    # Nothing runs, so there is no console to reach: the API answers as Nova
    # does for a driver without consoles (501).
    consoles: tuple[str, ...] = ()

    def __init__(self, host: str, db):
        self.host = host
        self.db = db

    def host_resources(self) -> HostResources:
        return FAKE_RESOURCES

    def list_guests(self) -> list[GuestState]:
        with self.db.session() as session:
            rows = session.scalars(sa.select(FakeGuest).filter_by(host=self.host))
            return [GuestState(row.instance_id, row.power_state) for row in rows]

    def _set(self, instance_id: str, power_state: int, **state) -> None:
        with self.db.transaction() as session:
            guest = session.get(FakeGuest, instance_id)
            if guest is None:
                raise DriverError(f"Instance {instance_id} could not be found on "
                                  f"host {self.host}.")
            guest.power_state = power_state
            guest.state = {**guest.state, **state}

    def spawn(self, spec: GuestSpec) -> None:
        with self.db.transaction() as session:
            guest = session.get(FakeGuest, spec.instance_id)
            if guest is None:
                session.add(FakeGuest(instance_id=spec.instance_id, host=self.host,
                                      power_state=states.RUNNING,
                                      state={"image_id": spec.image_id, "vcpus": spec.vcpus,
                                             "memory_mb": spec.memory_mb,
                                             "config_drive": spec.config_drive,
                                             "disks": _disk_count(spec),
                                             "started_at": time.time()},
                                      console=boot_console(spec)))
            else:
                guest.power_state = states.RUNNING

    def destroy(self, instance_id: str) -> None:
        with self.db.transaction() as session:
            session.execute(sa.delete(FakeGuest).filter_by(instance_id=instance_id))

    def power_off(self, instance_id: str) -> None:
        self._set(instance_id, states.SHUTDOWN)

    def power_on(self, instance_id: str) -> None:
        self._set(instance_id, states.RUNNING, started_at=time.time())

    def reboot(self, instance_id: str, hard: bool) -> None:
        self._set(instance_id, states.RUNNING, started_at=time.time())

    def pause(self, instance_id: str) -> None:
        self._set(instance_id, states.PAUSED_POWER)

    def unpause(self, instance_id: str) -> None:
        self._set(instance_id, states.RUNNING)

    def suspend(self, instance_id: str) -> None:
        self._set(instance_id, states.SUSPENDED_POWER)

    def resume(self, instance_id: str) -> None:
        self._set(instance_id, states.RUNNING)

    def rebuild(self, spec: GuestSpec) -> None:
        self.destroy(spec.instance_id)
        self.spawn(spec)

    def resize(self, spec: GuestSpec) -> None:
        self._set(spec.instance_id, states.RUNNING, vcpus=spec.vcpus,
                  memory_mb=spec.memory_mb)

    def snapshot(self, instance_id: str) -> tuple[Path, str]:
        self._set(instance_id, states.RUNNING)
        descriptor, path = tempfile.mkstemp(prefix="stacklet-fake-snapshot-")
        with os.fdopen(descriptor, "wb") as disk:
            disk.write(SNAPSHOT_DATA)
        return Path(path), "raw"

    def housekeeping(self) -> None:
        pass

    def rescue(self, instance_id: str, rescue_image_id: str) -> None:
        self._set(instance_id, states.RUNNING, rescue_image_id=rescue_image_id)

    def unrescue(self, instance_id: str) -> None:
        self._set(instance_id, states.RUNNING, rescue_image_id=None)

    def console_output(self, instance_id: str, lines: int | None) -> str:
        with self.db.session() as session:
            guest = session.get(FakeGuest, instance_id)
            return tail_lines(guest.console if guest else "", lines)

    def console_socket(self, instance_id: str, protocol: str) -> Path:
        raise NotSupported("The fake driver runs no guest, so it has no console.")

    def set_admin_password(self, instance_id: str, password: str) -> None:
        self._set(instance_id, states.RUNNING, admin_password_set=True)

    def trigger_crash_dump(self, instance_id: str) -> None:
        self._set(instance_id, states.RUNNING, crash_dump_triggered=True)

    def attach_volume(self, instance_id: str, volume_id: str, device: str) -> None:
        self._set_device(instance_id, "volumes", volume_id, device)

    def detach_volume(self, instance_id: str, volume_id: str) -> None:
        self._set_device(instance_id, "volumes", volume_id, None)

    def attach_interface(self, instance_id: str, port_id: str, mac: str) -> None:
        self._set_device(instance_id, "interfaces", port_id, mac)

    def detach_interface(self, instance_id: str, port_id: str) -> None:
        self._set_device(instance_id, "interfaces", port_id, None)

    def diagnostics(self, instance_id: str) -> dict:
        """Figures that grow with the guest's uptime as a lightly loaded guest's
        would (5% of each vCPU busy, a few KiB/s of disk and network)."""
        with self.db.session() as session:
            guest = session.get(FakeGuest, instance_id)
            if guest is None:
                raise DriverError(f"Instance {instance_id} could not be found on "
                                  f"host {self.host}.")
            power_state, state = guest.power_state, dict(guest.state)
        uptime = int(time.time() - state.get("started_at", time.time()))
        memory_mb = state.get("memory_mb", 512)
        macs = list(state.get("interfaces", {}).values())
        disks = state.get("disks", 1) + len(state.get("volumes", {}))
        return {
            "state": states.POWER_STATE_NAMES.get(power_state, "pending"),
            "driver": "libvirt",    # the nearest of Nova's names, as Nova's fake driver says
            "hypervisor": "fake", "hypervisor_os": "linux", "uptime": uptime,
            "config_drive": bool(state.get("config_drive", False)),
            "num_cpus": state.get("vcpus", 1), "num_nics": len(macs), "num_disks": disks,
            "memory_details": {"maximum": memory_mb, "used": memory_mb // 4},
            "cpu_details": [{"id": cpu, "time": uptime * 50_000_000, "utilisation": 5}
                            for cpu in range(state.get("vcpus", 1))],
            "nic_details": [{"mac_address": mac, "rx_octets": uptime * 2048, "rx_errors": 0,
                             "rx_drop": 0, "rx_packets": uptime * 4, "rx_rate": None,
                             "tx_octets": uptime * 1024, "tx_errors": 0, "tx_drop": 0,
                             "tx_packets": uptime * 2, "tx_rate": None} for mac in macs],
            "disk_details": [{"read_bytes": 262144 + uptime * 4096,
                              "read_requests": 112 + uptime, "write_bytes": uptime * 8192,
                              "write_requests": uptime * 2, "errors_count": 0}
                             for _ in range(disks)],
        }

    def _set_device(self, instance_id: str, kind: str, key: str, value: str | None) -> None:
        with self.db.transaction() as session:
            guest = session.get(FakeGuest, instance_id)
            if guest is None:
                raise DriverError(f"Instance {instance_id} could not be found on "
                                  f"host {self.host}.")
            devices = dict(guest.state.get(kind, {}))
            if value is None:
                devices.pop(key, None)
            else:
                devices[key] = value
            guest.state = {**guest.state, kind: devices}


def _disk_count(spec: GuestSpec) -> int:
    """Root disk, ephemeral disk and swap, each when the flavor has one."""
    return 1 + (spec.ephemeral_gb > 0) + (spec.swap_mb > 0)
