"""/v3/regions, /v3/services and /v3/endpoints."""

import pytest

from tests.identity.directory import add_user


@pytest.fixture
def member_token(api):
    user = add_user(api.cloud, project="proj-cat")
    return api.token(user["name"], user["password"], project="proj-cat")


def _region_ids(api, query=""):
    return sorted(r["id"] for r in api.admin("GET", f"/regions{query}", expect=200)
                  .json()["regions"])


def _make_service(api, **attrs):
    body = {"type": "compute", "name": "nova", **attrs}
    return api.admin("POST", "/services", {"service": body}, expect=201).json()["service"]


def _make_endpoint(api, service_id, **attrs):
    body = {"service_id": service_id, "interface": "public", "url": "http://c.test/v2.1",
            **attrs}
    return api.admin("POST", "/endpoints", {"endpoint": body}, expect=201).json()["endpoint"]


# -- regions ---------------------------------------------------------------------

def test_region_crud(api):
    generated = api.admin("POST", "/regions", {"region": {"description": "first"}},
                          expect=201).json()["region"]
    assert len(generated["id"]) == 32 and generated["description"] == "first"
    assert generated["parent_region_id"] is None
    assert generated["links"]["self"].endswith(f"/identity/v3/regions/{generated['id']}")

    child = api.admin("PUT", "/regions/west", {"region": {
        "parent_region_id": generated["id"], "color": "blue"}}, expect=201).json()["region"]
    assert child["id"] == "west" and child["description"] == "" and child["color"] == "blue"
    named = api.admin("POST", "/regions", {"region": {"id": "east"}}, expect=201).json()
    assert named["region"]["id"] == "east"

    assert api.admin("GET", "/regions/west", expect=200).json()["region"] == child
    assert _region_ids(api) == sorted(["RegionOne", generated["id"], "west", "east"])
    assert _region_ids(api, f"?parent_region_id={generated['id']}") == ["west"]

    moved = api.admin("PATCH", "/regions/west", {"region": {
        "description": "moved", "parent_region_id": "east"}}, expect=200).json()["region"]
    assert moved["description"] == "moved" and moved["parent_region_id"] == "east"
    assert api.admin("GET", "/regions/west").json()["region"]["description"] == "moved"

    api.admin("DELETE", "/regions/west", expect=204)
    api.admin("GET", "/regions/west", expect=404)


def test_region_refusals_change_nothing(api):
    api.admin("PUT", "/regions/top", {"region": {}}, expect=201)
    api.admin("PUT", "/regions/mid", {"region": {"parent_region_id": "top"}}, expect=201)
    api.admin("PUT", "/regions/low", {"region": {"parent_region_id": "mid"}}, expect=201)
    before = api.admin("GET", "/regions").json()["regions"]

    missing = api.admin("POST", "/regions", {"region": {"parent_region_id": "nope"}},
                        expect=404)
    assert missing.json()["error"]["message"] == "Could not find region: nope."
    api.admin("PUT", "/regions/top", {"region": {}}, expect=409)
    api.admin("PUT", "/regions/other", {"region": {"id": "different"}}, expect=400)
    api.admin("POST", "/regions", {"region": {"description": 7}}, expect=400)
    # cycles: a region cannot sit below itself or one of its descendants
    api.admin("PATCH", "/regions/top", {"region": {"parent_region_id": "top"}}, expect=400)
    api.admin("PATCH", "/regions/top", {"region": {"parent_region_id": "low"}}, expect=400)
    api.admin("PATCH", "/regions/top", {"region": {"id": "renamed"}}, expect=400)
    api.admin("PATCH", "/regions/ghost", {"region": {"description": "x"}}, expect=404)
    api.admin("DELETE", "/regions/ghost", expect=404)

    assert api.admin("GET", "/regions").json()["regions"] == before


def test_region_delete_takes_children_unless_they_have_endpoints(api):
    api.admin("PUT", "/regions/top", {"region": {}}, expect=201)
    api.admin("PUT", "/regions/mid", {"region": {"parent_region_id": "top"}}, expect=201)
    service = _make_service(api)
    endpoint = _make_endpoint(api, service["id"], region_id="mid")

    refused = api.admin("DELETE", "/regions/top", expect=403)
    assert "endpoints" in refused.json()["error"]["message"]
    assert {"top", "mid"} <= set(_region_ids(api))

    api.admin("DELETE", f"/endpoints/{endpoint['id']}", expect=204)
    api.admin("DELETE", "/regions/top", expect=204)
    assert _region_ids(api) == ["RegionOne"]


# -- services --------------------------------------------------------------------

