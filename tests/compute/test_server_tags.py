"""Server tags over HTTP (2.26): list, replace, add, check, delete; Nova's refusals."""

from __future__ import annotations

import pytest

from stacklet.compute.models import Instance
from tests.compute.helpers import active_image, boot_active

V = "2.26"


@pytest.fixture
def server(api, alice) -> dict:
    return boot_active(alice, active_image(api, alice.token))


def _tags(compute, server_id: str) -> list[str]:
    response = compute.get(f"/servers/{server_id}/tags", microversion=V)
    assert response.status_code == 200, response.text
    return response.json()["tags"]


def test_tag_life_cycle(alice, server):
    path = f"/servers/{server['id']}/tags"
    assert _tags(alice, server["id"]) == []

    added = alice.put(f"{path}/blue", microversion=V)
    assert added.status_code == 201
    assert added.headers["Location"].endswith(f"/compute/v2.1/servers/{server['id']}/tags/blue")
    assert alice.put(f"{path}/blue", microversion=V).status_code == 204
    assert alice.get(f"{path}/blue", microversion=V).status_code == 204
    absent = alice.get(f"{path}/green", microversion=V)
    assert absent.status_code == 404
    assert absent.json()["itemNotFound"]["message"] == \
        f"Server {server['id']} has no tag 'green'"

    replaced = alice.put(path, {"tags": ["b", "a", "b", "blue"]}, microversion=V)
    assert replaced.status_code == 200 and sorted(replaced.json()["tags"]) == ["a", "b", "blue"]
    shown = alice.get(f"/servers/{server['id']}", microversion=V).json()["server"]
    assert sorted(shown["tags"]) == ["a", "b", "blue"]
    # Listing servers by tag sees them.
    listed = alice.get("/servers?tags=a,b", microversion=V).json()["servers"]
    assert [s["id"] for s in listed] == [server["id"]]

    assert alice.delete(f"{path}/a", microversion=V).status_code == 204
    assert alice.delete(f"{path}/a", microversion=V).status_code == 404
    assert sorted(_tags(alice, server["id"])) == ["b", "blue"]
    assert alice.delete(path, microversion=V).status_code == 204
    assert _tags(alice, server["id"]) == []


def test_invalid_tags_and_limits(alice, server):
    path = f"/servers/{server['id']}/tags"
    for tag in ("a,b", "x" * 61):
        response = alice.put(f"{path}/{tag}", microversion=V)
        assert response.status_code == 400, tag
        assert "is invalid" in response.json()["badRequest"]["message"]
    for body in ({"tags": ["a/b"]}, {"tags": [""]}, {"tags": ["x" * 61]},
                 {"tags": [f"t{n}" for n in range(51)]}, {"tags": "a"}, {}):
        assert alice.put(path, body, microversion=V).status_code == 400, body
    assert _tags(alice, server["id"]) == []

    fifty = [f"t{n}" for n in range(50)]
    assert alice.put(path, {"tags": fifty}, microversion=V).status_code == 200
    over = alice.put(f"{path}/one-more", microversion=V)
    assert over.status_code == 400
    assert "per-server limit 50" in over.json()["badRequest"]["message"]
    assert len(_tags(alice, server["id"])) == 50


def test_no_tags_before_2_26(alice, server):
    path = f"/servers/{server['id']}/tags"
    assert alice.get(path, microversion="2.25").status_code == 404
    assert alice.put(f"{path}/a", microversion="2.25").status_code == 404
    assert alice.put(path, {"tags": ["a"]}, microversion="2.25").status_code == 404
    assert _tags(alice, server["id"]) == []


def test_tags_change_only_in_settled_states(api, alice, server):
    with api.cloud.db.transaction() as session:
        session.get(Instance, server["id"]).vm_state = "error"
    path = f"/servers/{server['id']}/tags"
    for response in (alice.put(f"{path}/a", microversion=V),
                     alice.put(path, {"tags": ["a"]}, microversion=V),
                     alice.delete(path, microversion=V),
                     alice.delete(f"{path}/a", microversion=V)):
        assert response.status_code == 409
        assert "while it is in vm_state error" in \
            response.json()["conflictingRequest"]["message"]
    assert _tags(alice, server["id"]) == []


def test_other_projects_servers(alice, bob, server):
    path = f"/servers/{server['id']}/tags"
    assert bob.get(path, microversion=V).status_code == 404
    assert bob.put(f"{path}/mine", microversion=V).status_code == 404
    assert _tags(alice, server["id"]) == []
