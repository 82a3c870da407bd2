"""Server groups over HTTP: create per microversion, list, show, delete, quota and
refusals; and where the conductor places their members on several hosts."""

from __future__ import annotations

import time

import pytest

from stacklet.compute.conductor import NO_VALID_HOST
from tests.compute.helpers import TINY_FLAVOR, active_image, boot, wait_for_status

GROUPS = "/os-server-groups"


@pytest.fixture
def config_overrides():
    # Three fake hosts, all run by this process's agent.
    return {("compute", "fake_hosts"): 3, ("compute", "quota_server_groups"): 3}


def _create(compute, microversion: str = "2.1", expect: int = 200, **group) -> dict:
    response = compute.post(GROUPS, {"server_group": group}, microversion=microversion)
    assert response.status_code == expect, response.text
    return response.json()


def test_views_per_microversion(alice):
    old = _create(alice, name="web", policies=["anti-affinity"])["server_group"]
    assert old["policies"] == ["anti-affinity"] and old["metadata"] == {}
    assert old["members"] == [] and "project_id" not in old

    soft = _create(alice, "2.15", name="soft", policies=["soft-affinity"])["server_group"]
    assert soft["policies"] == ["soft-affinity"] and soft["project_id"] == alice.project_id

    new = _create(alice, "2.64", name="spread", policy="anti-affinity",
                  rules={"max_server_per_host": "2"})["server_group"]
    assert new["policy"] == "anti-affinity" and new["rules"] == {"max_server_per_host": 2}
    assert "policies" not in new and "metadata" not in new and new["user_id"]

    shown = alice.get(f"{GROUPS}/{old['id']}", microversion="2.64").json()["server_group"]
    assert shown["policy"] == "anti-affinity" and shown["rules"] == {}
    assert alice.get(f"{GROUPS}/{new['id']}").json()["server_group"]["policies"] == \
        ["anti-affinity"]


@pytest.mark.parametrize("microversion, group", [
    ("2.1", {"name": "x", "policies": ["soft-affinity"]}),         # soft only from 2.15
    ("2.1", {"name": "x", "policies": ["affinity", "anti-affinity"]}),
    ("2.1", {"name": "x", "policies": []}),
    ("2.1", {"name": "x", "policies": ["spread-out"]}),
    ("2.1", {"name": "x", "policy": "affinity"}),                  # policy only from 2.64
    ("2.1", {"name": "", "policies": ["affinity"]}),
    ("2.1", {"name": " padded ", "policies": ["affinity"]}),
    ("2.1", {"name": "n" * 256, "policies": ["affinity"]}),
    ("2.1", {"policies": ["affinity"]}),
    ("2.64", {"name": "x", "policies": ["affinity"]}),
    ("2.64", {"name": "x", "policy": "affinity", "rules": {"max_server_per_host": 2}}),
    ("2.64", {"name": "x", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}}),
    ("2.64", {"name": "x", "policy": "anti-affinity", "rules": {"other": 1}}),
])
def test_bad_requests_create_nothing(alice, microversion, group):
    _create(alice, microversion, expect=400, **group)
    assert alice.get(GROUPS).json()["server_groups"] == []


def test_rules_only_with_anti_affinity(alice):
    response = alice.post(GROUPS, {"server_group": {
        "name": "x", "policy": "soft-anti-affinity", "rules": {"max_server_per_host": 2}}},
        microversion="2.64")
    assert response.json()["badRequest"]["message"] == "Only anti-affinity policy supports rules."


def test_quota_list_pages_and_projects(alice, bob, admin):
    ids = [_create(alice, name=f"g{n}", policies=["affinity"])["server_group"]["id"]
           for n in range(3)]
    over = alice.post(GROUPS, {"server_group": {"name": "g4", "policies": ["affinity"]}})
    assert over.status_code == 403
    assert over.json()["forbidden"]["message"] == "Quota exceeded, too many server groups."
    theirs = _create(bob, name="bobs", policies=["affinity"])["server_group"]["id"]

    listed = [g["id"] for g in alice.get(GROUPS).json()["server_groups"]]
    assert listed == ids
    assert [g["id"] for g in alice.get(f"{GROUPS}?limit=1&offset=1").json()[
        "server_groups"]] == [ids[1]]
    # A member asking for every project's groups quietly gets their own.
    assert [g["id"] for g in alice.get(f"{GROUPS}?all_projects=True").json()[
        "server_groups"]] == ids
    everyone = {g["id"] for g in admin.get(f"{GROUPS}?all_projects=True").json()[
        "server_groups"]}
    assert everyone == set(ids) | {theirs}
    assert alice.get(f"{GROUPS}?limit=-1").status_code == 400
    assert alice.get(f"{GROUPS}?bogus=1", microversion="2.75").status_code == 400
    assert alice.get(f"{GROUPS}?bogus=1", microversion="2.74").status_code == 200

    # Another project's group does not exist for alice.
    assert alice.get(f"{GROUPS}/{theirs}").status_code == 404
    assert alice.delete(f"{GROUPS}/{theirs}").status_code == 404
    assert admin.get(f"{GROUPS}/{theirs}").status_code == 200

    assert alice.delete(f"{GROUPS}/{ids[0]}").status_code == 204
    assert alice.get(f"{GROUPS}/{ids[0]}").status_code == 404
    # Deleting gave the quota back.
    _create(alice, name="again", policies=["affinity"])


