"""os-hosts (until 2.42): hosts by zone, a host's resources, and the power and
maintenance actions no driver of Stacklet supports."""

from __future__ import annotations

import pytest

from tests.compute.helpers import add_host, add_instance, add_service


@pytest.fixture
def config_overrides() -> dict:
    return {("compute", "run_services"): False}


def test_list_by_zone(api, admin, alice):
    add_host(api, "cmp1", zone="zone-a")
    add_host(api, "cmp2")
    add_service(api, "ctl", "nova-conductor")
    listed = admin.get("/os-hosts").json()["hosts"]
    assert sorted((h["host_name"], h["service"], h["zone"]) for h in listed) == [
        ("cmp1", "compute", "zone-a"), ("cmp2", "compute", "nova"),
        ("ctl", "conductor", "internal")]
    assert [h["host_name"] for h in admin.get("/os-hosts?zone=zone-a").json()["hosts"]] == \
        ["cmp1"]
    assert len(admin.get("/os-hosts?zone=").json()["hosts"]) == 3
    assert admin.get("/os-hosts?zone=xxx").json()["hosts"] == []
    assert alice.get("/os-hosts").status_code == 403
    assert admin.get("/os-hosts", "2.43").status_code == 404


def test_show_resources(api, admin, alice):
    add_host(api, "cmp1", vcpus=8, memory_mb=16384, local_gb=100, vcpus_used=3,
             memory_mb_used=1536, local_gb_used=3)
    add_instance(api, "p1", "u1", host="cmp1", vcpus=1, ram=512)
    add_instance(api, "p2", "u2", host="cmp1", vcpus=2, ram=1024)
    add_instance(api, "p2", "u2", host="cmp1", deleted=True)
    rows = [row["resource"] for row in admin.get("/os-hosts/cmp1").json()["host"]]
    assert [(r["project"], r["cpu"], r["memory_mb"], r["disk_gb"]) for r in rows] == [
        ("(total)", 8, 16384, 100), ("(used_now)", 3, 1536, 3), ("(used_max)", 3, 1536, 2),
        ("p1", 1, 512, 1), ("p2", 2, 1024, 1)]
    assert all(r["host"] == "cmp1" for r in rows)
    assert admin.get("/os-hosts/nowhere").status_code == 404
    assert alice.get("/os-hosts/cmp1").status_code == 403


def test_actions_the_drivers_do_not_support(api, admin, alice):
    add_host(api, "cmp1")
    enable = {"status": "enable", "maintenance_mode": "enable"}
    assert admin.put("/os-hosts/cmp1", enable).status_code == 501
    assert admin.put("/os-hosts/cmp1", {"status": "disable"}).status_code == 501
    assert admin.put("/os-hosts/nowhere", enable).status_code == 404
    assert admin.put("/os-hosts/cmp1", {}).status_code == 400
    assert admin.put("/os-hosts/cmp1", {"status": "invalid"}).status_code == 400
    assert alice.put("/os-hosts/cmp1", enable).status_code == 403
    for action in ("reboot", "shutdown", "startup"):
        assert admin.get(f"/os-hosts/cmp1/{action}").status_code == 501
        assert admin.get(f"/os-hosts/nowhere/{action}").status_code == 404
        assert alice.get(f"/os-hosts/cmp1/{action}").status_code == 403