def test_service_crud_and_filters(api):
    created = _make_service(api, description="Compute", owner="ops")
    assert created["type"] == "compute" and created["name"] == "nova"
    assert created["description"] == "Compute" and created["enabled"] is True
    assert created["owner"] == "ops"
    assert created["links"]["self"].endswith(f"/identity/v3/services/{created['id']}")
    bare = api.admin("POST", "/services", {"service": {"type": "volumev3"}},
                     expect=201).json()["service"]
    assert "name" not in bare and "description" not in bare

    shown = api.admin("GET", f"/services/{created['id']}", expect=200).json()["service"]
    assert shown == created
    types = [s["type"] for s in api.admin("GET", "/services", expect=200).json()["services"]]
    # Stacklet's own services are in the catalog beside the created one.
    assert sorted(types) == ["compute", "compute", "identity", "image", "network", "volumev3"]
    by_type = api.admin("GET", "/services?type=volumev3").json()["services"]
    assert [s["id"] for s in by_type] == [bare["id"]]
    assert [s["name"] for s in api.admin("GET", "/services?name=keystone").json()["services"]] \
        == ["keystone"]

    updated = api.admin("PATCH", f"/services/{created['id']}", {"service": {
        "description": "Nova", "enabled": False}}, expect=200).json()["service"]
    assert updated["description"] == "Nova" and updated["enabled"] is False
    assert api.admin("GET", f"/services/{created['id']}").json()["service"] == updated

    api.admin("DELETE", f"/services/{created['id']}", expect=204)
    api.admin("GET", f"/services/{created['id']}", expect=404)


def test_service_bad_input_changes_nothing(api):
    before = api.admin("GET", "/services").json()["services"]
    api.admin("POST", "/services", {"service": {"name": "no-type"}}, expect=400)
    api.admin("POST", "/services", {"service": {"type": ""}}, expect=400)
    api.admin("POST", "/services", {"service": {"type": "x", "enabled": "yes"}}, expect=400)
    api.admin("POST", "/services", {"nothing": {}}, expect=400)
    identity = before[0]["id"]
    api.admin("PATCH", f"/services/{identity}", {"service": {}}, expect=400)
    api.admin("PATCH", f"/services/{identity}", {"service": {"type": 5}}, expect=400)
    missing = api.admin("PATCH", "/services/ghost", {"service": {"name": "x"}}, expect=404)
    assert missing.json()["error"]["message"] == "Could not find service: ghost."
    api.admin("DELETE", "/services/ghost", expect=404)
    assert api.admin("GET", "/services").json()["services"] == before


def test_bootstrap_services_stay_admin_editable(api):
    identity = api.admin("GET", "/services?type=identity").json()["services"][0]
    assert identity["name"] == "keystone"
    api.admin("PATCH", f"/services/{identity['id']}", {"service": {"description": "ours"}},
              expect=200)
    assert api.admin("GET", f"/services/{identity['id']}").json()["service"]["description"] \
        == "ours"
    endpoints = api.admin("GET", f"/endpoints?service_id={identity['id']}").json()["endpoints"]
    assert sorted(e["interface"] for e in endpoints) == ["admin", "internal", "public"]


# -- endpoints -------------------------------------------------------------------

def test_endpoint_crud_and_filters(api):
    service = _make_service(api)
    created = _make_endpoint(api, service["id"], region_id="RegionOne", note="n")
    assert created["interface"] == "public" and created["url"] == "http://c.test/v2.1"
    assert created["region_id"] == created["region"] == "RegionOne"
    assert created["enabled"] is True and created["note"] == "n"
    assert created["links"]["self"].endswith(f"/identity/v3/endpoints/{created['id']}")
    internal = _make_endpoint(api, service["id"], interface="internal")
    assert internal["region_id"] is None

    assert api.admin("GET", f"/endpoints/{created['id']}", expect=200).json()["endpoint"] \
        == created
    mine = api.admin("GET", f"/endpoints?service_id={service['id']}").json()["endpoints"]
    assert sorted(e["id"] for e in mine) == sorted([created["id"], internal["id"]])
    internal_only = api.admin(
        "GET", f"/endpoints?service_id={service['id']}&interface=internal").json()
    assert [e["id"] for e in internal_only["endpoints"]] == [internal["id"]]
    in_region = api.admin("GET", "/endpoints?region_id=RegionOne").json()["endpoints"]
    assert created["id"] in {e["id"] for e in in_region}
    assert internal["id"] not in {e["id"] for e in in_region}

    updated = api.admin("PATCH", f"/endpoints/{created['id']}", {"endpoint": {
        "url": "http://c2.test/", "enabled": False, "interface": "admin"}},
        expect=200).json()["endpoint"]
    assert (updated["url"], updated["enabled"], updated["interface"]) == \
        ("http://c2.test/", False, "admin")

    api.admin("DELETE", f"/endpoints/{created['id']}", expect=204)
    api.admin("GET", f"/endpoints/{created['id']}", expect=404)


def test_legacy_region_field_creates_the_region(api):
    service = _make_service(api)
    endpoint = _make_endpoint(api, service["id"], region="RegionTwo")
    assert endpoint["region_id"] == endpoint["region"] == "RegionTwo"
    assert api.admin("GET", "/regions/RegionTwo", expect=200).json()["region"]["id"] \
        == "RegionTwo"
    moved = api.admin("PATCH", f"/endpoints/{endpoint['id']}", {"endpoint": {
        "region": "RegionThree"}}, expect=200).json()["endpoint"]
    assert moved["region_id"] == "RegionThree"
    api.admin("GET", "/regions/RegionThree", expect=200)


