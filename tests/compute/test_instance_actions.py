"""os-instance-actions over HTTP: what was done to a server, its events per
microversion and policy, pages, and deleted servers."""

from __future__ import annotations

import datetime

from stacklet.compute.models import InstanceAction
from tests.compute.helpers import (
    TINY_FLAVOR,
    active_image,
    boot,
    boot_active,
    wait_for_status,
)


def _actions(compute, server_id: str, query: str = "", microversion: str = "2.1"):
    response = compute.get(f"/servers/{server_id}/os-instance-actions{query}",
                           microversion=microversion)
    assert response.status_code == 200, response.text
    return response.json()


def _show(compute, server_id: str, request_id: str, microversion: str) -> dict:
    response = compute.get(f"/servers/{server_id}/os-instance-actions/{request_id}",
                           microversion=microversion)
    assert response.status_code == 200, response.text
    return response.json()["instanceAction"]


def test_actions_and_their_events(api, alice, admin):
    response = alice.post("/servers", {"server": {
        "name": "vm", "imageRef": active_image(api, alice.token), "flavorRef": TINY_FLAVOR}})
    assert response.status_code == 202, response.text
    server = wait_for_status(alice, response.json()["server"]["id"], "ACTIVE")
    (create,) = _actions(alice, server["id"])["instanceActions"]
    assert create["action"] == "create" and create["instance_uuid"] == server["id"]
    assert create["request_id"] == response.headers["x-compute-request-id"]
    assert create["project_id"] == alice.project_id and create["message"] is None
    assert "updated_at" not in create

    # Before 2.51 only those the events policy allows (admins) see events.
    assert "events" not in _show(alice, server["id"], create["request_id"], "2.50")
    events = _show(alice, server["id"], create["request_id"], "2.51")["events"]
    assert [event["event"] for event in events] == [
        "conductor_schedule_and_build_instances", "compute__do_build_and_run_instance"]
    assert all(event["result"] == "Success" and event["finish_time"] for event in events)
    assert not any("traceback" in event or "hostId" in event for event in events)

    member_view = _show(alice, server["id"], create["request_id"], "2.84")
    build = member_view["events"][1]
    assert build["hostId"] == server["hostId"]
    assert "host" not in build and "details" not in build
    assert member_view["updated_at"]

    build = _show(admin, server["id"], create["request_id"], "2.84")["events"][1]
    assert build["host"] == api.cloud.host and build["traceback"] is None
    assert "details" in build

    missing = alice.get(f"/servers/{server['id']}/os-instance-actions/req-nothing")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == "Action req-nothing not found"


def test_deleted_servers_keep_their_actions_from_2_21(api, alice, bob):
    server = boot_active(alice, active_image(api, alice.token))
    assert alice.delete(f"/servers/{server['id']}").status_code == 204
    wait_for_status(alice, server["id"], "DELETED")
    path = f"/servers/{server['id']}/os-instance-actions"
    assert alice.get(path, microversion="2.20").status_code == 404
    actions = _actions(alice, server["id"], microversion="2.21")["instanceActions"]
    # Newest first.
    assert [action["action"] for action in actions] == ["delete", "create"]
    assert bob.get(path, microversion="2.21").status_code == 404


def test_pages_and_change_windows(api, alice):
    server = boot(alice, active_image(api, alice.token))["server"]
    wait_for_status(alice, server["id"], "ACTIVE")
    # Two more actions, as the server actions record them.
    with api.cloud.db.transaction() as session:
        for index in range(2):
            session.add(InstanceAction(instance_id=server["id"], action="reboot",
                                       request_id=f"req-reboot-{index}",
                                       project_id=alice.project_id, user_id="u"))
    everything = _actions(alice, server["id"], microversion="2.58")["instanceActions"]
    assert [a["request_id"] for a in everything][:2] == ["req-reboot-1", "req-reboot-0"]
    assert "links" not in _actions(alice, server["id"], microversion="2.58")

    first = _actions(alice, server["id"], "?limit=2", "2.58")
    assert [a["request_id"] for a in first["instanceActions"]] == \
        ["req-reboot-1", "req-reboot-0"]
    assert "marker=req-reboot-0" in first["links"][0]["href"]
    rest = _actions(alice, server["id"], "?limit=2&marker=req-reboot-0", "2.58")
    assert [a["action"] for a in rest["instanceActions"]] == ["create"]
    assert "links" not in rest
    bad = alice.get(f"/servers/{server['id']}/os-instance-actions?marker=nope",
                    microversion="2.58")
    assert bad.status_code == 400

    future = (datetime.datetime.utcnow() + datetime.timedelta(hours=1)).isoformat() + "Z"
    past = "2000-01-01T00:00:00Z"
    assert _actions(alice, server["id"], f"?changes-since={future}",
                    "2.58")["instanceActions"] == []
    assert len(_actions(alice, server["id"], f"?changes-since={past}",
                        "2.58")["instanceActions"]) == 3
    assert _actions(alice, server["id"], f"?changes-before={past}",
                    "2.66")["instanceActions"] == []
    backwards = alice.get(f"/servers/{server['id']}/os-instance-actions"
                          f"?changes-since={future}&changes-before={past}", microversion="2.66")
    assert backwards.status_code == 400
    assert alice.get(f"/servers/{server['id']}/os-instance-actions?changes-since=yesterday",
                     microversion="2.58").status_code == 400
