"""/v3/roles, implied roles and /v3/role_inferences."""

import pytest

from tests.identity.directory import Directory

TOKENS = "/identity/v3/auth/tokens"


@pytest.fixture
def directory(cloud):
    return Directory(cloud)


def role_names(api, query=""):
    return [r["name"] for r in api.admin("GET", f"/roles{query}", expect=200).json()["roles"]]


def make_role(api, name, **fields):
    return api.admin("POST", "/roles", {"role": {"name": name, **fields}},
                     expect=201).json()["role"]


def member_of_new_project(api, directory, role="member"):
    """A user holding one role on a new project, and a token for it."""
    user = directory.user()
    project = directory.project()
    api.admin("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/"
              f"{directory.role_id(role)}", expect=204)
    return user, project, api.token(user["name"], user["password"], project=project["name"])


def test_role_crud(api):
    # Keystone chooses the id; one in the body is ignored
    created = make_role(api, "auditor", description="reads things", color="blue", id="mine")
    assert created["id"] != "mine"
    assert created == {"id": created["id"], "name": "auditor", "domain_id": None,
                       "description": "reads things", "options": {}, "color": "blue",
                       "links": {"self": f"http://stacklet.test/identity/v3/roles/"
                                         f"{created['id']}"}}
    assert api.admin("GET", f"/roles/{created['id']}", expect=200).json()["role"] == created
    listed = api.admin("GET", "/roles", expect=200).json()
    assert [r["name"] for r in listed["roles"]] == [
        "admin", "auditor", "manager", "member", "reader", "service"]
    assert listed["links"]["self"].endswith("/identity/v3/roles")
    assert role_names(api, "?name=auditor") == ["auditor"]
    assert role_names(api, "?name=auditor&domain_id=None") == ["auditor"]
    assert role_names(api, "?name__startswith=re") == ["reader"]

    updated = api.admin("PATCH", f"/roles/{created['id']}", {"role": {
        "name": "inspector", "description": None}}, expect=200).json()["role"]
    assert (updated["name"], updated["description"]) == ("inspector", None)
    api.admin("DELETE", f"/roles/{created['id']}", expect=204)
    response = api.admin("GET", f"/roles/{created['id']}", expect=404)
    assert response.json()["error"]["message"] == f"Could not find role: {created['id']}."
    api.admin("DELETE", f"/roles/{created['id']}", expect=404)


def test_role_bad_input_and_duplicates_change_nothing(api):
    auditor = make_role(api, "auditor")
    before = role_names(api)
    api.admin("POST", "/roles", {"role": {}}, expect=400)
    api.admin("POST", "/roles", {"role": {"name": 5}}, expect=400)
    api.admin("POST", "/roles", {"role": {"name": ""}}, expect=400)
    api.admin("POST", "/roles", {"role": {"name": "   "}}, expect=400)
    api.admin("POST", "/roles", {"role": {"name": "x", "options": {"sticky": True}}},
              expect=400)
    api.admin("POST", "/roles", {"name": "x"}, expect=400)
    duplicate = api.admin("POST", "/roles", {"role": {"name": "member"}}, expect=409)
    assert duplicate.json()["error"]["message"] == (
        "Conflict occurred attempting to store role - Duplicate entry found with name member.")
    missing_domain = api.admin("POST", "/roles", {"role": {"name": "x", "domain_id": "nope"}},
                               expect=404)
    assert missing_domain.json()["error"]["message"] == "Could not find domain: nope."
    api.admin("PATCH", f"/roles/{auditor['id']}", {"role": {"name": "member"}}, expect=409)
    api.admin("PATCH", f"/roles/{auditor['id']}", {"role": {}}, expect=400)
    api.admin("PATCH", f"/roles/{auditor['id']}", {"role": {"name": " "}}, expect=400)
    api.admin("PATCH", f"/roles/{auditor['id']}", {"role": {"id": "other"}}, expect=400)
    api.admin("PATCH", f"/roles/{auditor['id']}", {"role": {"domain_id": "default"}},
              expect=400)
    api.admin("PATCH", "/roles/nope", {"role": {"name": "y"}}, expect=404)
    assert role_names(api) == before
    assert api.admin("GET", f"/roles/{auditor['id']}").json()["role"]["domain_id"] is None


