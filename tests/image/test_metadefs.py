"""The metadata definitions catalog (/image/v2/metadefs) and its schemas, over HTTP."""

from __future__ import annotations

import pytest

NAMESPACES = "/image/v2/metadefs/namespaces"
RESOURCE_TYPES = "/image/v2/metadefs/resource_types"
BUILT_IN_TYPES = ["OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor",
                  "OS::Nova::Aggregate", "OS::Nova::Server"]
ARCH = {"title": "Architecture", "type": "string", "enum": ["x86_64", "aarch64"]}


class Catalog:
    """Requests as the cloud admin, checking the status."""

    def __init__(self, api):
        self.api = api

    def call(self, method: str, path: str, expect: int, json=None, token=None, **kw):
        response = self.api.request(method, path, token or self.api.admin_token, json=json,
                                    **kw)
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    def namespace(self, name: str, **body) -> dict:
        return self.call("POST", NAMESPACES, 201, {"namespace": name, **body})


@pytest.fixture
def catalog(api) -> Catalog:
    return Catalog(api)


@pytest.fixture
def reader(api) -> dict:
    """A reader (via member) of a project of its own, with a token."""
    user = api.make_user(project="metadef-users")
    user["token"] = api.token(user["name"], user["password"], project="metadef-users")
    return user


def assert_glance_error(response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"].startswith(str(status)) and body["message"]


# -- resource types -----------------------------------------------------------------------

def test_built_in_resource_types_are_listed_first(catalog, reader):
    listed = catalog.call("GET", RESOURCE_TYPES, 200, token=reader["token"])["resource_types"]
    assert [rt["name"] for rt in listed] == BUILT_IN_TYPES
    assert all(rt["created_at"].endswith("Z") and rt["updated_at"] for rt in listed)


def test_resource_type_associations(catalog):
    catalog.namespace("ns-assoc")
    path = f"{NAMESPACES}/ns-assoc/resource_types"
    created = catalog.call("POST", path, 201, {"name": "OS::Nova::Flavor", "prefix": "hw:",
                                               "properties_target": "scheduler"})
    assert created["name"] == "OS::Nova::Flavor" and created["prefix"] == "hw:"
    assert created["properties_target"] == "scheduler" and created["created_at"]
    catalog.call("POST", path, 409, {"name": "OS::Nova::Flavor"})
    # An unknown resource type comes into being with its first association.
    catalog.call("POST", path, 201, {"name": "OS::Trove::Instance"})
    assert "OS::Trove::Instance" in [
        rt["name"] for rt in catalog.call("GET", RESOURCE_TYPES, 200)["resource_types"]]
    listed = catalog.call("GET", path, 200)["resource_type_associations"]
    assert sorted(a["name"] for a in listed) == ["OS::Nova::Flavor", "OS::Trove::Instance"]
    catalog.call("DELETE", f"{path}/OS::Nova::Flavor", 204)
    catalog.call("DELETE", f"{path}/OS::Nova::Flavor", 404)
    listed = catalog.call("GET", path, 200)["resource_type_associations"]
    assert [a["name"] for a in listed] == ["OS::Trove::Instance"]


@pytest.mark.parametrize("body", [{}, {"name": 5}, {"name": "x" * 81},
                                  {"name": "OS::Glance::Image", "colour": "red"}, []])
def test_bad_association_bodies_are_400(catalog, body):
    catalog.namespace("ns-bad-assoc")
    catalog.call("POST", f"{NAMESPACES}/ns-bad-assoc/resource_types", 400, body)


# -- namespaces ---------------------------------------------------------------------------

def test_create_namespace_with_defaults(catalog, api):
    created = catalog.namespace("ns-plain")
    admin_project = api.admin("GET", "/projects?name=admin", expect=200).json()["projects"][0]
    assert created["namespace"] == "ns-plain"
    assert created["visibility"] == "private" and created["protected"] is False
    assert created["owner"] == admin_project["id"]
    assert created["self"] == "/v2/metadefs/namespaces/ns-plain"
    assert created["schema"] == "/v2/schemas/metadefs/namespace"
    assert created["created_at"].endswith("Z")
    # Attributes not set are left out, not null.
    assert "display_name" not in created and "description" not in created
    assert "resource_type_associations" not in created


def test_create_namespace_with_contents_and_show_it(catalog):
    catalog.namespace(
        "ns-full", display_name="Full", description="Everything at once",
        visibility="public", protected=True,
        resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "hw_"}],
        # Glance keeps only the fields a property definition knows.
        properties={"arch": {**ARCH, "colour": "dropped"}},
        objects=[{"name": "CPU", "required": ["cores"], "properties": {
            "cores": {"title": "Cores", "type": "integer", "minimum": 1}}}],
        tags=[{"name": "gpu"}, {"name": "ssd"}])
    shown = catalog.call("GET", f"{NAMESPACES}/ns-full", 200)
    assert shown["display_name"] == "Full" and shown["protected"] is True
    assert shown["properties"] == {"arch": ARCH}
    assert [t["name"] for t in shown["tags"]] == ["gpu", "ssd"]
    [cpu] = shown["objects"]
    assert cpu["name"] == "CPU" and cpu["required"] == ["cores"]
    assert cpu["self"] == "/v2/metadefs/namespaces/ns-full/objects/CPU"
    [association] = shown["resource_type_associations"]
    assert association["name"] == "OS::Glance::Image" and association["prefix"] == "hw_"
    # Shown for a resource type, names carry its association's prefix.
    prefixed = catalog.call("GET", f"{NAMESPACES}/ns-full?resource_type=OS::Glance::Image",
                            200)
    assert list(prefixed["properties"]) == ["hw_arch"]
    assert prefixed["objects"][0]["required"] == ["hw_cores"]
    assert list(prefixed["objects"][0]["properties"]) == ["hw_cores"]


