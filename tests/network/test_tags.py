"""Tags on network resources: replace, add, check, remove, and who may."""

from __future__ import annotations

import pytest

from stacklet.network.models import Router
from tests.network.conftest import neutron_error


def test_tag_lifecycle_on_a_network(alice):
    network = alice.create("network", name="tagged")
    path = f"/networks/{network['id']}/tags"
    added = alice.put(f"{path}/red")
    assert added.status_code == 201 and added.content == b""
    assert alice.get(f"{path}/red").status_code == 204
    assert alice.get(path).json() == {"tags": ["red"]}
    replaced = alice.put(path, {"tags": ["b", "a", "c", "a"]})
    assert replaced.status_code == 200 and replaced.json() == {"tags": ["a", "b", "c"]}
    assert alice.delete(f"{path}/a").status_code == 204
    missing = alice.get(f"{path}/a")
    assert missing.status_code == 404 and neutron_error(missing)["type"] == "TagNotFound"
    again = alice.delete(f"{path}/a")
    assert again.status_code == 404 and neutron_error(again)["type"] == "TagNotFound"
    shown = alice.get(f"/networks/{network['id']}").json()["network"]
    assert shown["tags"] == ["b", "c"]
    # Each change bumped the network's revision: add, replace, remove.
    assert shown["revision_number"] == network["revision_number"] + 3
    assert alice.delete(path).status_code == 204
    assert alice.get(path).json() == {"tags": []}
    assert [n["id"] for n in alice.get("/networks?tags=b").json()["networks"]] == []


def test_tags_on_security_groups_are_listed_and_filtered(alice):
    group = alice.create("security_group", name="sg")
    assert alice.put(f"/security-groups/{group['id']}/tags",
                     {"tags": ["web"]}).status_code == 200
    shown = alice.get(f"/security-groups/{group['id']}").json()["security_group"]
    assert shown["tags"] == ["web"]
    found = alice.get("/security-groups?tags=web").json()["security_groups"]
    assert [g["id"] for g in found] == [group["id"]]


def test_tags_on_a_router_follow_its_owner(api, alice, bob):
    with api.cloud.db.transaction() as session:
        router = Router(project_id=alice.project_id, name="r")
        session.add(router)
        session.flush()
        router_id = router.id
    assert alice.put(f"/routers/{router_id}/tags/edge").status_code == 201
    assert alice.get(f"/routers/{router_id}/tags").json() == {"tags": ["edge"]}
    hidden = bob.get(f"/routers/{router_id}/tags")
    assert hidden.status_code == 404 and neutron_error(hidden)["type"] == "RouterNotFound"


def test_shared_network_tags_are_readable_not_changeable_by_others(admin, alice, bob):
    shared = admin.create("network", name="shared", shared=True, tags=["public"])
    assert bob.get(f"/networks/{shared['id']}/tags").json() == {"tags": ["public"]}
    refused = bob.put(f"/networks/{shared['id']}/tags/mine")
    assert refused.status_code == 403
    assert neutron_error(refused)["type"] == "PolicyNotAuthorized"
    assert bob.delete(f"/networks/{shared['id']}/tags").status_code == 403
    private = alice.create("network", name="private")
    hidden = bob.put(f"/networks/{private['id']}/tags/x")
    assert hidden.status_code == 404 and neutron_error(hidden)["type"] == "NetworkNotFound"
    assert admin.get(f"/networks/{shared['id']}/tags").json() == {"tags": ["public"]}


@pytest.mark.parametrize("body", [{"tags": "red"}, {"tags": [1]}, {"tags": ["x" * 256]},
                                  {"tags": [""]}, {"tag": ["a"]}, ["a"]])
def test_bad_tags_are_400_and_change_nothing(alice, body):
    network = alice.create("network", tags=["keep"])
    response = alice.put(f"/networks/{network['id']}/tags", body)
    assert response.status_code == 400, body
    assert neutron_error(response)["type"] == "InvalidInput"
    assert alice.get(f"/networks/{network['id']}/tags").json() == {"tags": ["keep"]}


def test_unknown_resources_and_collections(alice):
    missing = alice.get("/networks/6a1d2c1e-0000-4000-8000-000000000000/tags")
    assert missing.status_code == 404 and neutron_error(missing)["type"] == "NetworkNotFound"
    assert alice.get("/flavors/x/tags").status_code == 404
    too_long = alice.put(f"/networks/{alice.create('network')['id']}/tags/{'x' * 256}")
    assert too_long.status_code == 400
