"""os-services: listing with up/down and zones, enabling, disabling, forcing down
(by host and binary before 2.53, by uuid after) and deleting."""

from __future__ import annotations

import datetime

import pytest

from stacklet.compute.hostinfo import service_is_up
from stacklet.compute.models import ComputeService
from tests.compute.helpers import add_host, add_instance, add_service, now


@pytest.fixture
def config_overrides() -> dict:
    # Only the hosts and services a test adds: this cloud runs no compute
    # services of its own (an API-only host).
    return {("compute", "run_services"): False}


def services(caller, query="", microversion="2.1"):
    response = caller.get(f"/os-services{query}", microversion)
    assert response.status_code == 200, response.text
    return response.json()["services"]


def test_service_is_up_rule():
    moment = now()
    seen = ComputeService(last_seen_up=moment - datetime.timedelta(seconds=30),
                          forced_down=False)
    assert service_is_up(seen, moment, 60)
    assert not service_is_up(seen, moment, 10)
    seen.forced_down = True
    assert not service_is_up(seen, moment, 60)
    assert not service_is_up(ComputeService(last_seen_up=None, forced_down=False), moment, 60)


def test_list_and_filters(api, admin, alice):
    add_host(api, "cmp1", zone="zone-a")
    add_host(api, "cmp2", alive=False)
    add_service(api, "ctl", "nova-conductor")
    listed = services(admin)
    assert [(s["host"], s["binary"], s["zone"], s["state"], s["status"]) for s in listed] == [
        ("cmp1", "nova-compute", "zone-a", "up", "enabled"),
        ("cmp2", "nova-compute", "nova", "down", "enabled"),
        ("ctl", "nova-conductor", "internal", "up", "enabled")]
    assert isinstance(listed[0]["id"], int) and "forced_down" not in listed[0]
    newest = services(admin, microversion="2.53")[0]
    assert len(newest["id"]) == 36 and newest["forced_down"] is False
    assert [s["host"] for s in services(admin, "?host=cmp2")] == ["cmp2"]
    assert [s["host"] for s in services(admin, "?binary=nova-conductor")] == ["ctl"]
    assert alice.get("/os-services").status_code == 403


def test_legacy_actions(api, admin):
    add_host(api, "cmp1")
    add_service(api, "ctl", "nova-scheduler")
    host = {"host": "cmp1", "binary": "nova-compute"}
    disabled = admin.put("/os-services/disable-log-reason", {**host, "disabled_reason": "fix"})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["service"] == {**host, "status": "disabled", "disabled_reason": "fix"}
    assert services(admin)[0]["disabled_reason"] == "fix"
    assert admin.put("/os-services/enable", host).json()["service"] == {**host,
                                                                        "status": "enabled"}
    assert services(admin)[0]["disabled_reason"] is None
    assert admin.put("/os-services/disable", host).json()["service"]["status"] == "disabled"
    assert admin.put("/os-services/force-down", {**host, "forced_down": True}).status_code == 400
    forced = admin.put("/os-services/force-down", {**host, "forced_down": True}, "2.11")
    assert forced.json()["service"] == {**host, "forced_down": True}
    assert services(admin, microversion="2.11")[0]["state"] == "down"
    assert admin.put("/os-services/enable", {"host": "nope", "binary": "nova-compute"}
                     ).status_code == 404
    assert admin.put("/os-services/enable", {"host": "ctl", "binary": "nova-scheduler"}
                     ).status_code == 400
    assert admin.put("/os-services/dance", host).status_code == 400


def test_update_by_uuid(api, admin):
    service_id = add_host(api, "cmp1")
    url = f"/os-services/{service_id}"
    updated = admin.put(url, {"status": "disabled", "disabled_reason": "maint"}, "2.53")
    assert updated.status_code == 200, updated.text
    view = updated.json()["service"]
    assert (view["id"], view["status"], view["disabled_reason"]) == (service_id, "disabled",
                                                                     "maint")
    forced = admin.put(url, {"forced_down": "yes"}, "2.53").json()["service"]
    assert forced["forced_down"] is True and forced["state"] == "down"
    enabled = admin.put(url, {"status": "enabled"}, "2.53").json()["service"]
    assert enabled["status"] == "enabled" and enabled["disabled_reason"] is None
    for bad in ({}, {"status": "enabled", "disabled_reason": "x"}, {"status": "sleepy"}):
        assert admin.put(url, bad, "2.53").status_code == 400, bad
    assert admin.put("/os-services/disable", {"host": "cmp1", "binary": "nova-compute"},
                     "2.53").status_code == 400
    assert admin.put("/os-services/00000000-0000-0000-0000-000000000000",
                     {"status": "enabled"}, "2.53").status_code == 404


class TestConfiguredDownTime:
    @pytest.fixture
    def config_overrides(self):
        return {("compute", "service_down_time"): 7200}

    def test_down_time_is_configured(self, api, admin):
        add_host(api, "late", alive=False)   # last seen an hour ago
        assert services(admin)[0]["state"] == "up"


def test_delete(api, admin, alice):
    service_id = add_host(api, "cmp1")
    other = add_host(api, "cmp2")
    add_instance(api, alice.project_id, alice.user_id, host="cmp1")
    busy = admin.delete(f"/os-services/{service_id}", "2.53")
    assert busy.status_code == 409
    assert admin.delete(f"/os-services/{other}", "2.53").status_code == 204
    assert admin.get("/os-hypervisors", "2.53").json()["hypervisors"][0][
        "hypervisor_hostname"] == "cmp1.example"
    legacy_id = services(admin)[0]["id"]
    assert admin.delete("/os-services/not-a-uuid", "2.53").status_code == 400
    assert admin.delete("/os-services/9999").status_code == 404
    assert alice.delete(f"/os-services/{legacy_id}").status_code == 403
    scheduler = add_service(api, "ctl", "nova-scheduler")
    assert admin.delete(f"/os-services/{scheduler}", "2.53").status_code == 204