def test_endpoint_bad_input_changes_nothing(api):
    service = _make_service(api)
    before = api.admin("GET", "/endpoints").json()["endpoints"]
    regions_before = _region_ids(api)
    good = {"service_id": service["id"], "interface": "public", "url": "http://x.test/"}
    for change in ({"interface": "private"}, {"url": "not a url"}, {"url": None},
                   {"enabled": "True"}, {"service_id": None}):
        api.admin("POST", "/endpoints", {"endpoint": {**good, **change}}, expect=400)
    without_url = {k: v for k, v in good.items() if k != "url"}
    api.admin("POST", "/endpoints", {"endpoint": without_url}, expect=400)
    unknown_service = api.admin("POST", "/endpoints", {"endpoint": {
        **good, "service_id": "ghost"}}, expect=400)
    assert "ghost" in unknown_service.json()["error"]["message"]
    api.admin("POST", "/endpoints", {"endpoint": {**good, "region_id": "Nowhere"}}, expect=400)

    endpoint_id = before[0]["id"]
    api.admin("PATCH", f"/endpoints/{endpoint_id}", {"endpoint": {"interface": "x"}},
              expect=400)
    api.admin("PATCH", f"/endpoints/{endpoint_id}", {"endpoint": {"service_id": "ghost"}},
              expect=400)
    api.admin("PATCH", f"/endpoints/{endpoint_id}", {"endpoint": {"enabled": "False"}},
              expect=400)
    api.admin("PATCH", "/endpoints/ghost", {"endpoint": {"url": "http://y.test/"}},
              expect=404)
    api.admin("DELETE", "/endpoints/ghost", expect=404)
    assert api.admin("GET", "/endpoints").json()["endpoints"] == before
    assert _region_ids(api) == regions_before


def test_deleting_a_service_deletes_its_endpoints(api):
    service = _make_service(api)
    endpoint = _make_endpoint(api, service["id"])
    api.admin("DELETE", f"/services/{service['id']}", expect=204)
    api.admin("GET", f"/endpoints/{endpoint['id']}", expect=404)
    assert api.admin("GET", f"/endpoints?service_id={service['id']}").json()["endpoints"] == []


def test_new_tokens_carry_the_changed_catalog(api):
    service = _make_service(api)
    endpoint = _make_endpoint(api, service["id"], url="http://c.test/v2.1/$(project_id)s",
                              region_id="RegionOne")
    token = api.auth("admin", "s3cret-admin", project="admin").json()["token"]
    entry = next(s for s in token["catalog"] if s["id"] == service["id"])
    assert entry["type"] == "compute" and entry["name"] == "nova"
    assert entry["endpoints"] == [{
        "id": endpoint["id"], "interface": "public", "region": "RegionOne",
        "region_id": "RegionOne", "url": f"http://c.test/v2.1/{token['project']['id']}"}]

    api.admin("PATCH", f"/endpoints/{endpoint['id']}", {"endpoint": {"enabled": False}},
              expect=200)
    token = api.auth("admin", "s3cret-admin", project="admin").json()["token"]
    entry = next(s for s in token["catalog"] if s["id"] == service["id"])
    assert entry["endpoints"] == []


def test_member_cannot_change_the_catalog(api, member_token):
    service = _make_service(api)
    endpoint = _make_endpoint(api, service["id"])
    regions = _region_ids(api)
    services = api.admin("GET", "/services").json()["services"]
    endpoints = api.admin("GET", "/endpoints").json()["endpoints"]
    base = "/identity/v3"
    refused = [
        api.post(f"{base}/regions", {"region": {}}, member_token),
        api.put(f"{base}/regions/mine", {"region": {}}, member_token),
        api.patch(f"{base}/regions/RegionOne", {"region": {"description": "x"}}, member_token),
        api.delete(f"{base}/regions/RegionOne", member_token),
        api.post(f"{base}/services", {"service": {"type": "x"}}, member_token),
        api.patch(f"{base}/services/{service['id']}", {"service": {"name": "x"}},
                  member_token),
        api.delete(f"{base}/services/{service['id']}", member_token),
        api.post(f"{base}/endpoints", {"endpoint": {
            "service_id": service["id"], "interface": "public", "url": "http://m.test/"}},
            member_token),
        api.patch(f"{base}/endpoints/{endpoint['id']}", {"endpoint": {"enabled": False}},
                  member_token),
        api.delete(f"{base}/endpoints/{endpoint['id']}", member_token),
        # services and endpoints are read by admins and system readers only
        api.get(f"{base}/services", member_token),
        api.get(f"{base}/endpoints/{endpoint['id']}", member_token),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert refused[0].json()["error"]["title"] == "Forbidden"
    # any authenticated user reads regions, as upstream
    assert api.get(f"{base}/regions", member_token).status_code == 200
    assert api.get(f"{base}/regions").status_code == 401
    assert _region_ids(api) == regions
    assert api.admin("GET", "/services").json()["services"] == services
    assert api.admin("GET", "/endpoints").json()["endpoints"] == endpoints
