"""os-instance_usage_audit_log: the servers each compute host had during the
last completed month before now or before a given time."""

from __future__ import annotations

import datetime

import pytest

from tests.compute.helpers import add_host, add_instance


@pytest.fixture
def config_overrides() -> dict:
    return {("compute", "run_services"): False}


def test_audit_of_a_month(api, admin, alice):
    add_host(api, "cmp1")
    add_host(api, "cmp2")
    october = datetime.datetime(2026, 10, 10)
    add_instance(api, "p1", "u1", host="cmp1", launched_at=october)
    add_instance(api, "p1", "u1", host="cmp1", launched_at=october - datetime.timedelta(days=60),
                 terminated_at=october, deleted=True)
    # Gone before October, or launched after it: not audited for October.
    add_instance(api, "p1", "u1", host="cmp2", launched_at=october - datetime.timedelta(days=60),
                 terminated_at=october - datetime.timedelta(days=30), deleted=True)
    add_instance(api, "p1", "u1", host="cmp2", launched_at=datetime.datetime(2026, 11, 2))
    response = admin.get("/os-instance_usage_audit_log/2026-11-24%2018:00:00")
    assert response.status_code == 200, response.text
    log = response.json()["instance_usage_audit_log"]
    assert log["period_beginning"] == "2026-10-01 00:00:00"
    assert log["period_ending"] == "2026-11-01 00:00:00"
    assert log["num_hosts"] == log["num_hosts_done"] == 2 and log["hosts_not_run"] == []
    assert log["total_instances"] == 2 and log["total_errors"] == 0
    assert log["log"]["cmp1"]["instances"] == 2 and log["log"]["cmp2"]["instances"] == 0
    assert log["overall_status"] == "ALL hosts done. 0 errors."
    with_micro = admin.get("/os-instance_usage_audit_log/2026-12-01%2000:00:00.5")
    assert with_micro.json()["instance_usage_audit_log"]["total_instances"] == 2
    listed = admin.get("/os-instance_usage_audit_log").json()["instance_usage_audit_logs"]
    assert listed["num_hosts"] == 2


def test_bad_time_and_non_admin(api, admin, alice):
    assert admin.get("/os-instance_usage_audit_log/invalid_time").status_code == 400
    assert admin.get("/os-instance_usage_audit_log/2026-13-01%2000:00:00").status_code == 400
    assert alice.get("/os-instance_usage_audit_log").status_code == 403
    assert alice.get("/os-instance_usage_audit_log/2026-11-24%2018:00:00").status_code == 403
