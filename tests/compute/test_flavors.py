"""Flavors: DevStack's defaults, listing filters and pages, create/update/delete,
extra specs and private flavors' access lists."""

from __future__ import annotations

import pytest

FLAVOR = {"name": "f.small", "ram": 1024, "vcpus": 2, "disk": 10}


def create(admin, microversion="2.1", expect=200, **fields):
    response = admin.post("/flavors", {"flavor": {**FLAVOR, **fields}}, microversion)
    assert response.status_code == expect, response.text
    return response.json().get("flavor")


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [flavor["name"] for flavor in response.json()["flavors"]]


def test_devstack_flavors_exist(alice):
    listed = alice.get("/flavors/detail").json()["flavors"]
    by_name = {flavor["name"]: flavor for flavor in listed}
    assert set(by_name) == {"m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge",
                            "m1.nano", "m1.micro"}
    nano = by_name["m1.nano"]
    assert (nano["id"], nano["ram"], nano["vcpus"], nano["disk"]) == ("42", 128, 1, 1)
    assert by_name["m1.micro"]["id"] == "84"
    assert nano["swap"] == "" and nano["OS-FLV-EXT-DATA:ephemeral"] == 0
    assert nano["os-flavor-access:is_public"] and not nano["OS-FLV-DISABLED:disabled"]
    assert nano["links"][0]["href"].endswith("/compute/v2.1/flavors/42")
    assert nano["links"][1]["href"].endswith("/compute/flavors/42")
    assert "description" not in nano and "extra_specs" not in nano


def test_bootstrap_respects_deleted_flavors(api, admin, stacklet_config):
    from stacklet.cli import prepare
    for flavor_id in ("1", "2", "3", "4", "5", "42"):
        assert admin.delete(f"/flavors/{flavor_id}").status_code == 202
    prepare(stacklet_config, None)
    assert names(admin.get("/flavors")) == ["m1.micro"]


def test_create_show_and_microversion_views(admin, alice):
    flavor = create(admin, id="small-1", swap=0, rxtx_factor=2.0)
    assert flavor["id"] == "small-1" and flavor["rxtx_factor"] == 2.0
    generated = create(admin, name="generated", id=None)
    assert len(generated["id"]) == 36
    # Clients send numbers and boolean strings; Nova takes them.
    numbered = create(admin, name="numbered", id=1234, ram="256",
                      **{"os-flavor-access:is_public": "False"})
    assert numbered["id"] == "1234" and numbered["ram"] == 256
    assert numbered["os-flavor-access:is_public"] is False
    assert alice.get("/flavors/small-1").json()["flavor"]["swap"] == ""
    latest = alice.get("/flavors/small-1", "2.75").json()["flavor"]
    assert latest["swap"] == 0 and latest["description"] is None
    assert latest["extra_specs"] == {}
    assert "extra_specs" not in alice.get("/flavors/small-1", "2.60").json()["flavor"]
    described = create(admin, "2.55", name="described", description="for tests")
    assert described["description"] == "for tests"
    assert admin.get("/flavors", "2.55").json()["flavors"][0].keys() == \
        {"id", "name", "links", "description"}
    # A description needs 2.55.
    assert admin.post("/flavors", {"flavor": {**FLAVOR, "name": "x", "description": "d"}}
                      ).status_code == 404


def test_create_conflicts_and_bad_input(admin, alice):
    create(admin, id="dup")
    conflict = admin.post("/flavors", {"flavor": {**FLAVOR, "id": "other"}})
    assert conflict.status_code == 409
    assert conflict.json()["conflictingRequest"]["message"] == \
        "Flavor with name f.small already exists."
    assert admin.post("/flavors", {"flavor": {**FLAVOR, "name": "n2", "id": "dup"}}
                      ).status_code == 409
    for bad in ({"ram": 0}, {"vcpus": "many"}, {"name": " padded"}, {"disk": -1},
                {"id": "bad/id"}, {"rxtx_factor": 0}, {"color": "red"},
                {"os-flavor-access:is_public": "perhaps"}):
        response = admin.post("/flavors", {"flavor": {**FLAVOR, "name": "bad", **bad}})
        assert response.status_code == 400, (bad, response.text)
        assert "badRequest" in response.json()
    assert alice.post("/flavors", {"flavor": {**FLAVOR, "name": "mine"}}).status_code == 403
    assert alice.delete("/flavors/1").status_code == 403
    assert admin.get("/flavors/nope").status_code == 404
    assert admin.delete("/flavors/nope").status_code == 404


@pytest.mark.parametrize("field, value, says", [
    ("ram", "", "ram must be an integer"),
    ("ram", "0", "ram must be >= 1"),
    ("vcpus", "9" * 400, "vcpus must be >= 1 and <= 2147483647"),
    ("disk", "", "disk must be an integer"),
    ("rxtx_factor", "999.1.1.1", "rxtx_factor must be a number"),
    ("rxtx_factor", "0.0", "rxtx_factor must be > 0"),
    ("rxtx_factor", "9" * 400, "rxtx_factor must be > 0 and <= 3.40282e38"),
])
def test_numbers_written_as_strings_are_checked_for_their_value(admin, field, value, says):
    # The schema checks only the characters of such a string; its value is checked after.
    response = admin.post("/flavors", {"flavor": {**FLAVOR, "name": "strings", field: value}})
    assert response.status_code == 400, response.text
    assert says in response.json()["badRequest"]["message"]
    assert all(f["name"] != "strings" for f in admin.get("/flavors").json()["flavors"])


