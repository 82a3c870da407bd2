"""/v3/projects and /v3/projects/{id}/tags."""

import pytest

from tests.identity.directory import grant, project_member

V3 = "/identity/v3"


def _create(api, **project):
    return api.admin("POST", "/projects", {"project": project}, expect=201).json()["project"]


def _names(api, query=""):
    return [p["name"] for p in api.admin("GET", f"/projects{query}", expect=200).json()["projects"]]


def test_project_crud_keeps_extra_attributes(api):
    created = _create(api, name="alpha", description="first", tags=["x"], colour="red")
    assert created["domain_id"] == "default"
    assert created["parent_id"] == "default"      # a top-level project shows its domain
    assert created["is_domain"] is False and created["enabled"] is True
    assert created["options"] == {} and created["tags"] == ["x"] and created["colour"] == "red"
    assert created["links"]["self"].endswith(f"/identity/v3/projects/{created['id']}")

    shown = api.admin("GET", f"/projects/{created['id']}", expect=200).json()["project"]
    assert shown == created

    listed = api.admin("GET", "/projects", expect=200).json()
    assert {"self", "previous", "next"} <= set(listed["links"])
    assert sorted(p["name"] for p in listed["projects"]) == ["admin", "alpha"]

    updated = api.admin("PATCH", f"/projects/{created['id']}", {"project": {
        "name": "beta", "description": None, "size": 3}}, expect=200).json()["project"]
    assert updated["name"] == "beta" and updated["description"] == ""
    assert updated["colour"] == "red" and updated["size"] == 3

    api.admin("DELETE", f"/projects/{created['id']}", expect=204)
    response = api.admin("GET", f"/projects/{created['id']}", expect=404)
    assert response.json()["error"]["message"] == f"Could not find project: {created['id']}."


def test_list_filters(api):
    other = api.admin("POST", "/domains", {"domain": {"name": "other"}}, expect=201).json()
    other_id = other["domain"]["id"]
    red = _create(api, name="red", tags=["warm", "primary"])
    _create(api, name="orange", tags=["warm"], enabled=False)
    _create(api, name="blue", tags=["primary"], domain_id=other_id)
    child = _create(api, name="pink", parent_id=red["id"])

    assert _names(api, "?name=red") == ["red"]
    assert _names(api, "?enabled=false") == ["orange"]
    assert _names(api, f"?domain_id={other_id}") == ["blue"]
    assert _names(api, f"?parent_id={red['id']}") == ["pink"]
    assert sorted(_names(api, "?parent_id=default")) == ["admin", "orange", "red"]
    assert _names(api, "?tags=warm,primary") == ["red"]
    assert sorted(_names(api, "?tags-any=warm,primary")) == ["blue", "orange", "red"]
    assert sorted(_names(api, "?not-tags=warm,primary")) == ["admin", "blue", "orange", "pink"]
    assert sorted(_names(api, "?not-tags-any=warm")) == ["admin", "blue", "pink"]
    assert sorted(_names(api, "?name__contains=r")) == ["orange", "red"]
    # every domain is listed as a project acting as a domain
    assert sorted(_names(api, "?is_domain=true")) == sorted(["Default", "other"])
    assert child["parent_id"] == red["id"]


def test_hierarchy(api):
    root = _create(api, name="root")
    mid = _create(api, name="mid", parent_id=root["id"])
    leaf = _create(api, name="leaf", parent_id=mid["id"])
    assert leaf["domain_id"] == "default" and leaf["parent_id"] == mid["id"]
    # A parent given as the domain means the top level.
    assert _create(api, name="top", parent_id="default")["parent_id"] == "default"

    shown = api.admin("GET", f"/projects/{mid['id']}?parents_as_list&subtree_as_list",
                      expect=200).json()["project"]
    assert [p["project"]["id"] for p in shown["parents"]] == [root["id"]]
    assert [p["project"]["id"] for p in shown["subtree"]] == [leaf["id"]]

    # A project with children can neither be deleted nor disabled.
    api.admin("DELETE", f"/projects/{mid['id']}", expect=403)
    api.admin("PATCH", f"/projects/{mid['id']}", {"project": {"enabled": False}}, expect=403)
    api.admin("PATCH", f"/projects/{leaf['id']}", {"project": {"parent_id": root["id"]}},
              expect=403)
    api.admin("PATCH", f"/projects/{leaf['id']}", {"project": {"domain_id": "other"}},
              expect=400)
    # Disabled leaf first, then its parent; the leaf cannot be enabled under it.
    api.admin("PATCH", f"/projects/{leaf['id']}", {"project": {"enabled": False}}, expect=200)
    api.admin("PATCH", f"/projects/{mid['id']}", {"project": {"enabled": False}}, expect=200)
    api.admin("PATCH", f"/projects/{leaf['id']}", {"project": {"enabled": True}}, expect=403)
    api.admin("POST", "/projects", {"project": {"name": "under-disabled",
                                                "parent_id": mid["id"]}}, expect=400)

    # Keystone's default depth limit: the domain plus five levels of projects is too deep.
    api.admin("PATCH", f"/projects/{mid['id']}", {"project": {"enabled": True}}, expect=200)
    level3 = _create(api, name="level3", parent_id=mid["id"], enabled=True)
    level4 = _create(api, name="level4", parent_id=level3["id"])
    api.admin("POST", "/projects", {"project": {"name": "level5", "parent_id": level4["id"]}},
              expect=403)

    api.admin("DELETE", f"/projects/{leaf['id']}", expect=204)
    assert [p["project"]["id"] for p in api.admin(
        "GET", f"/projects/{mid['id']}?subtree_as_list").json()["project"]["subtree"]] \
        == [level3["id"], level4["id"]]