def test_duplicate_namespace_is_409(catalog):
    catalog.namespace("ns-twice")
    catalog.call("POST", NAMESPACES, 409, {"namespace": "ns-twice", "visibility": "public"})


@pytest.mark.parametrize("body", [
    {}, {"namespace": ""}, {"namespace": "x" * 81}, {"namespace": "n", "visibility": "shared"},
    {"namespace": "n", "protected": "yes"}, {"namespace": "n", "colour": "red"},
    {"namespace": "n", "properties": {"p": {"type": "string"}}},
    {"namespace": "n", "properties": {"p": {"title": "P", "type": "text"}}},
    {"namespace": "n", "tags": [{"label": "x"}]}, ["n"],
])
def test_bad_namespace_bodies_are_400(api, body):
    response = api.post(NAMESPACES, json=body, token=api.admin_token)
    assert_glance_error(response, 400)


def test_read_only_namespace_attributes_are_403(api):
    response = api.post(NAMESPACES, json={"namespace": "n", "created_at": "2020-01-01T00:00:00Z"},
                        token=api.admin_token)
    assert_glance_error(response, 403)


def test_missing_body_is_400(api):
    assert_glance_error(api.post(NAMESPACES, token=api.admin_token), 400)


def test_update_namespace_replaces_its_attributes(catalog, api):
    catalog.namespace("ns-old", display_name="Old", description="d", visibility="public",
                      protected=True)
    catalog.namespace("ns-taken")
    catalog.call("PUT", f"{NAMESPACES}/ns-old", 409, {"namespace": "ns-taken"})
    updated = catalog.call("PUT", f"{NAMESPACES}/ns-old", 200,
                           {"namespace": "ns-new", "display_name": "New"})
    assert updated["namespace"] == "ns-new" and updated["display_name"] == "New"
    # What the body leaves out takes its creation default.
    assert updated["visibility"] == "private" and updated["protected"] is False
    assert "description" not in updated
    catalog.call("GET", f"{NAMESPACES}/ns-old", 404)
    assert catalog.call("GET", f"{NAMESPACES}/ns-new", 200)["display_name"] == "New"
    assert_glance_error(api.put(f"{NAMESPACES}/ns-new", json={"display_name": "x"},
                                token=api.admin_token), 400)
    catalog.call("PUT", f"{NAMESPACES}/ns-missing", 404, {"namespace": "ns-missing"})