def test_an_empty_swap_is_no_swap(admin):
    response = admin.post("/flavors", {"flavor": {**FLAVOR, "name": "noswap", "swap": "",
                                                  "ram": "512"}})
    assert response.status_code == 200, response.text
    assert response.json()["flavor"]["swap"] == "" and response.json()["flavor"]["ram"] == 512


def test_update_description(admin):
    create(admin, id="upd")
    assert admin.put("/flavors/upd", {"flavor": {"description": "d"}}).status_code == 404
    updated = admin.put("/flavors/upd", {"flavor": {"description": "now"}}, "2.55")
    assert updated.status_code == 200 and updated.json()["flavor"]["description"] == "now"
    assert admin.put("/flavors/upd", {"flavor": {"name": "x"}}, "2.55").status_code == 400


def test_list_filters_sorting_and_pages(admin):
    assert names(admin.get("/flavors?minRam=8192")) == ["m1.large", "m1.xlarge"]
    assert names(admin.get("/flavors?minDisk=40&sort_key=name&sort_dir=desc")) == \
        ["m1.xlarge", "m1.medium", "m1.large"]
    assert admin.get("/flavors?minRam=lots").status_code == 400
    assert admin.get("/flavors?sort_key=color").status_code == 400
    first = admin.get("/flavors?limit=3&sort_key=memory_mb").json()
    assert [f["name"] for f in first["flavors"]] == ["m1.nano", "m1.micro", "m1.tiny"]
    next_href = first["flavors_links"][0]["href"]
    assert "marker=1" in next_href and "sort_key=memory_mb" in next_href
    rest = admin.get("/flavors?limit=10&sort_key=memory_mb&marker=1").json()
    assert [f["name"] for f in rest["flavors"]] == ["m1.small", "m1.medium", "m1.large",
                                                    "m1.xlarge"]
    assert "flavors_links" not in rest
    assert admin.get("/flavors?marker=nope").status_code == 400


def test_private_flavors_and_access(admin, alice, bob):
    create(admin, id="priv", name="private", **{"os-flavor-access:is_public": False})
    assert "private" not in names(alice.get("/flavors"))
    assert alice.get("/flavors/priv").status_code == 404
    # Admins list private flavors only when asking for them.
    assert "private" not in names(admin.get("/flavors"))
    assert "private" in names(admin.get("/flavors?is_public=None"))
    assert names(admin.get("/flavors?is_public=false")) == ["private"]
    assert admin.get("/flavors?is_public=maybe").status_code == 400
    # Non-admins cannot widen their view.
    assert "private" not in names(alice.get("/flavors?is_public=none"))

    add = {"addTenantAccess": {"tenant": alice.project_id}}
    added = admin.post("/flavors/priv/action", add)
    assert added.status_code == 200, added.text
    assert added.json() == {"flavor_access": [{"flavor_id": "priv",
                                               "tenant_id": alice.project_id}]}
    assert admin.post("/flavors/priv/action", add).status_code == 409
    unknown = admin.post("/flavors/priv/action", {"addTenantAccess": {"tenant": "nope"}})
    assert unknown.status_code == 400
    assert unknown.json()["badRequest"]["message"] == "Project ID nope is not a valid project."
    assert "private" in names(alice.get("/flavors"))
    assert alice.get("/flavors/priv").status_code == 200
    assert bob.get("/flavors/priv").status_code == 404
    assert alice.post("/flavors/priv/action", add).status_code == 403
    assert admin.get("/flavors/priv/os-flavor-access").json()["flavor_access"][0][
        "tenant_id"] == alice.project_id

    remove = {"removeTenantAccess": {"tenant": alice.project_id}}
    assert admin.post("/flavors/priv/action", remove).json() == {"flavor_access": []}
    assert admin.post("/flavors/priv/action", remove).status_code == 404
    assert alice.get("/flavors/priv").status_code == 404
    # Public flavors have no access list.
    assert admin.get("/flavors/1/os-flavor-access").status_code == 404
    assert admin.post("/flavors/1/action", add).status_code == 409
    assert admin.post("/flavors/1/action", {"dance": {}}).status_code == 400


def test_extra_specs(admin, alice):
    create(admin, id="specs")
    url = "/flavors/specs/os-extra_specs"
    created = admin.post(url, {"extra_specs": {"hw:cpu_policy": "shared", "n": 2}})
    assert created.status_code == 200
    assert created.json() == {"extra_specs": {"hw:cpu_policy": "shared", "n": "2"}}
    assert alice.get(url).json() == {"extra_specs": {"hw:cpu_policy": "shared", "n": "2"}}
    assert alice.get(url + "/n").json() == {"n": "2"}
    assert alice.post(url, {"extra_specs": {"a": "b"}}).status_code == 403
    assert admin.put(url + "/n", {"n": "3"}).json() == {"n": "3"}
    assert admin.put(url + "/n", {"m": "3"}).status_code == 400
    assert admin.put(url + "/n", {"n": "3", "m": "4"}).status_code == 400
    assert admin.post(url, {"extra_specs": {"bad/key": "x"}}).status_code == 400
    shown = alice.get("/flavors/specs", "2.61").json()["flavor"]
    assert shown["extra_specs"] == {"hw:cpu_policy": "shared", "n": "3"}
    assert admin.delete(url + "/n").status_code == 200
    assert admin.delete(url + "/n").status_code == 404
    assert alice.get(url + "/n").status_code == 404
    assert admin.get("/flavors/nope/os-extra_specs").status_code == 404


def test_strict_query_from_275(admin):
    assert admin.get("/flavors?color=red").status_code == 200
    refused = admin.get("/flavors/detail?color=red", "2.75")
    assert refused.status_code == 400 and "'color' was unexpected" in refused.text
