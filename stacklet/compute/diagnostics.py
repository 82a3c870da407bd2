"""A running server's diagnostics, read from its host's driver: Nova's standard
form from 2.48, before it the flat names the libvirt driver used."""

from __future__ import annotations

from stacklet.common.errors import Conflict, NotImplementedYet
from stacklet.compute import states
from stacklet.compute.driver import DriverError, NotSupported, local_driver
from stacklet.compute.models import Instance


def server_diagnostics(cloud, server: Instance) -> dict:
    """The standard diagnostics; 409 unless the guest runs, as in Nova."""
    if server.host is None:
        raise Conflict(f"Instance {server.id} is not ready")
    if server.power_state != states.RUNNING:
        state = states.POWER_STATE_NAMES.get(server.power_state, "pending")
        raise Conflict(f"Cannot 'get_diagnostics' instance {server.id} while it is in "
                       f"power state {state}")
    driver = local_driver(cloud, server.host)
    try:
        return driver.diagnostics(server.id)
    except NotSupported:
        raise NotImplementedYet("The requested functionality is not supported.") from None
    except DriverError as exc:
        raise Conflict(str(exc)) from None


def libvirt_style(standard: dict) -> dict:
    """Diagnostics as Nova's libvirt driver answered before 2.48: cpuN_time,
    memory (KiB), one set of counters per disk (vda, vdb, ...) and per NIC."""
    flat = {f"cpu{cpu['id']}_time": cpu["time"] for cpu in standard["cpu_details"]}
    memory = standard["memory_details"]
    flat["memory"] = memory["maximum"] * 1024
    flat["memory-actual"] = memory["maximum"] * 1024
    flat["memory-rss"] = memory["used"] * 1024
    for index, disk in enumerate(standard["disk_details"]):
        name = "vd" + chr(ord("a") + index)
        flat.update({f"{name}_read": disk["read_bytes"],
                     f"{name}_read_req": disk["read_requests"],
                     f"{name}_write": disk["write_bytes"],
                     f"{name}_write_req": disk["write_requests"],
                     f"{name}_errors": disk["errors_count"]})
    for index, nic in enumerate(standard["nic_details"]):
        name = f"tap{index}"
        for direction in ("rx", "tx"):
            flat.update({f"{name}_{direction}": nic[f"{direction}_octets"],
                         f"{name}_{direction}_packets": nic[f"{direction}_packets"],
                         f"{name}_{direction}_errors": nic[f"{direction}_errors"],
                         f"{name}_{direction}_drop": nic[f"{direction}_drop"]})
    return flat