def test_domain_specific_roles(api):
    domain = api.admin("POST", "/domains", {"domain": {"name": "d1"}},
                       expect=201).json()["domain"]
    # the same name is free in another domain, and beside the global role
    scoped = make_role(api, "member", domain_id=domain["id"])
    assert scoped["domain_id"] == domain["id"]
    api.admin("POST", "/roles", {"role": {"name": "member", "domain_id": domain["id"]}},
              expect=409)
    assert role_names(api) == ["admin", "manager", "member", "reader", "service"]
    listed = api.admin("GET", f"/roles?domain_id={domain['id']}", expect=200).json()["roles"]
    assert listed == [scoped]
    api.admin("DELETE", f"/roles/{scoped['id']}", expect=204)
    assert api.admin("GET", f"/roles?domain_id={domain['id']}").json()["roles"] == []


def test_immutable_role_refuses_changes_until_unlocked(api):
    role = make_role(api, "locked", options={"immutable": True})
    assert role["options"] == {"immutable": True}
    api.admin("PATCH", f"/roles/{role['id']}", {"role": {"name": "renamed"}}, expect=403)
    api.admin("DELETE", f"/roles/{role['id']}", expect=403)
    assert api.admin("GET", f"/roles/{role['id']}").json()["role"]["name"] == "locked"
    unlocked = api.admin("PATCH", f"/roles/{role['id']}", {"role": {
        "options": {"immutable": False}}}, expect=200).json()["role"]
    assert unlocked["options"] == {"immutable": False}
    api.admin("DELETE", f"/roles/{role['id']}", expect=204)


def test_bootstrap_inferences_are_listed(api, directory):
    admin, member, reader = (directory.role_id(n) for n in ("admin", "member", "reader"))
    body = api.admin("GET", "/role_inferences", expect=200).json()
    rules = {r["prior_role"]["name"]: [i["name"] for i in r["implies"]]
             for r in body["role_inferences"]}
    assert rules == {"admin": ["manager"], "manager": ["member"], "member": ["reader"]}
    assert body["role_inferences"][0]["prior_role"]["links"]["self"].endswith(
        f"/v3/roles/{admin}")
    implies = api.admin("GET", f"/roles/{admin}/implies", expect=200).json()
    assert implies["role_inference"]["prior_role"]["id"] == admin
    assert [r["id"] for r in implies["role_inference"]["implies"]] == [
        directory.role_id("manager")]
    assert implies["links"]["self"].endswith(f"/v3/roles/{admin}/implies")
    shown = api.admin("GET", f"/roles/{member}/implies/{reader}", expect=200).json()
    assert shown["role_inference"]["prior_role"]["name"] == "member"
    assert shown["role_inference"]["implies"] == {
        "id": reader, "name": "reader",
        "links": {"self": f"http://stacklet.test/identity/v3/roles/{reader}"}}
    head = api.admin("HEAD", f"/roles/{member}/implies/{reader}", expect=204)
    assert head.content == b""


def test_implied_role_lifecycle(api):
    prior, implied = make_role(api, "prior"), make_role(api, "implied")
    path = f"/roles/{prior['id']}/implies/{implied['id']}"
    api.admin("HEAD", path, expect=404)
    created = api.admin("PUT", path, expect=201).json()
    assert created["role_inference"]["prior_role"]["id"] == prior["id"]
    assert created["role_inference"]["implies"]["id"] == implied["id"]
    assert created["links"]["self"].endswith(f"/v3{path}")
    api.admin("PUT", path, expect=409)
    api.admin("HEAD", path, expect=204)
    assert api.admin("GET", path, expect=200).json() == created
    api.admin("DELETE", path, expect=204)
    response = api.admin("GET", path, expect=404)
    assert response.json()["error"]["message"] == f"{prior['id']} does not imply {implied['id']}."
    api.admin("DELETE", path, expect=404)


