"""/v2/schemas/* and /v2/info/*: the documents clients read to learn what the
image service accepts and offers."""

from __future__ import annotations

import os

import jsonschema
import pytest

from stacklet.image.schemas import IMAGE_SCHEMA
from tests.image.helpers import OCTETS, create, upload

V2 = "/image/v2"
MIB = 1 << 20


@pytest.fixture
def member(api):
    user = api.make_user(project="info-project")
    return {**user, "token": api.token(user["name"], user["password"], project="info-project")}


# -- schemas ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["image", "images", "member", "members", "task", "tasks"])
def test_every_schema_is_published_to_any_user(api, member, name):
    response = api.get(f"{V2}/schemas/{name}", member["token"])
    assert response.status_code == 200, response.text
    schema = response.json()
    assert schema["name"] == name
    jsonschema.Draft4Validator.check_schema(schema)


@pytest.mark.parametrize("name", ["image", "images", "member", "tasks"])
def test_schemas_need_a_token(api, name):
    response = api.get(f"{V2}/schemas/{name}")
    assert response.status_code == 401


def test_unknown_schema_is_not_found(api, member):
    response = api.get(f"{V2}/schemas/flavor", member["token"])
    assert response.status_code == 404
    assert "flavor" in response.json()["message"]


def test_image_schema_is_the_one_requests_are_validated_against(api, member):
    schema = api.get(f"{V2}/schemas/image", member["token"]).json()
    assert schema == IMAGE_SCHEMA
    assert schema["additionalProperties"] == {"type": "string"}
    assert {link["rel"] for link in schema["links"]} == {"self", "enclosure", "describedby"}
    # An image as the API shows it satisfies the published schema.
    image = create(api, member["token"], name="checked")
    jsonschema.validate(image, schema)


def test_images_schema_describes_a_paged_list(api, member):
    schema = api.get(f"{V2}/schemas/images", member["token"]).json()
    assert schema["properties"]["images"] == {"type": "array", "items": IMAGE_SCHEMA}
    assert [link["rel"] for link in schema["links"]] == ["first", "next", "describedby"]
    assert set(schema["properties"]) == {"images", "first", "next", "schema"}
    listing = api.get(f"{V2}/images", member["token"]).json()
    jsonschema.validate(listing, schema)


def test_member_schemas(api, member):
    member_schema = api.get(f"{V2}/schemas/member", member["token"]).json()
    assert set(member_schema["properties"]) == {"member_id", "image_id", "created_at",
                                                "updated_at", "status", "schema"}
    assert member_schema["properties"]["status"]["enum"] == ["pending", "accepted",
                                                             "rejected"]
    members = api.get(f"{V2}/schemas/members", member["token"]).json()
    assert members["properties"]["members"]["items"] == member_schema
    assert members["links"] == [{"rel": "describedby", "href": "{schema}"}]


def test_task_schemas(api, member):
    task = api.get(f"{V2}/schemas/task", member["token"]).json()
    assert {"input", "result", "message", "image_id", "request_id"} <= set(task["properties"])
    assert task["properties"]["type"]["enum"] == ["import", "api_image_import"]
    tasks = api.get(f"{V2}/schemas/tasks", member["token"]).json()
    stub = tasks["properties"]["tasks"]["items"]["properties"]
    # The list shows tasks without their input, result and message.
    assert not {"input", "result", "message"} & set(stub)


# -- info ------------------------------------------------------------------------------

def test_import_methods(api, member):
    response = api.get(f"{V2}/info/import", member["token"])
    assert response.status_code == 200
    assert response.json() == {"import-methods": {
        "description": "Import methods available.", "type": "array",
        "value": ["glance-direct"]}}


def test_new_images_tell_how_to_import(api, member):
    response = api.post(f"{V2}/images", {"name": "x"}, member["token"])
    assert response.status_code == 201
    assert response.headers["OpenStack-image-import-methods"] == "glance-direct"
    assert response.headers["OpenStack-image-store-ids"] == "file"


def test_stores(api, member):
    response = api.get(f"{V2}/info/stores", member["token"])
    assert response.status_code == 200
    [store] = response.json()["stores"]
    assert store["id"] == "file" and store["default"] == "true"
    assert store["description"]
    assert "read-only" not in store


def test_store_details_are_for_the_admin(api, member):
    assert api.get(f"{V2}/info/stores/detail", member["token"]).status_code == 403
    response = api.get(f"{V2}/info/stores/detail", api.admin_token)
    assert response.status_code == 200
    [store] = response.json()["stores"]
    assert store["type"] == "file"
    assert store["properties"]["data_dir"] == str(api.cloud.image_store.root)


@pytest.mark.parametrize("path", ["info/import", "info/stores", "info/usage"])
def test_info_needs_a_token(api, path):
    assert api.get(f"{V2}/{path}").status_code == 401


def test_usage_counts_the_projects_images(api, member):
    token = member["token"]
    usage = api.get(f"{V2}/info/usage", token)
    assert usage.status_code == 200, usage.text
    assert usage.json() == {"usage": {
        "image_count_total": {"limit": -1, "usage": 0},
        "image_size_total": {"limit": -1, "usage": 0},
        "image_stage_total": {"limit": -1, "usage": 0},
        "image_count_uploading": {"limit": -1, "usage": 0}}}

    uploaded = create(api, token)
    assert upload(api, token, uploaded["id"], os.urandom(3 * MIB)).status_code == 204
    staged = create(api, token)
    api.put(f"{V2}/images/{staged['id']}/stage", token=token, content=os.urandom(2 * MIB),
            headers=OCTETS)
    api.post(f"{V2}/images", {"name": "empty"}, token)
    # Another project's images are not counted.
    api.post(f"{V2}/images", {"name": "admin's"}, api.admin_token)

    usage = api.get(f"{V2}/info/usage", token).json()["usage"]
    assert usage["image_count_total"]["usage"] == 3
    assert usage["image_size_total"]["usage"] == 3
    assert usage["image_stage_total"]["usage"] == 2
    assert usage["image_count_uploading"]["usage"] == 1


@pytest.mark.parametrize("config_overrides", [{
    ("image", "image_count_total"): 10, ("image", "image_size_total"): 100,
    ("image", "image_stage_total"): 50, ("image", "image_count_uploading"): 2}])
def test_usage_reports_the_limits(api, member):
    usage = api.get(f"{V2}/info/usage", member["token"]).json()["usage"]
    assert {name: value["limit"] for name, value in usage.items()} == {
        "image_count_total": 10, "image_size_total": 100, "image_stage_total": 50,
        "image_count_uploading": 2}
