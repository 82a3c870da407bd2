"""Server diagnostics (admin): the fake driver's figures for a running server,
in Nova's standard form from 2.48 and libvirt's flat names before."""

from __future__ import annotations

from stacklet.compute import states
from stacklet.compute.models import Instance
from tests.compute.helpers import active_image, boot_active


def test_diagnostics(api, admin, alice):
    server = boot_active(alice, active_image(api, alice.token))
    path = f"/servers/{server['id']}/diagnostics"
    standard = admin.get(path, "2.48")
    assert standard.status_code == 200, standard.text
    figures = standard.json()
    assert figures["state"] == "running" and figures["driver"] == "libvirt"
    assert figures["num_cpus"] == 1 and len(figures["cpu_details"]) == 1
    assert figures["memory_details"]["maximum"] == 512
    assert figures["num_disks"] == len(figures["disk_details"]) == 1
    assert figures["num_nics"] == 0 and figures["config_drive"] is False
    legacy = admin.get(path).json()
    assert legacy["memory"] == 512 * 1024 and "cpu0_time" in legacy and "vda_read" in legacy
    assert alice.get(path).status_code == 403
    assert admin.get("/servers/00000000-0000-0000-0000-000000000000/diagnostics"
                     ).status_code == 404


def test_not_running_is_a_conflict(api, admin, alice):
    server = boot_active(alice, active_image(api, alice.token))
    with api.cloud.db.transaction() as session:
        session.get(Instance, server["id"]).power_state = states.SHUTDOWN
    refused = admin.get(f"/servers/{server['id']}/diagnostics", "2.48")
    assert refused.status_code == 409
    assert "power state shutdown" in refused.json()["conflictingRequest"]["message"]
