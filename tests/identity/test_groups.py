"""/v3/groups and group membership."""

import pytest

from tests.identity.directory import grant

V3 = "/identity/v3"


def _create(api, **group):
    return api.admin("POST", "/groups", {"group": group}, expect=201).json()["group"]


def _names(api, query=""):
    return [g["name"] for g in api.admin("GET", f"/groups{query}", expect=200).json()["groups"]]


def test_group_crud(api):
    created = _create(api, name="ops", description="Operators", pager="on")
    assert created["domain_id"] == "default" and created["description"] == "Operators"
    assert created["pager"] == "on"
    assert created["links"]["self"].endswith(f"/identity/v3/groups/{created['id']}")
    assert api.admin("GET", f"/groups/{created['id']}", expect=200).json()["group"] == created
    listed = api.admin("GET", "/groups", expect=200).json()
    assert [g["name"] for g in listed["groups"]] == ["ops"]
    assert {"self", "previous", "next"} <= set(listed["links"])

    updated = api.admin("PATCH", f"/groups/{created['id']}", {"group": {
        "name": "operators", "description": None}}, expect=200).json()["group"]
    assert updated["name"] == "operators" and updated["description"] == ""
    assert updated["pager"] == "on"

    api.admin("DELETE", f"/groups/{created['id']}", expect=204)
    response = api.admin("GET", f"/groups/{created['id']}", expect=404)
    assert response.json()["error"]["message"] == f"Could not find group: {created['id']}."


def test_list_filters_and_duplicates(api):
    other = api.admin("POST", "/domains", {"domain": {"name": "other"}}, expect=201).json()
    other_id = other["domain"]["id"]
    _create(api, name="alpha")
    _create(api, name="beta")
    _create(api, name="alpha", domain_id=other_id)
    assert _names(api, "?name=beta") == ["beta"]
    assert _names(api, f"?domain_id={other_id}") == ["alpha"]
    assert _names(api, "?name__endswith=ta") == ["beta"]
    api.admin("POST", "/groups", {"group": {"name": "alpha"}}, expect=409)
    beta = api.admin("GET", "/groups?name=beta").json()["groups"][0]
    api.admin("PATCH", f"/groups/{beta['id']}", {"group": {"name": "alpha"}}, expect=409)
    assert sorted(_names(api)) == ["alpha", "alpha", "beta"]


@pytest.mark.parametrize("body", [
    {"group": {}},
    {"group": {"name": 3}},
    {"group": {"name": " "}},
    {"group": {"name": "ok", "description": 5}},
    {"groups": {"name": "ok"}},
])
def test_bad_input_is_400_and_changes_nothing(api, body):
    api.admin("POST", "/groups", body, expect=400)
    assert _names(api) == []


def test_unknown_ids(api):
    api.admin("POST", "/groups", {"group": {"name": "x", "domain_id": "nope"}}, expect=404)
    group = _create(api, name="real")
    user = api.make_user()
    for method, path in (("GET", "/groups/nope"), ("DELETE", "/groups/nope"),
                         ("GET", "/groups/nope/users"),
                         ("PUT", f"/groups/nope/users/{user['id']}")):
        response = api.admin(method, path, expect=404)
        assert response.json()["error"]["message"] == "Could not find group: nope."
    response = api.admin("PUT", f"/groups/{group['id']}/users/nope", expect=404)
    assert response.json()["error"]["message"] == "Could not find user: nope."
    api.admin("PATCH", f"/groups/{group['id']}", {"group": {"domain_id": "other"}}, expect=400)
    assert _names(api) == ["real"]


def test_membership(api):
    group = _create(api, name="club")
    ann, bob = api.make_user(name="ann"), api.make_user(name="bob")
    member_path = f"/groups/{group['id']}/users"
    for user in (bob, ann, ann):      # adding twice is harmless
        api.admin("PUT", f"{member_path}/{user['id']}", expect=204)
    listed = api.admin("GET", member_path, expect=200).json()
    assert [u["name"] for u in listed["users"]] == ["ann", "bob"]
    assert "password" not in listed["users"][0]
    assert [u["name"] for u in api.admin("GET", f"{member_path}?name=bob").json()["users"]] \
        == ["bob"]
    api.admin("GET", f"{member_path}/{ann['id']}", expect=204)
    assert api.head(f"{V3}{member_path}/{ann['id']}", api.admin_token).status_code == 204

    api.admin("DELETE", f"{member_path}/{ann['id']}", expect=204)
    api.admin("GET", f"{member_path}/{ann['id']}", expect=404)
    assert api.head(f"{V3}{member_path}/{ann['id']}", api.admin_token).status_code == 404
    api.admin("DELETE", f"{member_path}/{ann['id']}", expect=404)
    assert [u["name"] for u in api.admin("GET", member_path).json()["users"]] == ["bob"]


def _project_with_group_role(api, project_name):
    project = api.admin("POST", "/projects", {"project": {"name": project_name}},
                        expect=201).json()["project"]
    group = _create(api, name=f"{project_name}-members")
    grant(api.cloud, "member", project_id=project["id"], group_id=group["id"])
    user = api.make_user()
    return project, group, user


def test_group_membership_gives_roles_and_removal_takes_them_at_once(api):
    project, group, user = _project_with_group_role(api, "shared")
    assert api.auth(user["name"], user["password"], project="shared").status_code == 401
    api.admin("PUT", f"/groups/{group['id']}/users/{user['id']}", expect=204)
    response = api.auth(user["name"], user["password"], project="shared")
    assert response.status_code == 201
    assert {r["name"] for r in response.json()["token"]["roles"]} == {"member", "reader"}
    token = response.headers["X-Subject-Token"]
    assert api.get(f"{V3}/projects/{project['id']}", token).status_code == 200

    api.admin("DELETE", f"/groups/{group['id']}/users/{user['id']}", expect=204)
    assert api.get(f"{V3}/projects/{project['id']}", token).status_code == 401
    assert api.auth(user["name"], user["password"], project="shared").status_code == 401


def test_deleting_a_group_takes_its_roles_at_once(api):
    project, group, user = _project_with_group_role(api, "club-house")
    api.admin("PUT", f"/groups/{group['id']}/users/{user['id']}", expect=204)
    token = api.token(user["name"], user["password"], project="club-house")
    api.admin("DELETE", f"/groups/{group['id']}", expect=204)
    assert api.get(f"{V3}/projects/{project['id']}", token).status_code == 401
    assert api.admin("GET", f"/users/{user['id']}/groups").json()["groups"] == []


def test_member_cannot_manage_groups(api):
    project, group, user = _project_with_group_role(api, "plain")
    api.admin("PUT", f"/groups/{group['id']}/users/{user['id']}", expect=204)
    token = api.token(user["name"], user["password"], project="plain")
    other = api.make_user()
    assert api.post(f"{V3}/groups", {"group": {"name": "mine"}}, token).status_code == 403
    assert api.get(f"{V3}/groups", token).status_code == 403
    assert api.get(f"{V3}/groups/{group['id']}", token).status_code == 403
    assert api.patch(f"{V3}/groups/{group['id']}", {"group": {"name": "x"}},
                     token).status_code == 403
    assert api.put(f"{V3}/groups/{group['id']}/users/{other['id']}", token=token).status_code \
        == 403
    assert api.delete(f"{V3}/groups/{group['id']}/users/{user['id']}", token).status_code \
        == 403
    assert api.delete(f"{V3}/groups/{group['id']}", token).status_code == 403
    assert [u["id"] for u in api.admin("GET", f"/groups/{group['id']}/users").json()["users"]] \
        == [user["id"]]
    assert _names(api) == ["plain-members"]
