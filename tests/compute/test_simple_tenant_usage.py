"""os-simple-tenant-usage: hours of servers overlapping a period, per project."""

from __future__ import annotations

import datetime

import pytest

from tests.compute.helpers import add_instance

DAY = datetime.datetime(2030, 1, 1)
PERIOD = "start=2030-01-01T00:00:00&end=2030-01-02T00:00:00"


def at(hours: float) -> datetime.datetime:
    return DAY + datetime.timedelta(hours=hours)


@pytest.fixture
def servers(api, alice, bob):
    """alice: one server running all day and one for the last six hours of it (then
    deleted); a server that ended before the day; bob: one from mid-day on."""
    add = add_instance
    return {
        "all_day": add(api, alice.project_id, alice.user_id, vcpus=2, ram=1024,
                       launched_at=at(-5), display_name="all-day",
                       created_at=at(-5)),
        "evening": add(api, alice.project_id, alice.user_id, vcpus=1, ram=512,
                       launched_at=at(18), terminated_at=at(30), deleted=True,
                       created_at=at(18)),
        "before": add(api, alice.project_id, alice.user_id, launched_at=at(-10),
                      terminated_at=at(-2), created_at=at(-10)),
        "bobs": add(api, bob.project_id, bob.user_id, launched_at=at(12), created_at=at(12)),
        "never": add(api, bob.project_id, bob.user_id, launched_at=None, created_at=at(1)),
    }


def test_project_usage(alice, servers):
    response = alice.get(f"/os-simple-tenant-usage/{alice.project_id}?{PERIOD}")
    assert response.status_code == 200, response.text
    usage = response.json()["tenant_usage"]
    assert usage["total_hours"] == pytest.approx(30)
    assert usage["total_vcpus_usage"] == pytest.approx(2 * 24 + 6)
    assert usage["total_memory_mb_usage"] == pytest.approx(1024 * 24 + 512 * 6)
    assert usage["total_local_gb_usage"] == pytest.approx(30)
    assert usage["start"] == "2030-01-01T00:00:00" and usage["stop"] == "2030-01-02T00:00:00"
    by_id = {server["instance_id"]: server for server in usage["server_usages"]}
    assert set(by_id) == {servers["all_day"], servers["evening"]}
    evening = by_id[servers["evening"]]
    assert evening["state"] == "terminated" and evening["hours"] == pytest.approx(6)
    assert evening["uptime"] == 12 * 3600 and evening["flavor"] == "m1.tiny"
    assert by_id[servers["all_day"]]["state"] == "active"


def test_all_projects_and_pages(admin, alice, bob, servers):
    listed = admin.get(f"/os-simple-tenant-usage?{PERIOD}").json()["tenant_usages"]
    assert {u["tenant_id"]: u["total_hours"] for u in listed} == \
        {alice.project_id: pytest.approx(30), bob.project_id: pytest.approx(12)}
    assert "server_usages" not in listed[0]
    detailed = admin.get(f"/os-simple-tenant-usage?{PERIOD}&detailed=1").json()
    assert all("server_usages" in u for u in detailed["tenant_usages"])
    assert alice.get(f"/os-simple-tenant-usage?{PERIOD}").status_code == 403
    assert bob.get(f"/os-simple-tenant-usage/{alice.project_id}").status_code == 403

    first = admin.get(f"/os-simple-tenant-usage?{PERIOD}&limit=1", "2.40").json()
    assert len(first["tenant_usages"]) == 1
    assert "marker=" in first["tenant_usages_links"][0]["href"]


def test_empty_and_bad_periods(admin, alice, servers):
    empty = alice.get(f"/os-simple-tenant-usage/{alice.project_id}"
                      "?start=2020-01-01T00:00:00&end=2020-01-02T00:00:00")
    assert empty.json() == {"tenant_usage": {}}
    assert admin.get("/os-simple-tenant-usage?start=yesterday").status_code == 400
    # An empty project id is no project, not the listing.
    assert admin.get(f"/os-simple-tenant-usage/?{PERIOD}").status_code == 404
    assert admin.get("/os-simple-tenant-usage?start=2030-01-02T00:00:00"
                     "&end=2030-01-01T00:00:00").status_code == 400