def _host(admin, server_id: str) -> str | None:
    """The host the conductor chose, or None once the server is in ERROR."""
    deadline = time.monotonic() + 15
    while True:
        server = admin.get(f"/servers/{server_id}").json()["server"]
        if server["status"] == "ERROR":
            return None
        if server["OS-EXT-SRV-ATTR:host"]:
            return server["OS-EXT-SRV-ATTR:host"]
        assert time.monotonic() < deadline, "the server was never placed"
        time.sleep(0.05)


def _boot_into(compute, image_id: str, group_id: str, **fields) -> str:
    """Boot into a group (a hint beside the server, not in it); the first server's id."""
    response = compute.post("/servers", {
        "server": {"name": "member", "imageRef": image_id, "flavorRef": TINY_FLAVOR,
                   **fields},
        "os:scheduler_hints": {"group": group_id}})
    assert response.status_code == 202, response.text
    return response.json()["server"]["id"]


def test_anti_affinity_spreads_members_and_refuses_a_fourth(api, alice, admin):
    image_id = active_image(api, alice.token)
    group = _create(alice, name="apart", policies=["anti-affinity"])["server_group"]
    members = [_boot_into(alice, image_id, group["id"]) for _ in range(3)]
    assert len({_host(admin, server_id) for server_id in members}) == 3
    for server_id in members:
        wait_for_status(alice, server_id, "ACTIVE")

    fourth = _boot_into(alice, image_id, group["id"])
    assert _host(admin, fourth) is None
    failed = alice.get(f"/servers/{fourth}").json()["server"]
    assert failed["status"] == "ERROR" and failed["fault"]["message"] == NO_VALID_HOST
    # Its create action ends in error at the conductor.
    (action,) = admin.get(f"/servers/{fourth}/os-instance-actions").json()["instanceActions"]
    assert action["message"] == "Error"
    (event,) = admin.get(f"/servers/{fourth}/os-instance-actions/{action['request_id']}",
                         microversion="2.84").json()["instanceAction"]["events"]
    assert event["result"] == "Error" and event["details"] == NO_VALID_HOST

    shown = alice.get(f"{GROUPS}/{group['id']}").json()["server_group"]
    assert sorted(shown["members"]) == sorted(members + [fourth])
    # Deleted servers leave the group.
    assert alice.delete(f"/servers/{members[0]}").status_code == 204
    wait_for_status(alice, members[0], "DELETED")
    shown = alice.get(f"{GROUPS}/{group['id']}").json()["server_group"]
    assert sorted(shown["members"]) == sorted(members[1:] + [fourth])
    groups = alice.get(f"/servers/{members[1]}", microversion="2.71").json()["server"]
    assert groups["server_groups"] == [group["id"]]


def test_max_server_per_host(api, alice, admin):
    image_id = active_image(api, alice.token)
    group = _create(alice, "2.64", name="pairs", policy="anti-affinity",
                    rules={"max_server_per_host": 2})["server_group"]
    # Seven servers in one request cannot fit two to a host on three hosts: none boot.
    too_many = _boot_into(alice, image_id, group["id"], min_count=7, max_count=7)
    listed = alice.get("/servers").json()["servers"]
    assert all(_host(admin, server["id"]) is None for server in listed)
    assert too_many in {server["id"] for server in listed}
    for server in listed:
        assert alice.delete(f"/servers/{server['id']}").status_code == 204

    # Six can: two on each host.
    _boot_into(alice, image_id, group["id"], min_count=6, max_count=6)
    placed = [_host(admin, server["id"])
              for server in alice.get("/servers").json()["servers"]
              if server["id"] not in {s["id"] for s in listed}]
    assert sorted(placed.count(host) for host in set(placed)) == [2, 2, 2]


def test_affinity_keeps_members_together(api, alice, admin):
    image_id = active_image(api, alice.token)
    group = _create(alice, name="together", policies=["affinity"])["server_group"]
    members = [_boot_into(alice, image_id, group["id"]) for _ in range(3)]
    assert len({_host(admin, server_id) for server_id in members}) == 1
    # Servers outside the group spread by free memory as usual.
    loners = [boot(alice, image_id)["server"]["id"] for _ in range(2)]
    assert len({_host(admin, server_id) for server_id in members + loners}) > 1
