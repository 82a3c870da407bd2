"""os-availability-zone: zones of compute hosts, available while one of their
enabled compute services is up; the detail lists hosts and services."""

from __future__ import annotations

import pytest

from tests.compute.helpers import add_host, add_service


@pytest.fixture
def config_overrides() -> dict:
    # Only the hosts and services a test adds: this cloud runs no compute
    # services of its own (an API-only host).
    return {("compute", "run_services"): False}


def zones(caller, path=""):
    response = caller.get(f"/os-availability-zone{path}")
    assert response.status_code == 200, response.text
    return {zone["zoneName"]: zone for zone in response.json()["availabilityZoneInfo"]}


def test_zones(api, admin, alice):
    add_host(api, "a1", zone="zone-a")
    add_host(api, "a2", zone="zone-a", alive=False)
    add_host(api, "b1", zone="zone-b", alive=False)
    disabled = add_host(api, "c1", zone="zone-c")
    admin.put(f"/os-services/{disabled}", {"status": "disabled"}, "2.53")
    add_service(api, "ctl", "nova-conductor")
    listed = zones(alice)
    assert {name: zone["zoneState"]["available"] for name, zone in listed.items()} == \
        {"zone-a": True, "zone-b": False, "zone-c": False}
    assert listed["zone-a"]["hosts"] is None


def test_detail(api, admin, alice):
    add_host(api, "a1", zone="zone-a")
    add_service(api, "ctl", "nova-conductor")
    add_service(api, "ctl", "nova-scheduler", alive=False)
    detail = zones(admin, "/detail")
    assert set(detail) == {"zone-a", "internal"}
    compute = detail["zone-a"]["hosts"]["a1"]["nova-compute"]
    assert compute["available"] is True and compute["active"] is True
    assert compute["updated_at"]
    internal = detail["internal"]
    assert internal["zoneState"]["available"] is True
    assert set(internal["hosts"]["ctl"]) == {"nova-conductor", "nova-scheduler"}
    assert internal["hosts"]["ctl"]["nova-scheduler"]["available"] is False
    assert alice.get("/os-availability-zone/detail").status_code == 403