def test_protected_namespace_cannot_be_deleted_until_unprotected(catalog):
    catalog.namespace("ns-guarded", protected=True, objects=[{"name": "o"}],
                      properties={"p": ARCH}, tags=[{"name": "t"}],
                      resource_type_associations=[{"name": "OS::Nova::Server"}])
    path = f"{NAMESPACES}/ns-guarded"
    catalog.call("DELETE", path, 403)
    for part in ("objects", "properties", "tags", "objects/o", "properties/p", "tags/t",
                 "resource_types/OS::Nova::Server"):
        catalog.call("DELETE", f"{path}/{part}", 403)
    catalog.call("PUT", path, 200, {"namespace": "ns-guarded", "protected": False})
    catalog.call("DELETE", path, 204)
    catalog.call("GET", path, 404)
    catalog.call("DELETE", path, 404)
    # Its contents went with it: the name starts afresh.
    catalog.namespace("ns-guarded")
    shown = catalog.call("GET", path, 200)
    assert not {"objects", "properties", "tags", "resource_type_associations"} & set(shown)


def test_delete_all_objects_properties_and_tags(catalog):
    catalog.namespace("ns-clear", objects=[{"name": "o1"}, {"name": "o2"}],
                      properties={"p1": ARCH}, tags=[{"name": "t1"}])
    path = f"{NAMESPACES}/ns-clear"
    for part in ("objects", "properties", "tags"):
        catalog.call("DELETE", f"{path}/{part}", 204)
    assert catalog.call("GET", f"{path}/objects", 200)["objects"] == []
    assert catalog.call("GET", f"{path}/properties", 200)["properties"] == {}
    assert catalog.call("GET", f"{path}/tags", 200)["tags"] == []


# -- visibility and policy ------------------------------------------------------------------

def test_private_namespaces_are_seen_by_their_owner_project_only(catalog, api, reader):
    catalog.namespace("ns-public", visibility="public")
    catalog.namespace("ns-admins")
    catalog.namespace("ns-theirs", owner=reader["project_id"])
    token = reader["token"]
    listed = catalog.call("GET", NAMESPACES, 200, token=token)["namespaces"]
    assert sorted(ns["namespace"] for ns in listed) == ["ns-public", "ns-theirs"]
    catalog.call("GET", f"{NAMESPACES}/ns-admins", 404, token=token)
    catalog.call("GET", f"{NAMESPACES}/ns-admins/objects", 404, token=token)
    catalog.call("GET", f"{NAMESPACES}/ns-admins/tags", 404, token=token)
    catalog.call("GET", f"{NAMESPACES}/ns-theirs", 200, token=token)
    catalog.call("GET", f"{NAMESPACES}/ns-public/properties", 200, token=token)
    admin_listed = catalog.call("GET", NAMESPACES, 200)["namespaces"]
    assert {"ns-public", "ns-admins", "ns-theirs"} <= {ns["namespace"] for ns in admin_listed}


def test_only_the_admin_writes_the_catalog(catalog, reader):
    token = reader["token"]
    catalog.call("POST", NAMESPACES, 403, {"namespace": "ns-mine"}, token=token)
    catalog.namespace("ns-shared", visibility="public", objects=[{"name": "o"}],
                      tags=[{"name": "t"}], properties={"p": ARCH})
    path = f"{NAMESPACES}/ns-shared"
    catalog.call("PUT", path, 403, {"namespace": "ns-shared"}, token=token)
    catalog.call("DELETE", path, 403, token=token)
    catalog.call("POST", f"{path}/objects", 403, {"name": "o2"}, token=token)
    catalog.call("PUT", f"{path}/objects/o", 403, {"name": "o"}, token=token)
    catalog.call("POST", f"{path}/properties", 403, {"name": "q", **ARCH}, token=token)
    catalog.call("DELETE", f"{path}/properties/p", 403, token=token)
    catalog.call("POST", f"{path}/tags/new", 403, token=token)
    catalog.call("POST", f"{path}/tags", 403, {"tags": [{"name": "x"}]}, token=token)
    catalog.call("DELETE", f"{path}/tags", 403, token=token)
    catalog.call("POST", f"{path}/resource_types", 403, {"name": "OS::Glance::Image"},
                 token=token)
    # An invisible namespace is not found, whatever the caller wanted with it.
    catalog.namespace("ns-hidden")
    catalog.call("DELETE", f"{NAMESPACES}/ns-hidden", 404, token=token)
    catalog.call("POST", f"{NAMESPACES}/ns-hidden/tags/x", 404, token=token)


