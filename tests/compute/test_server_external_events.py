"""os-server-external-events: events about servers from other services, each
answered with its own code; 207 when some were not delivered."""

from __future__ import annotations

import uuid

from tests.compute.helpers import active_image, add_instance, boot_active


def send(admin, events, microversion="2.1"):
    return admin.post("/os-server-external-events", {"events": events}, microversion)


def test_events(api, admin, alice):
    server = boot_active(alice, active_image(api, alice.token))
    delivered = send(admin, [{"name": "network-changed", "server_uuid": server["id"]}])
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["events"] == [{"name": "network-changed", "code": 200,
                                           "server_uuid": server["id"],
                                           "status": "completed"}]
    hostless = add_instance(api, alice.project_id, alice.user_id, host=None)
    unknown = str(uuid.uuid4())
    mixed = send(admin, [
        {"name": "network-vif-plugged", "server_uuid": server["id"], "tag": "port-1",
         "status": "in-progress"},
        {"name": "network-vif-deleted", "server_uuid": unknown},
        {"name": "network-vif-unplugged", "server_uuid": hostless}])
    assert mixed.status_code == 207, mixed.text
    assert [(event["code"], event["status"]) for event in mixed.json()["events"]] == [
        (200, "in-progress"), (404, "failed"), (422, "failed")]
    nothing = send(admin, [{"name": "network-changed", "server_uuid": unknown}])
    assert nothing.status_code == 404


def test_events_by_microversion(api, admin, alice):
    server = boot_active(alice, active_image(api, alice.token))
    extended = {"name": "volume-extended", "server_uuid": server["id"], "tag": "vol-1"}
    assert send(admin, [extended], "2.50").status_code == 400
    assert send(admin, [extended], "2.51").status_code == 200
    untagged = send(admin, [{"name": "volume-extended", "server_uuid": server["id"]},
                            extended], "2.51")
    assert [event["code"] for event in untagged.json()["events"]] == [400, 200]
    for name, since in (("power-update", "2.76"), ("accelerator-request-bound", "2.82"),
                        ("volume-reimaged", "2.93")):
        event = {"name": name, "server_uuid": server["id"], "tag": "POWER_ON"}
        assert send(admin, [event], since).status_code == 200
        before = f"2.{int(since.split('.')[1]) - 1}"
        assert send(admin, [event], before).status_code == 400


def test_bad_requests(api, admin, alice):
    server_id = str(uuid.uuid4())
    assert send(admin, []).status_code == 400
    assert send(admin, [{"name": "reboot", "server_uuid": server_id}]).status_code == 400
    assert send(admin, [{"name": "network-changed", "server_uuid": "x"}]).status_code == 400
    assert send(alice, [{"name": "network-changed", "server_uuid": server_id}]
                ).status_code == 403