def test_unknown_or_foreign_parent_and_domain(api):
    other = api.admin("POST", "/domains", {"domain": {"name": "other"}}, expect=201).json()
    parent = _create(api, name="parent")
    before = _names(api)
    response = api.admin("POST", "/projects", {"project": {"name": "x", "parent_id": "nope"}},
                         expect=400)
    assert "nope" in response.json()["error"]["message"]
    api.admin("POST", "/projects", {"project": {"name": "x", "domain_id": "nope"}}, expect=400)
    api.admin("POST", "/projects", {"project": {
        "name": "x", "parent_id": parent["id"], "domain_id": other["domain"]["id"]}},
        expect=400)
    assert _names(api) == before


def test_duplicate_names_conflict_per_domain(api):
    other = api.admin("POST", "/domains", {"domain": {"name": "other"}}, expect=201).json()
    first = _create(api, name="same")
    response = api.admin("POST", "/projects", {"project": {"name": "same"}}, expect=409)
    assert response.json()["error"]["title"] == "Conflict"
    _create(api, name="same", domain_id=other["domain"]["id"])
    second = _create(api, name="second")
    api.admin("PATCH", f"/projects/{second['id']}", {"project": {"name": "same"}}, expect=409)
    assert api.admin("GET", f"/projects/{first['id']}").json()["project"]["name"] == "same"
    assert api.admin("GET", f"/projects/{second['id']}").json()["project"]["name"] == "second"


@pytest.mark.parametrize("body", [
    {"project": {}},
    {"project": {"name": 5}},
    {"project": {"name": ""}},
    {"project": {"name": "   "}},
    {"project": {"name": "x" * 65}},
    {"project": {"name": "ok", "enabled": "yes"}},
    {"project": {"name": "ok", "tags": "a"}},
    {"project": {"name": "ok", "tags": ["a,b"]}},
    {"project": {"name": "ok", "tags": ["a", "a"]}},
    {"project": {"name": "ok", "options": {"immutable": True}}},
    {"name": "ok"},
    [],
])
def test_bad_create_input_is_400_and_changes_nothing(api, body):
    before = _names(api)
    response = api.admin("POST", "/projects", body, expect=400)
    assert response.json()["error"]["code"] == 400
    assert _names(api) == before