def test_the_catalog_needs_a_token(api):
    assert_glance_error(api.get(NAMESPACES), 401)
    assert_glance_error(api.get(RESOURCE_TYPES), 401)


# -- listing namespaces ---------------------------------------------------------------------

def test_list_filters_by_visibility_and_resource_types(catalog):
    catalog.namespace("ns-a", visibility="public",
                      resource_type_associations=[{"name": "OS::Glance::Image"}])
    catalog.namespace("ns-b", resource_type_associations=[{"name": "OS::Nova::Flavor"}])
    catalog.namespace("ns-c")

    def names(query: str) -> list[str]:
        listed = catalog.call("GET", f"{NAMESPACES}?{query}", 200)["namespaces"]
        return sorted(ns["namespace"] for ns in listed)

    assert names("visibility=public") == ["ns-a"]
    assert names("visibility=private") == ["ns-b", "ns-c"]
    assert names("resource_types=OS::Nova::Flavor") == ["ns-b"]
    assert names("resource_types=OS::Glance::Image,OS::Nova::Flavor") == ["ns-a", "ns-b"]
    listed = catalog.call("GET", f"{NAMESPACES}?resource_types=OS::Nova::Flavor",
                          200)["namespaces"]
    assert listed[0]["resource_type_associations"][0]["name"] == "OS::Nova::Flavor"
    catalog.call("GET", f"{NAMESPACES}?visibility=shared", 400)


def test_list_pages_with_limit_marker_and_sorting(catalog):
    for name in ("ns-1", "ns-2", "ns-3"):
        catalog.namespace(name)
    first = catalog.call("GET", f"{NAMESPACES}?limit=2&sort_key=namespace&sort_dir=asc", 200)
    assert [ns["namespace"] for ns in first["namespaces"]] == ["ns-1", "ns-2"]
    assert first["first"] == "/v2/metadefs/namespaces?limit=2&sort_key=namespace&sort_dir=asc"
    assert first["schema"] == "/v2/schemas/metadefs/namespaces"
    assert first["next"].endswith("marker=ns-2")
    second = catalog.call("GET", "/image" + first["next"], 200)
    assert [ns["namespace"] for ns in second["namespaces"]] == ["ns-3"]
    assert "next" not in second
    newest_first = catalog.call("GET", NAMESPACES, 200)["namespaces"]
    assert [ns["namespace"] for ns in newest_first] == ["ns-3", "ns-2", "ns-1"]
    assert catalog.call("GET", NAMESPACES, 200)["first"] == "/v2/metadefs/namespaces"
    catalog.call("GET", f"{NAMESPACES}?marker=ns-none", 404)
    for query in ("limit=-1", "limit=x", "sort_dir=up", "sort_key=description"):
        catalog.call("GET", f"{NAMESPACES}?{query}", 400)


# -- objects --------------------------------------------------------------------------------

def test_object_lifecycle(catalog):
    catalog.namespace("ns-obj")
    path = f"{NAMESPACES}/ns-obj/objects"
    created = catalog.call("POST", path, 201, {
        "name": "Watchdog", "description": "What to do when the guest hangs",
        "required": ["action"],
        "properties": {"action": {"title": "Action", "type": "string",
                                  "enum": ["reset", "poweroff"]}}})
    assert created["name"] == "Watchdog" and created["required"] == ["action"]
    assert created["properties"]["action"] == {"title": "Action", "type": "string",
                                               "enum": ["reset", "poweroff"]}
    assert created["self"] == "/v2/metadefs/namespaces/ns-obj/objects/Watchdog"
    assert created["schema"] == "/v2/schemas/metadefs/object"
    catalog.call("POST", path, 409, {"name": "Watchdog"})
    catalog.call("POST", path, 201, {"name": "Other"})
    listed = catalog.call("GET", path, 200)
    assert [o["name"] for o in listed["objects"]] == ["Watchdog", "Other"]
    assert listed["schema"] == "/v2/schemas/metadefs/objects"
    assert catalog.call("GET", f"{path}/Watchdog", 200)["description"].startswith("What")
    catalog.call("PUT", f"{path}/Watchdog", 409, {"name": "Other"})
    updated = catalog.call("PUT", f"{path}/Watchdog", 200, {"name": "Dog"})
    assert updated["name"] == "Dog" and "required" not in updated
    catalog.call("GET", f"{path}/Watchdog", 404)
    catalog.call("DELETE", f"{path}/Dog", 204)
    catalog.call("DELETE", f"{path}/Dog", 404)
    assert [o["name"] for o in catalog.call("GET", path, 200)["objects"]] == ["Other"]


