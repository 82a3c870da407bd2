"""/v3/registered_limits and /v3/limits, and the effective limit services enforce."""

import pytest

from stacklet.identity import limits


@pytest.fixture
def identity_service_id(api):
    return api.admin("GET", "/services?type=identity", expect=200).json()["services"][0]["id"]


def _register(api, service_id, resource="widgets", default=10, expect=201, **extra):
    response = api.admin("POST", "/registered_limits", {"registered_limits": [{
        "service_id": service_id, "resource_name": resource, "default_limit": default,
        **extra}]}, expect=expect)
    return response.json().get("registered_limits", [None])[0]


def test_registered_limit_crud(api, identity_service_id):
    created = _register(api, identity_service_id, region_id="RegionOne", description="d")
    assert created["default_limit"] == 10 and created["region_id"] == "RegionOne"
    assert created["links"]["self"].endswith(f"/v3/registered_limits/{created['id']}")
    listed = api.admin("GET", "/registered_limits?resource_name=widgets").json()
    assert [r["id"] for r in listed["registered_limits"]] == [created["id"]]
    updated = api.admin("PATCH", f"/registered_limits/{created['id']}", {
        "registered_limit": {"default_limit": 20}}, expect=200).json()["registered_limit"]
    assert updated["default_limit"] == 20
    api.admin("DELETE", f"/registered_limits/{created['id']}", expect=204)
    api.admin("GET", f"/registered_limits/{created['id']}", expect=404)


def test_registered_limit_bad_input(api, identity_service_id):
    _register(api, identity_service_id)
    _register(api, identity_service_id, expect=409)                       # duplicate
    _register(api, "no-such-service", resource="x", expect=400)
    _register(api, identity_service_id, resource="y", region_id="Nowhere", expect=400)
    _register(api, identity_service_id, resource="z", default="ten", expect=400)
    names = [r["resource_name"] for r in
             api.admin("GET", "/registered_limits").json()["registered_limits"]]
    assert names == ["widgets"]


def test_project_limit_overrides_the_default(api, cloud, identity_service_id):
    registered = _register(api, identity_service_id, default=10)
    user = api.make_user(project="limited")
    with cloud.db.session() as session:
        assert limits.effective_limit(session, "identity", "widgets", user["project_id"]) == 10
        assert limits.effective_limit(session, "identity", "gadgets", user["project_id"]) is None
    created = api.admin("POST", "/limits", {"limits": [{
        "service_id": identity_service_id, "project_id": user["project_id"],
        "resource_name": "widgets", "resource_limit": 3}]}, expect=201).json()["limits"][0]
    assert created["resource_limit"] == 3 and created["project_id"] == user["project_id"]
    with cloud.db.session() as session:
        assert limits.effective_limit(session, "identity", "widgets", user["project_id"]) == 3

    # a member sees the limits of their own project only
    token = api.token(user["name"], user["password"], project="limited")
    own = api.get("/identity/v3/limits", token).json()["limits"]
    assert [limit["id"] for limit in own] == [created["id"]]
    assert api.get(f"/identity/v3/limits/{created['id']}", token).status_code == 200
    assert api.patch(f"/identity/v3/limits/{created['id']}", {"limit": {
        "resource_limit": 100}}, token).status_code == 403

    api.admin("PATCH", f"/limits/{created['id']}", {"limit": {"resource_limit": 5}},
              expect=200)
    # a registered limit in use cannot be deleted
    api.admin("DELETE", f"/registered_limits/{registered['id']}", expect=403)
    api.admin("DELETE", f"/limits/{created['id']}", expect=204)
    api.admin("DELETE", f"/registered_limits/{registered['id']}", expect=204)


def test_limit_bad_input(api, identity_service_id):
    user = api.make_user(project="lp")
    base = {"service_id": identity_service_id, "resource_name": "widgets",
            "resource_limit": 1}
    # nothing registered for the resource
    api.admin("POST", "/limits", {"limits": [{**base, "project_id": user["project_id"]}]},
              expect=403)
    _register(api, identity_service_id)
    api.admin("POST", "/limits", {"limits": [base]}, expect=400)           # no target
    api.admin("POST", "/limits", {"limits": [{**base, "project_id": "nope"}]}, expect=404)
    api.admin("POST", "/limits", {"limits": [{**base, "project_id": user["project_id"]}]},
              expect=201)
    api.admin("POST", "/limits", {"limits": [{**base, "project_id": user["project_id"]}]},
              expect=409)
    assert len(api.admin("GET", "/limits").json()["limits"]) == 1
    assert api.admin("GET", "/limits/model", expect=200).json()["model"]["name"] == "flat"
