"""Image API behaviour that Tempest's tempest.api.image tests rely on."""

from __future__ import annotations

import pytest

from tests.image.helpers import PATCH as V21_PATCH
from tests.image.helpers import create, patch, upload

V20_PATCH = {"Content-Type": "application/openstack-images-v2.0-json-patch"}


def create_image(api, **fields) -> dict:
    return create(api, api.admin_token, **fields)


def patch_image(api, image_id: str, operations: list, headers: dict):
    return patch(api, api.admin_token, image_id, *operations, headers=headers)


# -- the v2.0 JSON-patch dialect (draft 4): the operation is the key -------------------

def test_v20_patch_names_the_operation_as_its_key(api):
    image = create_image(api, name="before")
    response = patch_image(api, image["id"], [{"replace": "/name", "value": "after"},
                                        {"add": "/os_distro", "value": "debian"}], V20_PATCH)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "after"
    assert response.json()["os_distro"] == "debian"
    response = patch_image(api, image["id"], [{"remove": "/os_distro"}], V20_PATCH)
    assert response.status_code == 200, response.text
    assert "os_distro" not in api.get(f"/image/v2/images/{image['id']}",
                                      token=api.admin_token).json()


@pytest.mark.parametrize("operation", [
    {"op": "replace", "path": "/name", "value": "x"},          # the v2.1 form
    {"replace": "/name", "add": "/name", "value": "x"},        # two operations
])
def test_v20_patch_needs_exactly_one_operation_key(api, operation):
    image = create_image(api, name="kept")
    response = patch_image(api, image["id"], [operation], V20_PATCH)
    assert response.status_code == 400
    assert "exactly one member" in response.json()["message"]


def test_v20_add_of_a_present_attribute_conflicts(api):
    image = create_image(api, name="kept", os_distro="debian")
    for name in ("os_distro", "name"):
        response = patch_image(api, image["id"], [{"add": f"/{name}", "value": "x"}], V20_PATCH)
        assert response.status_code == 409, response.text
        assert f"Property {name} already present" in response.json()["message"]
    shown = api.get(f"/image/v2/images/{image['id']}", token=api.admin_token).json()
    assert (shown["name"], shown["os_distro"]) == ("kept", "debian")


# -- the v2.1 dialect (draft 10): op and path ------------------------------------------

def test_v21_add_of_a_present_attribute_replaces_it(api):
    image = create_image(api, name="before", os_distro="debian")
    response = patch_image(api, image["id"], [{"op": "add", "path": "/os_distro", "value": "arch"},
                                        {"op": "add", "path": "/name", "value": "after"}],
                     V21_PATCH)
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["os_distro"]) == ("after", "arch")


@pytest.mark.parametrize("operation, message", [
    ({"replace": "/name", "value": "x"}, "Unable to find `op`"),   # the v2.0 form
    ({"op": "move", "path": "/name", "value": "x"}, "Invalid operation: `move`"),
    ({"op": "replace", "value": "x"}, "Unable to find 'path'"),
    ({"op": "replace", "path": "/name"}, 'requires a member named "value"'),
])
def test_v21_patch_malformed_operations_are_400(api, operation, message):
    image = create_image(api, name="kept")
    response = patch_image(api, image["id"], [operation], V21_PATCH)
    assert response.status_code == 400
    assert message in response.json()["message"]


# -- an empty image id -----------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "DELETE", "PATCH"])
def test_empty_image_id_is_404_not_the_image_list(api, method):
    create_image(api, name="listed")
    response = api.request(method, "/image/v2/images/", token=api.admin_token,
                           follow_redirects=False)
    assert response.status_code == 404
    assert response.json()["code"] == "404 Not Found"


# -- list filters on image columns -----------------------------------------------------

def listed_names(api, query: str) -> list[str]:
    response = api.get(f"/image/v2/images?{query}", token=api.admin_token)
    assert response.status_code == 200, response.text
    return sorted(image["name"] for image in response.json()["images"])


def test_list_filters_by_size_and_other_columns(api):
    small = create_image(api, name="small", container_format="bare", disk_format="raw",
                         min_ram=512)
    large = create_image(api, name="large", container_format="bare", disk_format="raw")
    assert upload(api, api.admin_token, small["id"], b"x" * 100).status_code == 204
    assert upload(api, api.admin_token, large["id"], b"y" * 300).status_code == 204
    checksum = api.get(f"/image/v2/images/{small['id']}", token=api.admin_token).json()[
        "checksum"]
    assert listed_names(api, "size=100") == ["small"]
    assert listed_names(api, "size=101") == []
    assert listed_names(api, "virtual_size=300") == ["large"]
    assert listed_names(api, "min_ram=512") == ["small"]
    assert listed_names(api, "min_ram_min=1") == ["small"]
    assert listed_names(api, f"checksum={checksum}") == ["small"]
    assert listed_names(api, "size_min=200&size_max=400") == ["large"]


def test_list_filter_operators_eq_and_in(api):
    for name in ("a:b", "plain", "other"):
        create_image(api, name=name)
    assert listed_names(api, "name=eq:a:b") == ["a:b"]
    assert listed_names(api, "name=eq:plain") == ["plain"]
    assert listed_names(api, "name=in:plain,other") == ["other", "plain"]
    assert listed_names(api, "status=eq:queued") == ["a:b", "other", "plain"]


@pytest.mark.parametrize("query, message", [
    ("name=like:plain", "unknown operator 'like'"),
    ("size=big", "it must be an integer"),
    ("min_disk_max=x", "it must be an integer"),
    ("status=eq:sleeping", "Invalid status value"),
])
def test_list_filter_bad_values_are_400(api, query, message):
    response = api.get(f"/image/v2/images?{query}", token=api.admin_token)
    assert response.status_code == 400
    assert message in response.json()["message"]


# -- links, as the Glance API reference shows them -------------------------------------

def test_create_answers_the_image_location(api):
    response = api.post("/image/v2/images", json={"name": "located"}, token=api.admin_token)
    assert response.status_code == 201
    location = response.headers["Location"]
    assert location == f"http://stacklet.test/image/v2/images/{response.json()['id']}"
    assert api.get(location, token=api.admin_token).json()["name"] == "located"


def test_list_first_link_keeps_the_query_but_not_the_marker(api):
    images = [create_image(api, name="paged") for _ in range(3)]
    body = api.get("/image/v2/images", token=api.admin_token).json()
    assert body["first"] == "/v2/images"
    body = api.get(f"/image/v2/images?name=paged&limit=1&marker={images[2]['id']}",
                   token=api.admin_token).json()
    assert body["first"] == "/v2/images?name=paged&limit=1"
    assert body["next"].startswith("/v2/images?name=paged&limit=1&marker=")