@pytest.mark.parametrize("body", [
    {}, {"name": "x" * 81}, {"name": "o", "required": "a"},
    {"name": "o", "properties": {"p": {"title": "P", "type": "string", "colour": "red"}}},
    {"name": "o", "properties": {"p": {"title": "P"}}},
    {"name": "o", "properties": {"p": {"title": "P", "type": "string", "minLength": -1}}},
])
def test_bad_object_bodies_are_400(catalog, body):
    catalog.namespace("ns-bad-obj")
    catalog.call("POST", f"{NAMESPACES}/ns-bad-obj/objects", 400, body)


def test_objects_of_a_missing_namespace_are_404(catalog):
    catalog.call("GET", f"{NAMESPACES}/ns-nowhere/objects", 404)
    catalog.call("POST", f"{NAMESPACES}/ns-nowhere/objects", 404, {"name": "o"})


# -- properties -----------------------------------------------------------------------------

def test_property_lifecycle(catalog):
    catalog.namespace("ns-prop", resource_type_associations=[
        {"name": "OS::Nova::Flavor", "prefix": "hw:"}])
    path = f"{NAMESPACES}/ns-prop/properties"
    created = catalog.call("POST", path, 201, {"name": "cpu_arch", **ARCH})
    assert created == {"name": "cpu_arch", **ARCH}
    catalog.call("POST", path, 409, {"name": "cpu_arch", **ARCH})
    catalog.call("POST", path, 201, {"name": "OS::Nova::Flavor", "title": "Named like a type",
                                     "type": "integer", "minimum": 0, "maximum": 8})
    listed = catalog.call("GET", path, 200)["properties"]
    assert listed == {"cpu_arch": ARCH, "OS::Nova::Flavor": {
        "title": "Named like a type", "type": "integer", "minimum": 0, "maximum": 8}}
    assert catalog.call("GET", f"{path}/OS::Nova::Flavor", 200)["maximum"] == 8
    # Addressed with a resource type, the name carries its prefix.
    shown = catalog.call("GET", f"{path}/hw:cpu_arch?resource_type=OS::Nova::Flavor", 200)
    assert shown["name"] == "cpu_arch"
    catalog.call("GET", f"{path}/cpu_arch?resource_type=OS::Nova::Flavor", 404)
    catalog.call("GET", f"{path}/hw:cpu_arch?resource_type=OS::Glance::Image", 404)
    catalog.call("PUT", f"{path}/cpu_arch", 409, {"name": "OS::Nova::Flavor", **ARCH})
    updated = catalog.call("PUT", f"{path}/cpu_arch", 200,
                           {"name": "arch", "title": "Arch", "type": "string"})
    assert updated == {"name": "arch", "title": "Arch", "type": "string"}
    catalog.call("GET", f"{path}/cpu_arch", 404)
    catalog.call("DELETE", f"{path}/arch", 204)
    catalog.call("DELETE", f"{path}/arch", 404)
    assert list(catalog.call("GET", path, 200)["properties"]) == ["OS::Nova::Flavor"]


@pytest.mark.parametrize("body", [
    {"title": "T", "type": "string"}, {"name": "p", "type": "string"},
    {"name": "p", "title": "T"}, {"name": "p", "title": "T", "type": "text"},
    {"name": "p", "title": "T", "type": "string", "colour": "red"},
    {"name": "p", "title": "T", "type": "string", "pattern": "("},
    {"name": "p", "title": "T", "type": "array", "items": {"type": "texts"}},
])
def test_bad_property_bodies_are_400(catalog, body):
    catalog.namespace("ns-bad-prop")
    catalog.call("POST", f"{NAMESPACES}/ns-bad-prop/properties", 400, body)


# -- tags -----------------------------------------------------------------------------------