def test_bad_update_input_is_400_and_changes_nothing(api):
    project = _create(api, name="steady")
    for body in ({"project": {}}, {"project": {"enabled": 1}}, {"project": {"id": "new"}},
                 {"project": {"name": None}}):
        api.admin("PATCH", f"/projects/{project['id']}", body, expect=400)
    malformed = api.request("PATCH", f"{V3}/projects/{project['id']}", api.admin_token,
                            content=b"{oops", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert api.admin("GET", f"/projects/{project['id']}").json()["project"] == project


def test_unknown_project_is_404(api):
    for method, path, body in (("GET", "/projects/nope", None),
                               ("PATCH", "/projects/nope", {"project": {"name": "n"}}),
                               ("DELETE", "/projects/nope", None),
                               ("GET", "/projects/nope/tags", None),
                               ("PUT", "/projects/nope/tags/t", None)):
        response = api.admin(method, path, body, expect=404)
        assert response.json()["error"]["message"] == "Could not find project: nope."


def test_project_tags(api):
    project = _create(api, name="tagged")
    tags_path = f"/projects/{project['id']}/tags"
    added = api.admin("PUT", f"{tags_path}/blue", expect=201)
    assert added.headers["Location"].endswith(f"/v3/projects/{project['id']}/tags/blue")
    api.admin("PUT", f"{tags_path}/blue", expect=201)   # adding it again changes nothing
    api.admin("GET", f"{tags_path}/blue", expect=204)
    assert api.request("HEAD", f"{V3}{tags_path}/blue", api.admin_token).status_code == 204
    api.admin("GET", f"{tags_path}/green", expect=404)
    assert api.admin("GET", tags_path, expect=200).json()["tags"] == ["blue"]

    replaced = api.admin("PUT", tags_path, {"tags": ["a", "b", "c"]}, expect=200).json()
    assert sorted(replaced["tags"]) == ["a", "b", "c"]
    api.admin("PUT", tags_path, {"tags": ["a/b"]}, expect=400)
    api.admin("PUT", tags_path, {"tags": [f"t{i}" for i in range(81)]}, expect=400)
    api.admin("DELETE", f"{tags_path}/a", expect=204)
    api.admin("DELETE", f"{tags_path}/a", expect=404)
    assert api.admin("GET", f"/projects/{project['id']}").json()["project"]["tags"] == ["b", "c"]
    api.admin("DELETE", tags_path, expect=204)
    assert api.admin("GET", tags_path).json()["tags"] == []


def test_member_reads_own_project_but_cannot_manage_projects(api):
    member = project_member(api, "team")
    other = _create(api, name="elsewhere")
    token = member["token"]
    own = api.get(f"{V3}/projects/{member['project_id']}", token)
    assert own.status_code == 200 and own.json()["project"]["name"] == "team"
    assert api.get(f"{V3}/projects/{member['project_id']}/tags", token).status_code == 200
    assert api.get(f"{V3}/projects/{other['id']}", token).status_code == 403
    assert api.get(f"{V3}/projects", token).status_code == 403
    assert api.post(f"{V3}/projects", {"project": {"name": "mine"}}, token).status_code == 403
    assert api.patch(f"{V3}/projects/{member['project_id']}",
                     {"project": {"name": "renamed"}}, token).status_code == 403
    assert api.put(f"{V3}/projects/{member['project_id']}/tags/x", token=token).status_code \
        == 403
    assert api.delete(f"{V3}/projects/{other['id']}", token).status_code == 403
    assert sorted(_names(api)) == ["admin", "elsewhere", "team"]
    assert api.admin("GET", f"/projects/{member['project_id']}").json()["project"]["tags"] == []
    assert api.get(f"{V3}/projects").status_code == 401


def test_disabling_a_project_invalidates_its_tokens_at_once(api):
    member = project_member(api, "shortlived")
    own = f"{V3}/projects/{member['project_id']}"
    assert api.get(own, member["token"]).status_code == 200
    api.admin("PATCH", f"/projects/{member['project_id']}", {"project": {"enabled": False}},
              expect=200)
    assert api.get(own, member["token"]).status_code == 401
    assert api.auth(member["name"], member["password"], project="shortlived").status_code == 401
    api.admin("PATCH", f"/projects/{member['project_id']}", {"project": {"enabled": True}},
              expect=200)
    assert api.get(own, member["token"]).status_code == 200


def test_deleting_a_project_removes_its_assignments_and_tokens(api):
    member = project_member(api, "doomed")
    api.admin("DELETE", f"/projects/{member['project_id']}", expect=204)
    assert api.get(f"{V3}/users/{member['id']}", member["token"]).status_code == 401
    # A new project of the same name does not inherit the old assignments.
    fresh = _create(api, name="doomed")
    assert api.auth(member["name"], member["password"], project="doomed").status_code == 401
    grant(api.cloud, "member", project_id=fresh["id"], user_id=member["id"])
    assert api.auth(member["name"], member["password"], project="doomed").status_code == 201


def test_project_acting_as_domain_is_a_domain(api):
    created = _create(api, name="dom-proj", is_domain=True)
    assert created["is_domain"] is True and created["domain_id"] is None
    domains = api.admin("GET", "/domains", expect=200).json()["domains"]
    assert created["id"] in [d["id"] for d in domains]
    shown = api.admin("GET", f"/projects/{created['id']}", expect=200).json()["project"]
    assert shown == created
    # like a domain, it must be disabled before it can be deleted
    api.admin("DELETE", f"/projects/{created['id']}", expect=403)
    api.admin("PATCH", f"/projects/{created['id']}", {"project": {"enabled": False}},
              expect=200)
    api.admin("DELETE", f"/projects/{created['id']}", expect=204)
    api.admin("GET", f"/domains/{created['id']}", expect=404)
    api.admin("POST", "/projects", {"project": {"name": "x", "is_domain": True,
                                                "parent_id": "default"}}, expect=400)
