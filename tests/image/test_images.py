"""/image/v2/images: create, show, list with filters and sorting, JSON-patch
updates, delete, deactivate; and what bad input gets."""

from __future__ import annotations

import uuid

import pytest

from tests.image.helpers import PATCH, create, listed_ids, patch, project_member, upload


def test_version_discovery_and_catalog(api):
    root = api.get("/image/")
    assert root.status_code == 300
    versions = root.json()["versions"]
    assert versions[0]["status"] == "CURRENT"
    assert {"id": "v2.0", "status": "SUPPORTED",
            "links": [{"rel": "self", "href": "http://stacklet.test/image/v2/"}]} in versions
    assert api.get("/image/versions").status_code == 200
    catalog = api.get("/identity/v3/auth/catalog", api.admin_token).json()["catalog"]
    image = next(s for s in catalog if s["type"] == "image")
    assert image["name"] == "glance"
    assert {e["url"] for e in image["endpoints"]} == {"http://127.0.0.1:8700/image"}


def test_create_show_has_glance_fields(api, alice):
    image = create(api, alice.token, name="cirros", min_ram=64, tags=["a", "b", "a"],
                   os_distro="debian", hw_disk_bus="virtio")
    assert image["status"] == "queued"
    assert image["visibility"] == "shared"   # Glance's default since Rocky
    assert image["owner"] == alice.project_id
    assert image["tags"] == ["a", "b"]
    assert image["os_distro"] == "debian" and image["hw_disk_bus"] == "virtio"
    assert image["min_ram"] == 64 and image["min_disk"] == 0
    assert image["protected"] is False and image["os_hidden"] is False
    for name in ("size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value"):
        assert image[name] is None
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert image["created_at"].endswith("Z")
    uuid.UUID(image["id"])
    shown = api.get(f"/image/v2/images/{image['id']}", token=alice.token).json()
    assert shown == image


def test_create_with_chosen_id_and_duplicate(api, alice):
    image_id = str(uuid.uuid4())
    assert create(api, alice.token, id=image_id)["id"] == image_id
    create(api, alice.token, expect=409, id=image_id)
    create(api, alice.token, expect=400, id="not-a-uuid")


@pytest.mark.parametrize("body, status", [
    ({"name": "x" * 256}, 400),
    ({"disk_format": "floppy"}, 400),
    ({"container_format": "crate"}, 400),
    ({"visibility": "everyone"}, 400),
    ({"min_ram": -1}, 400),
    ({"min_disk": "big"}, 400),
    ({"protected": "yes"}, 400),
    ({"tags": ["x" * 256]}, 400),
    ({"my_property": 5}, 400),           # extra properties are strings
    ({"status": "active"}, 403),          # read-only
    ({"checksum": "0" * 32}, 403),
    ({"size": 10}, 403),
    ({"deleted": "true"}, 403),           # reserved
    ({"os_glance_import_task": "x"}, 403),
])
def test_create_bad_input_changes_nothing(api, alice, body, status):
    response = api.post("/image/v2/images", json=body, token=alice.token)
    assert response.status_code == status, response.text
    assert response.json()["message"]
    assert listed_ids(api, alice.token) == []


