"""Server metadata over HTTP: list, merge, replace, one key; Nova's refusals."""

from __future__ import annotations

import uuid

import pytest

from stacklet.compute.models import Instance
from tests.compute.conftest import project_member
from tests.compute.helpers import active_image, boot_active


@pytest.fixture
def config_overrides():
    return {("compute", "quota_metadata_items"): 3}


@pytest.fixture
def server(api, alice) -> dict:
    return boot_active(alice, active_image(api, alice.token), metadata={"role": "web"})


def _metadata(compute, server_id: str) -> dict:
    response = compute.get(f"/servers/{server_id}/metadata")
    assert response.status_code == 200, response.text
    return response.json()["metadata"]


def test_merge_replace_and_items(alice, server):
    path = f"/servers/{server['id']}/metadata"
    assert _metadata(alice, server["id"]) == {"role": "web"}

    merged = alice.post(path, {"metadata": {"tier": "1", "role": "db"}})
    assert merged.status_code == 200
    assert merged.json()["metadata"] == {"role": "db", "tier": "1"}

    replaced = alice.put(path, {"metadata": {"only": "this"}})
    assert replaced.status_code == 200 and replaced.json()["metadata"] == {"only": "this"}
    assert _metadata(alice, server["id"]) == {"only": "this"}

    item = alice.put(f"{path}/color", {"meta": {"color": "blue"}})
    assert item.status_code == 200 and item.json() == {"meta": {"color": "blue"}}
    assert alice.get(f"{path}/color").json() == {"meta": {"color": "blue"}}
    # The server view shows the same metadata.
    assert alice.get(f"/servers/{server['id']}").json()["server"]["metadata"] == {
        "only": "this", "color": "blue"}

    assert alice.delete(f"{path}/color").status_code == 204
    missing = alice.get(f"{path}/color")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == "Metadata item was not found"
    assert alice.delete(f"{path}/color").status_code == 404
    assert alice.put(path, {"metadata": {}}).json()["metadata"] == {}


@pytest.mark.parametrize("method, suffix, body", [
    ("PUT", "/color", {"meta": {"colour": "blue"}}),         # URL and body disagree
    ("PUT", "/color", {"meta": {"color": "a", "b": "c"}}),   # one item only
    ("PUT", "/color", {"meta": {}}),
    ("POST", "", {"metadata": {"": "blank key"}}),
    ("POST", "", {"metadata": {"k" * 256: "long key"}}),
    ("POST", "", {"metadata": {"key": "v" * 256}}),
    ("POST", "", {"metadata": {"key": 1}}),
    ("PUT", "", {"meta": {"key": "value"}}),                 # no metadata field
    ("POST", "", {"metadata": {"a": "b"}, "extra": 1}),
])
def test_bad_bodies_change_nothing(alice, server, method, suffix, body):
    response = alice.call(method, f"/servers/{server['id']}/metadata{suffix}", body)
    assert response.status_code == 400, response.text
    assert _metadata(alice, server["id"]) == {"role": "web"}


def test_quota_of_metadata_items(alice, server):
    path = f"/servers/{server['id']}/metadata"
    assert alice.post(path, {"metadata": {"a": "1", "b": "2"}}).status_code == 200
    # A merge counts the keys the server already has (role, a, b).
    over = alice.post(path, {"metadata": {"c": "3"}})
    assert over.status_code == 403 and "metadata_items" in over.json()["forbidden"]["message"]
    assert alice.put(f"{path}/d", {"meta": {"d": "4"}}).status_code == 403
    too_many = {f"k{n}": "v" for n in range(4)}
    assert alice.put(path, {"metadata": too_many}).status_code == 403
    # Changing an existing key stays within the quota.
    assert alice.put(f"{path}/a", {"meta": {"a": "one"}}).status_code == 200
    assert _metadata(alice, server["id"]) == {"role": "web", "a": "one", "b": "2"}


def test_locked_server_is_refused_except_for_admins(api, alice, admin, server):
    with api.cloud.db.transaction() as session:
        session.get(Instance, server["id"]).locked = True
    path = f"/servers/{server['id']}/metadata"
    for response in (alice.post(path, {"metadata": {"a": "b"}}),
                     alice.put(f"{path}/role", {"meta": {"role": "x"}}),
                     alice.delete(f"{path}/role")):
        assert response.status_code == 409, response.text
        assert "locked" in response.json()["conflictingRequest"]["message"]
    assert alice.get(path).status_code == 200
    assert admin.post(path, {"metadata": {"a": "b"}}).status_code == 200


def test_busy_server_is_refused(api, alice, server):
    with api.cloud.db.transaction() as session:
        session.get(Instance, server["id"]).task_state = "powering-off"
    response = alice.post(f"/servers/{server['id']}/metadata", {"metadata": {"a": "b"}})
    assert response.status_code == 409
    assert response.json()["conflictingRequest"]["message"] == (
        f"Cannot 'update metadata' instance {server['id']} while it is in "
        "task_state powering-off")
    assert _metadata(alice, server["id"]) == {"role": "web"}


def test_missing_and_foreign_servers(alice, bob, server):
    for server_id in (str(uuid.uuid4()), "not-a-uuid"):
        assert alice.get(f"/servers/{server_id}/metadata").status_code == 404
        assert alice.post(f"/servers/{server_id}/metadata",
                          {"metadata": {"a": "b"}}).status_code == 404
    path = f"/servers/{server['id']}/metadata"
    assert bob.get(path).status_code == 404
    assert bob.put(f"{path}/role", {"meta": {"role": "bob's"}}).status_code == 404
    assert bob.delete(f"{path}/role").status_code == 404
    assert _metadata(alice, server["id"]) == {"role": "web"}


def test_readers_read_but_do_not_write(api, alice, server):
    reader = project_member(api, "alpha", role="reader")
    path = f"/servers/{server['id']}/metadata"
    assert reader.get(path).json()["metadata"] == {"role": "web"}
    assert reader.post(path, {"metadata": {"a": "b"}}).status_code == 403
    assert reader.delete(f"{path}/role").status_code == 403