def test_refused_implications_change_nothing(api, directory):
    a, b, c = make_role(api, "a"), make_role(api, "b"), make_role(api, "c")
    api.admin("PUT", f"/roles/{a['id']}/implies/{b['id']}", expect=201)
    api.admin("PUT", f"/roles/{b['id']}/implies/{c['id']}", expect=201)
    before = api.admin("GET", "/role_inferences").json()["role_inferences"]
    # a role implying itself, and a cycle through b
    api.admin("PUT", f"/roles/{a['id']}/implies/{a['id']}", expect=400)
    api.admin("PUT", f"/roles/{c['id']}/implies/{a['id']}", expect=400)
    # nothing may imply admin
    refused = api.admin("PUT", f"/roles/{a['id']}/implies/{directory.role_id('admin')}",
                        expect=403)
    assert "cannot be an implied roles" in refused.json()["error"]["message"]
    # a global role may not imply a domain-specific one; the reverse is allowed
    domain_role = make_role(api, "local", domain_id="default")
    api.admin("PUT", f"/roles/{a['id']}/implies/{domain_role['id']}", expect=403)
    missing = api.admin("PUT", f"/roles/{a['id']}/implies/nope", expect=404)
    assert missing.json()["error"]["message"] == "Could not find role: nope."
    assert api.admin("GET", "/role_inferences").json()["role_inferences"] == before
    api.admin("PUT", f"/roles/{domain_role['id']}/implies/{a['id']}", expect=201)


def test_implied_roles_reach_tokens_at_once(api, directory):
    extra = make_role(api, "extra")
    user, project, token = member_of_new_project(api, directory)

    def token_roles():
        response = api.get(TOKENS, token, headers={"X-Subject-Token": token})
        assert response.status_code == 200, response.text
        return sorted(r["name"] for r in response.json()["token"]["roles"])

    assert token_roles() == ["member", "reader"]
    path = f"/roles/{directory.role_id('member')}/implies/{extra['id']}"
    api.admin("PUT", path, expect=201)
    assert token_roles() == ["extra", "member", "reader"]
    api.admin("DELETE", path, expect=204)
    assert token_roles() == ["member", "reader"]


def test_deleting_a_role_removes_its_assignments_and_tokens(api, directory):
    only = make_role(api, "only")
    user, project = directory.user(), directory.project()
    api.admin("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{only['id']}",
              expect=204)
    api.admin("PUT", f"/roles/{only['id']}/implies/{directory.role_id('reader')}", expect=201)
    token = api.token(user["name"], user["password"], project=project["name"])
    assert api.get(TOKENS, token, headers={"X-Subject-Token": token}).status_code == 200
    api.admin("DELETE", f"/roles/{only['id']}", expect=204)
    rules = api.admin("GET", "/role_inferences").json()["role_inferences"]
    assert sorted(r["prior_role"]["name"] for r in rules) == ["admin", "manager", "member"]
    assert api.get(TOKENS, token, headers={"X-Subject-Token": token}).status_code == 401
    assignments = api.admin("GET", f"/role_assignments?user.id={user['id']}").json()
    assert assignments["role_assignments"] == []


def test_member_is_refused_and_nothing_changes(api, directory):
    role = make_role(api, "target")
    _, _, token = member_of_new_project(api, directory)
    base = "/identity/v3"
    member = directory.role_id("member")
    attempts = [
        api.get(f"{base}/roles", token),
        api.get(f"{base}/roles/{role['id']}", token),
        api.post(f"{base}/roles", {"role": {"name": "mine"}}, token),
        api.patch(f"{base}/roles/{role['id']}", {"role": {"name": "mine"}}, token),
        api.delete(f"{base}/roles/{role['id']}", token),
        api.put(f"{base}/roles/{role['id']}/implies/{member}", token=token),
        api.get(f"{base}/roles/{member}/implies", token),
        api.get(f"{base}/role_inferences", token),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert attempts[2].json()["error"]["message"].endswith("identity:create_role.")
    assert role_names(api) == ["admin", "manager", "member", "reader", "service", "target"]
    assert api.admin("GET", f"/roles/{role['id']}/implies").json()[
        "role_inference"]["implies"] == []
    assert api.get(f"{base}/roles").status_code == 401


def test_system_reader_reads_but_cannot_write(api, directory):
    user = directory.user()
    api.admin("PUT", f"/system/users/{user['id']}/roles/{directory.role_id('reader')}",
              expect=204)
    token = api.token(user["name"], user["password"], system=True)
    assert api.get("/identity/v3/roles", token).status_code == 200
    assert api.get("/identity/v3/role_inferences", token).status_code == 200
    assert api.post("/identity/v3/roles", {"role": {"name": "x"}}, token).status_code == 403
    assert "x" not in role_names(api)