def test_malformed_json_is_400(api, alice):
    response = api.post("/image/v2/images", content=b"{nope", token=alice.token,
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_visibility_policy(api, alice, bob):
    # Only the admin publishes; a member may make its image community.
    response = api.post("/image/v2/images", json={"visibility": "public"}, token=alice.token)
    assert response.status_code == 403
    assert create(api, api.admin_token, visibility="public")["visibility"] == "public"
    community = create(api, alice.token, visibility="community")
    private = create(api, alice.token, visibility="private")
    # Another project sees community images (not listed by default) but not private ones.
    assert api.get(f"/image/v2/images/{community['id']}", token=bob.token).status_code == 200
    assert api.get(f"/image/v2/images/{private['id']}", token=bob.token).status_code == 404
    assert community["id"] not in listed_ids(api, bob.token)
    assert listed_ids(api, bob.token, "?visibility=community") == [community["id"]]
    # visibility=all lists every image the caller may see, community ones included
    # (and, for the admin, every project's), as Glance does.
    assert community["id"] in listed_ids(api, bob.token, "?visibility=all")
    assert private["id"] not in listed_ids(api, bob.token, "?visibility=all")
    assert community["id"] not in listed_ids(api, api.admin_token)
    assert {community["id"], private["id"]} <= set(
        listed_ids(api, api.admin_token, "?visibility=all"))
    # Creating for another project is refused.
    response = api.post("/image/v2/images", json={"owner": bob.project_id}, token=alice.token)
    assert response.status_code == 403
    # Making one's image public by update is refused too.
    response = patch(api, alice.token, private["id"],
                     {"op": "replace", "path": "/visibility", "value": "public"})
    assert response.status_code == 403
    shown = api.get(f"/image/v2/images/{private['id']}", token=alice.token).json()
    assert shown["visibility"] == "private"


def test_other_projects_cannot_change_or_delete(api, alice, bob):
    public = create(api, api.admin_token, visibility="public", name="base")
    for response in (
        patch(api, bob.token, public["id"], {"op": "replace", "path": "/name", "value": "x"}),
        api.delete(f"/image/v2/images/{public['id']}", token=bob.token),
        api.post(f"/image/v2/images/{public['id']}/actions/deactivate", token=bob.token),
    ):
        assert response.status_code == 403, response.text
    private = create(api, alice.token, visibility="private")
    assert api.delete(f"/image/v2/images/{private['id']}", token=bob.token).status_code == 404
    assert api.get(f"/image/v2/images/{public['id']}", token=bob.token).json()["name"] == "base"


def test_reader_can_list_and_show_but_not_create(api, alice):
    reader = project_member(api, "alpha", role="reader")
    image = create(api, alice.token)
    assert listed_ids(api, reader.token) == [image["id"]]
    assert api.post("/image/v2/images", json={}, token=reader.token).status_code == 403


def test_list_filters(api, alice):
    small = create(api, alice.token, name="small", tags=["x", "y"], os_distro="debian")
    upload(api, alice.token, small["id"], b"0" * 10)
    big = create(api, alice.token, name="big", tags=["x"], disk_format="qcow2",
                 visibility="private")
    hidden = create(api, alice.token, name="hidden", os_hidden=True)

    def ids(query):
        return sorted(listed_ids(api, alice.token, query))

    assert ids("") == sorted([small["id"], big["id"]])      # hidden images left out
    assert ids("?os_hidden=true") == [hidden["id"]]
    assert ids("?name=small") == [small["id"]]
    assert ids("?name=in:small,big") == sorted([small["id"], big["id"]])
    assert ids("?status=active") == [small["id"]]
    assert ids("?visibility=private") == [big["id"]]
    assert ids("?tag=x&tag=y") == [small["id"]]
    assert ids("?tag=x") == sorted([small["id"], big["id"]])
    assert ids("?os_distro=debian") == [small["id"]]
    assert ids("?disk_format=qcow2") == [big["id"]]
    assert ids("?size_min=5&size_max=10") == [small["id"]]
    assert ids("?size_min=11") == []
    assert ids(f"?owner={alice.project_id}") == sorted([small["id"], big["id"]])
    created = api.get(f"/image/v2/images/{big['id']}", token=alice.token).json()["created_at"]
    assert big["id"] in ids(f"?created_at=gte:{created}")
    assert ids("?created_at=lt:2000-01-01T00:00:00Z") == []
    for bad in ("?created_at=2020-01-01", "?created_at=gt:yesterday", "?size_min=a",
                "?visibility=everyone", "?member_status=maybe", "?os_hidden=perhaps",
                "?status=flying", "?limit=-1", "?marker=" + str(uuid.uuid4())):
        assert api.get(f"/image/v2/images{bad}", token=alice.token).status_code == 400, bad


def test_sorting_and_pagination(api, alice):
    made = [create(api, alice.token, name=name)["id"] for name in ("c", "a", "b", "d")]
    by_name = listed_ids(api, alice.token, "?sort_key=name&sort_dir=asc")
    names = ["a", "b", "c", "d"]
    assert by_name == [made[["c", "a", "b", "d"].index(n)] for n in names]
    assert listed_ids(api, alice.token, "?sort=name:desc") == by_name[::-1]
    # Default: newest first.
    assert listed_ids(api, alice.token) == made[::-1]

    first = api.get("/image/v2/images?sort_key=name&sort_dir=asc&limit=3",
                    token=alice.token).json()
    assert [i["name"] for i in first["images"]] == ["a", "b", "c"]
    assert first["first"] == "/v2/images?sort_key=name&sort_dir=asc&limit=3"
    assert first["schema"] == "/v2/schemas/images"
    assert first["next"].startswith("/v2/images?")
    second = api.get("/image" + first["next"], token=alice.token).json()
    assert [i["name"] for i in second["images"]] == ["d"]
    assert "next" not in second
    for bad in ("?sort_key=checksum", "?sort_dir=sideways", "?sort=name:up",
                "?sort=name&sort_key=id"):
        assert api.get(f"/image/v2/images{bad}", token=alice.token).status_code == 400, bad


def test_json_patch_rules(api, alice):
    image = create(api, alice.token, name="orig", color="red")
    path = image["id"]

    def change(*ops, headers=PATCH):
        return patch(api, alice.token, path, *ops, headers=headers)

    response = change({"op": "replace", "path": "/name", "value": "new"},
                      {"op": "add", "path": "/shape", "value": "round"},
                      {"op": "add", "path": "/color", "value": "blue"},   # v2.1: add replaces
                      {"op": "replace", "path": "/tags", "value": ["t1"]},
                      {"op": "replace", "path": "/min_disk", "value": 2},
                      {"op": "add", "path": "/a~1b", "value": "slash"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["shape"], body["color"], body["tags"], body["min_disk"]) == \
        ("new", "round", "blue", ["t1"], 2)
    assert body["a/b"] == "slash"
    assert change({"op": "remove", "path": "/shape"}).json().get("shape") is None

    before = api.get(f"/image/v2/images/{path}", token=alice.token).json()
    for ops, status in [
        ([{"op": "replace", "path": "/status", "value": "active"}], 403),
        ([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], 403),
        ([{"op": "add", "path": "/deleted", "value": "x"}], 403),
        ([{"op": "remove", "path": "/name"}], 403),
        ([{"op": "replace", "path": "/owner", "value": "someone"}], 403),
        ([{"op": "replace", "path": "/nothing", "value": "x"}], 409),
        ([{"op": "remove", "path": "/nothing"}], 409),
        ([{"op": "move", "path": "/name", "from": "/x"}], 400),
        ([{"op": "replace", "path": "/name"}], 400),
        ([{"op": "replace", "path": "name", "value": "x"}], 400),
        ([{"op": "replace", "path": "/a/b", "value": "x"}], 400),
        ([{"op": "replace", "path": "/name", "value": "x" * 256}], 400),
        ([{"op": "replace", "path": "/disk_format", "value": "floppy"}], 400),
        ([{"op": "replace", "path": "/min_ram", "value": "lots"}], 400),
        ([{"op": "add", "path": "/prop", "value": 1}], 400),
        ({"op": "add"}, 400),
        # A good change followed by a bad one changes nothing.
        ([{"op": "replace", "path": "/name", "value": "half"},
          {"op": "replace", "path": "/status", "value": "x"}], 403),
    ]:
        response = api.patch(f"/image/v2/images/{path}", json=ops, token=alice.token,
                             headers=PATCH)
        assert response.status_code == status, (ops, response.text)
    wrong_type = change({"op": "replace", "path": "/name", "value": "x"},
                        headers={"Content-Type": "application/json"})
    assert wrong_type.status_code == 415
    assert api.get(f"/image/v2/images/{path}", token=alice.token).json() == before


def test_json_patch_v20_add_conflicts(api, alice):
    image = create(api, alice.token, color="red")
    response = patch(api, alice.token, image["id"],
                     {"add": "/color", "value": "blue"},
                     headers={"Content-Type": "application/openstack-images-v2.0-json-patch"})
    assert response.status_code == 409


def test_formats_fixed_once_data_is_there(api, alice):
    image = create(api, alice.token)
    assert upload(api, alice.token, image["id"], b"data").status_code == 204
    response = patch(api, alice.token, image["id"],
                     {"op": "replace", "path": "/disk_format", "value": "qcow2"})
    assert response.status_code == 403


def test_delete_protected_and_deactivate(api, alice):
    image = create(api, alice.token, protected=True)
    url = f"/image/v2/images/{image['id']}"
    assert api.delete(url, token=alice.token).status_code == 403
    # Deactivation needs data first.
    assert api.post(url + "/actions/deactivate", token=alice.token).status_code == 403
    upload(api, alice.token, image["id"], b"data")
    assert api.post(url + "/actions/deactivate", token=alice.token).status_code == 204
    assert api.get(url, token=alice.token).json()["status"] == "deactivated"
    assert api.post(url + "/actions/deactivate", token=alice.token).status_code == 204
    assert api.post(url + "/actions/reactivate", token=alice.token).status_code == 204
    assert api.get(url, token=alice.token).json()["status"] == "active"
    patch(api, alice.token, image["id"], {"op": "replace", "path": "/protected", "value": False})
    assert api.delete(url, token=alice.token).status_code == 204
    assert api.get(url, token=alice.token).status_code == 404
    assert api.delete(url, token=alice.token).status_code == 404
    assert not (api.cloud.image_store.data_path(image["id"])).exists()


def test_tags_endpoints(api, alice, bob):
    image = create(api, alice.token)
    url = f"/image/v2/images/{image['id']}/tags"
    assert api.put(f"{url}/web", token=alice.token).status_code == 204
    assert api.put(f"{url}/web", token=alice.token).status_code == 204   # idempotent
    assert api.put(f"{url}/db", token=alice.token).status_code == 204
    shown = api.get(f"/image/v2/images/{image['id']}", token=alice.token).json()
    assert shown["tags"] == ["db", "web"] or shown["tags"] == ["web", "db"]
    assert api.delete(f"{url}/web", token=alice.token).status_code == 204
    assert api.delete(f"{url}/web", token=alice.token).status_code == 404
    assert api.put(f"{url}/{'x' * 256}", token=alice.token).status_code == 400
    assert api.put(f"{url}/mine", token=bob.token).status_code == 404
    assert api.get(f"/image/v2/images/{image['id']}", token=alice.token).json()["tags"] == \
        ["db"]


def test_image_survives_restart(api, alice, stacklet_config):
    from starlette.testclient import TestClient

    from stacklet.app import create_app
    from stacklet.cloud import Cloud

    image = create(api, alice.token, name="keep", tags=["t"], kind="golden")
    upload(api, alice.token, image["id"], b"persistent bytes")
    before = api.get(f"/image/v2/images/{image['id']}", token=alice.token).json()
    restarted = Cloud(stacklet_config)
    try:
        with TestClient(create_app(restarted), base_url="http://stacklet.test") as client:
            headers = {"X-Auth-Token": alice.token}
            after = client.get(f"/image/v2/images/{image['id']}", headers=headers).json()
            data = client.get(f"/image/v2/images/{image['id']}/file", headers=headers)
    finally:
        restarted.close()
    assert after == before
    assert data.content == b"persistent bytes"