def test_tag_lifecycle(catalog):
    catalog.namespace("ns-tag")
    path = f"{NAMESPACES}/ns-tag/tags"
    created = catalog.call("POST", f"{path}/fast", 201)
    assert created["name"] == "fast" and created["created_at"].endswith("Z")
    catalog.call("POST", f"{path}/fast", 409)
    catalog.call("POST", f"{path}/{'x' * 256}", 400)
    assert catalog.call("GET", f"{path}/fast", 200)["name"] == "fast"
    catalog.call("POST", f"{path}/slow", 201)
    catalog.call("PUT", f"{path}/fast", 409, {"name": "slow"})
    catalog.call("PUT", f"{path}/fast", 400, {"label": "x"})
    renamed = catalog.call("PUT", f"{path}/fast", 200, {"name": "quick"})
    assert renamed["name"] == "quick"
    catalog.call("GET", f"{path}/fast", 404)
    catalog.call("DELETE", f"{path}/quick", 204)
    catalog.call("DELETE", f"{path}/quick", 404)
    assert catalog.call("GET", path, 200) == {"tags": [{"name": "slow"}]}


def test_create_several_tags_replaces_or_appends(catalog):
    catalog.namespace("ns-tags", tags=[{"name": "old"}])
    path = f"{NAMESPACES}/ns-tags/tags"
    created = catalog.call("POST", path, 201, {"tags": [{"name": "a"}, {"name": "b"}]})
    assert created == {"tags": [{"name": "a"}, {"name": "b"}]}

    def names(query: str = "") -> list[str]:
        return [t["name"] for t in catalog.call("GET", f"{path}{query}", 200)["tags"]]

    assert sorted(names()) == ["a", "b"]
    catalog.call("POST", path, 201, {"tags": [{"name": "c"}]},
                 headers={"X-OpenStack-Append": "True"})
    assert sorted(names()) == ["a", "b", "c"]
    catalog.call("POST", path, 409, {"tags": [{"name": "c"}]},
                 headers={"X-OpenStack-Append": "true"})
    catalog.call("POST", path, 409, {"tags": [{"name": "d"}, {"name": "d"}]})
    assert sorted(names()) == ["a", "b", "c"]
    for body in ({}, {"tags": "a"}, {"tags": [{"label": "a"}]}, {"tags": [{"name": ""}]}):
        catalog.call("POST", path, 400, body)
    assert names("?sort_key=name&sort_dir=asc") == ["a", "b", "c"]
    assert names("?sort_key=name&sort_dir=asc&limit=2") == ["a", "b"]
    assert names("?sort_key=name&sort_dir=asc&marker=a") == ["b", "c"]
    catalog.call("GET", f"{path}?marker=zzz", 404)
    catalog.call("GET", f"{path}?sort_key=colour", 400)


# -- schemas --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, title, field", [
    ("namespace", "namespace", "visibility"), ("namespaces", "namespaces", "namespaces"),
    ("resource_type", "resource_type_association", "prefix"),
    ("resource_types", "resource_type_associations", "resource_type_associations"),
    ("object", "object", "required"), ("objects", "objects", "objects"),
    ("property", "property", "enum"), ("properties", "properties", "properties"),
    ("tag", "tag", "name"), ("tags", "tags", "tags"),
])
def test_metadef_schemas_are_published(catalog, reader, name, title, field):
    document = catalog.call("GET", f"/image/v2/schemas/metadefs/{name}", 200,
                            token=reader["token"])
    assert document["name"] == title
    assert field in document["properties"]


def test_collection_schemas_hoist_definitions(catalog):
    namespaces = catalog.call("GET", "/image/v2/schemas/metadefs/namespaces", 200)
    assert namespaces["properties"]["namespaces"]["items"]["required"] == ["namespace"]
    assert "definitions" not in namespaces["properties"]["namespaces"]["items"]
    assert "property" in namespaces["definitions"]
    properties = catalog.call("GET", "/image/v2/schemas/metadefs/properties", 200)
    item = properties["properties"]["properties"]["additionalProperties"]
    assert item["required"] == ["title", "type"]


def test_unknown_schema_is_404_and_schemas_need_a_token(catalog, api):
    catalog.call("GET", "/image/v2/schemas/metadefs/widget", 404)
    assert_glance_error(api.get("/image/v2/schemas/metadefs/namespace"), 401)
