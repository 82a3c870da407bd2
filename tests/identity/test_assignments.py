"""Grants on projects, domains and the system (with OS-INHERIT), and /v3/role_assignments."""

import pytest

from tests.identity.directory import Directory

TOKENS = "/identity/v3/auth/tokens"
BASE = "http://stacklet.test/identity/v3"


@pytest.fixture
def directory(cloud):
    return Directory(cloud)


@pytest.fixture
def world(api, directory):
    """A domain with a project tree, a user, a group holding a second user, and a role."""
    domain = api.admin("POST", "/domains", {"domain": {"name": "acme"}},
                       expect=201).json()["domain"]
    parent = directory.project("parent", domain_id=domain["id"])
    child = directory.project("child", domain_id=domain["id"], parent_id=parent["id"])
    user = directory.user("alice", domain_id=domain["id"])
    bob = directory.user("bob", domain_id=domain["id"])
    group = directory.group("staff", domain_id=domain["id"])
    directory.add_member(group, bob["id"])
    role = api.admin("POST", "/roles", {"role": {"name": "operator"}},
                     expect=201).json()["role"]
    return {"domain": domain, "parent": parent, "child": child, "user": user, "bob": bob,
            "group": group, "role": role}


def assignments(api, query=""):
    response = api.admin("GET", f"/role_assignments{query}", expect=200)
    return response.json()["role_assignments"]


def summary(entries):
    """(actor, target, role, inherited_to or "-") of each entry, sorted, for comparisons."""
    rows = []
    for entry in entries:
        actor = entry.get("user") or entry["group"]
        scope = entry["scope"]
        target = ("system" if "system" in scope
                  else (scope.get("project") or scope.get("domain"))["id"])
        rows.append((actor["id"], target, entry["role"]["id"],
                     scope.get("OS-INHERIT:inherited_to", "-")))
    return sorted(rows)


def grant_paths(world):
    """(list path, one-role path, actor id, target id, inherited_to) of every grant form,
    for the user and the group."""
    role, domain, project = world["role"]["id"], world["domain"]["id"], world["parent"]["id"]
    forms = []
    for actor, actor_id in (("users", world["user"]["id"]), ("groups", world["group"])):
        for prefix, target in ((f"/projects/{project}", project),
                               (f"/domains/{domain}", domain), ("/system", "system")):
            roles = f"{prefix}/{actor}/{actor_id}/roles"
            forms.append((roles, f"{roles}/{role}", actor_id, target, None))
        for prefix, target in ((f"/OS-INHERIT/domains/{domain}", domain),
                               (f"/OS-INHERIT/projects/{project}", project)):
            roles = f"{prefix}/{actor}/{actor_id}/roles"
            forms.append((f"{roles}/inherited_to_projects",
                          f"{roles}/{role}/inherited_to_projects", actor_id, target, "projects"))
    return forms


def test_every_grant_form(api, world):
    role = world["role"]
    for list_path, role_path, actor_id, target, inherited in grant_paths(world):
        api.admin("HEAD", role_path, expect=404)
        assert api.admin("GET", list_path, expect=200).json()["roles"] == []
        api.admin("PUT", role_path, expect=204)
        api.admin("PUT", role_path, expect=204)  # granting twice changes nothing
        assert api.admin("HEAD", role_path, expect=204).content == b""
        assert api.admin("GET", role_path, expect=204).content == b""
        listed = api.admin("GET", list_path, expect=200).json()
        assert listed["roles"] == [role], list_path
        assert listed["links"]["self"] == f"{BASE}{list_path}"
        entries = assignments(api, f"?role.id={role['id']}")
        assert len(entries) == 1, role_path
        assert entries[0]["links"]["assignment"] == f"{BASE}{role_path}"
        assert entries[0]["scope"].get("OS-INHERIT:inherited_to") == inherited
        api.admin("DELETE", role_path, expect=204)
        api.admin("HEAD", role_path, expect=404)
        missing = api.admin("DELETE", role_path, expect=404)
        assert missing.json()["error"]["message"] == (
            f"Could not find role assignment with role: {role['id']}, user or group: "
            f"{actor_id}, "
            f"project, domain, or system: {target}.")
    assert assignments(api, f"?role.id={role['id']}") == []


def test_grants_with_unknown_ids_are_404_and_change_nothing(api, world):
    before = assignments(api)
    user, role, project = world["user"]["id"], world["role"]["id"], world["parent"]["id"]
    cases = [
        (f"/projects/nope/users/{user}/roles/{role}", "project: nope"),
        (f"/domains/nope/users/{user}/roles/{role}", "domain: nope"),
        (f"/projects/{project}/users/nope/roles/{role}", "user: nope"),
        (f"/projects/{project}/groups/nope/roles/{role}", "group: nope"),
        (f"/projects/{project}/users/{user}/roles/nope", "role: nope"),
        (f"/system/users/nope/roles/{role}", "user: nope"),
        (f"/OS-INHERIT/domains/nope/users/{user}/roles/{role}/inherited_to_projects",
         "domain: nope"),
    ]
    for path, thing in cases:
        for method in ("PUT", "HEAD", "GET"):
            response = api.admin(method, path, expect=404)
            if method != "HEAD":
                assert response.json()["error"]["message"] == f"Could not find {thing}.", path
    api.admin("GET", f"/projects/{project}/users/nope/roles", expect=404)
    assert assignments(api) == before


def test_domain_specific_role_grants(api, world, directory):
    local = api.admin("POST", "/roles", {"role": {"name": "local", "domain_id": "default"}},
                      expect=201).json()["role"]
    user = world["user"]["id"]
    # the project is in another domain than the role
    mismatch = api.admin("PUT", f"/projects/{world['parent']['id']}/users/{user}/roles/"
                                f"{local['id']}", expect=403)
    assert "must be in the same domain" in mismatch.json()["error"]["message"]
    api.admin("PUT", f"/system/users/{user}/roles/{local['id']}", expect=400)
    assert assignments(api, f"?user.id={user}") == []

    # On a project of its domain the role is granted, but only the roles it implies
    # are effective (and appear in tokens).
    project = directory.project()

    def project_token():
        return api.auth("alice", world["user"]["password"], project=project["name"],
                        user_domain="acme")

    api.admin("PUT", f"/projects/{project['id']}/users/{user}/roles/{local['id']}", expect=204)
    assert len(assignments(api, f"?user.id={user}")) == 1
    assert assignments(api, f"?user.id={user}&effective") == []
    assert project_token().status_code == 401
    api.admin("PUT", f"/roles/{local['id']}/implies/{directory.role_id('reader')}",
              expect=201)
    effective = assignments(api, f"?user.id={user}&effective")
    assert [e["role"]["id"] for e in effective] == [directory.role_id("reader")]
    assert [r["name"] for r in project_token().json()["token"]["roles"]] == ["reader"]
    assert effective[0]["links"]["prior_role"] == (
        f"{BASE}/roles/{local['id']}/implies/{directory.role_id('reader')}")


def test_role_assignment_entries_and_filters(api, world, directory):
    role, user, group = world["role"]["id"], world["user"]["id"], world["group"]
    domain, parent, child = world["domain"]["id"], world["parent"]["id"], world["child"]["id"]
    api.admin("PUT", f"/projects/{parent}/users/{user}/roles/{role}", expect=204)
    api.admin("PUT", f"/domains/{domain}/groups/{group}/roles/{role}", expect=204)
    api.admin("PUT", f"/system/users/{user}/roles/{role}", expect=204)
    api.admin("PUT", f"/OS-INHERIT/projects/{parent}/users/{user}/roles/{role}"
                     "/inherited_to_projects", expect=204)

    body = api.admin("GET", f"/role_assignments?role.id={role}", expect=200).json()
    assert body["links"] == {"self": f"{BASE}/role_assignments?role.id={role}",
                             "previous": None, "next": None}
    by_link = {e["links"]["assignment"]: e for e in body["role_assignments"]}
    assert by_link == {
        f"{BASE}/projects/{parent}/users/{user}/roles/{role}": {
            "role": {"id": role}, "user": {"id": user},
            "scope": {"project": {"id": parent}},
            "links": {"assignment": f"{BASE}/projects/{parent}/users/{user}/roles/{role}"}},
        f"{BASE}/domains/{domain}/groups/{group}/roles/{role}": {
            "role": {"id": role}, "group": {"id": group},
            "scope": {"domain": {"id": domain}},
            "links": {"assignment": f"{BASE}/domains/{domain}/groups/{group}/roles/{role}"}},
        f"{BASE}/system/users/{user}/roles/{role}": {
            "role": {"id": role}, "user": {"id": user}, "scope": {"system": {"all": True}},
            "links": {"assignment": f"{BASE}/system/users/{user}/roles/{role}"}},
        f"{BASE}/OS-INHERIT/projects/{parent}/users/{user}/roles/{role}"
        "/inherited_to_projects": {
            "role": {"id": role}, "user": {"id": user},
            "scope": {"project": {"id": parent}, "OS-INHERIT:inherited_to": "projects"},
            "links": {"assignment": f"{BASE}/OS-INHERIT/projects/{parent}/users/{user}/roles/"
                                    f"{role}/inherited_to_projects"}},
    }
    assert summary(assignments(api, f"?user.id={user}&role.id={role}")) == [
        (user, parent, role, "-"), (user, parent, role, "projects"),
        (user, "system", role, "-")]
    assert summary(assignments(api, f"?group.id={group}")) == [(group, domain, role, "-")]
    assert summary(assignments(api, f"?scope.domain.id={domain}")) == [
        (group, domain, role, "-")]
    assert summary(assignments(api, f"?scope.project.id={parent}")) == [
        (user, parent, role, "-"), (user, parent, role, "projects")]
    assert summary(assignments(api, f"?scope.project.id={parent}"
                                    "&scope.OS-INHERIT:inherited_to=projects")) == [
        (user, parent, role, "projects")]
    assert summary(assignments(api, f"?role.id={role}&scope.system=all")) == [
        (user, "system", role, "-")]
    assert assignments(api, f"?scope.project.id={child}") == []
    assert summary(assignments(api, f"?scope.project.id={parent}&include_subtree=true"
                                    f"&role.id={role}")) == [
        (user, parent, role, "-"), (user, parent, role, "projects")]
    # the bootstrap admin's grants are there too
    admin_entries = assignments(api, f"?role.id={directory.role_id('admin')}")
    assert {e["scope"].get("system") is not None for e in admin_entries} == {True, False}


def test_effective_assignments(api, world, directory):
    role, user, bob, group = (world["role"]["id"], world["user"]["id"], world["bob"]["id"],
                              world["group"])
    domain, parent, child = world["domain"]["id"], world["parent"]["id"], world["child"]["id"]
    member, reader = directory.role_id("member"), directory.role_id("reader")
    api.admin("PUT", f"/projects/{child}/groups/{group}/roles/{member}", expect=204)
    api.admin("PUT", f"/OS-INHERIT/domains/{domain}/users/{user}/roles/{role}"
                     "/inherited_to_projects", expect=204)

    effective = assignments(api, f"?effective&scope.project.id={child}")
    # group grant -> bob (with the implied reader); inherited grant -> alice on each project
    assert summary(effective) == sorted([
        (bob, child, member, "-"), (bob, child, reader, "-"),
        (user, child, role, "projects")])
    bobs = {e["role"]["id"]: e for e in effective if e["user"]["id"] == bob}
    assert bobs[member]["links"] == {
        "assignment": f"{BASE}/projects/{child}/groups/{group}/roles/{member}",
        "membership": f"{BASE}/groups/{group}/users/{bob}"}
    assert bobs[reader]["links"]["prior_role"] == f"{BASE}/roles/{member}/implies/{reader}"
    alices = [e for e in effective if e["user"]["id"] == user]
    assert alices[0]["links"]["assignment"] == (
        f"{BASE}/OS-INHERIT/domains/{domain}/users/{user}/roles/{role}/inherited_to_projects")
    assert summary(assignments(api, f"?effective&user.id={user}")) == sorted([
        (user, child, role, "projects"), (user, parent, role, "projects")])
    # no group entries and no inherited grants themselves in the effective list
    assert all("group" not in e for e in assignments(api, "?effective"))
    assert assignments(api, f"?effective&scope.domain.id={domain}") == []
    assert summary(assignments(api, f"?effective&user.id={bob}&role.id={reader}")) == [
        (bob, child, reader, "-")]


def test_include_names(api, world):
    role, user, domain = world["role"], world["user"], world["domain"]
    parent = world["parent"]
    api.admin("PUT", f"/projects/{parent['id']}/users/{user['id']}/roles/{role['id']}",
              expect=204)
    api.admin("PUT", f"/domains/{domain['id']}/groups/{world['group']}/roles/{role['id']}",
              expect=204)
    entries = assignments(api, f"?include_names&role.id={role['id']}")
    acme = {"id": domain["id"], "name": "acme"}
    by_actor = {("user" in e): e for e in entries}
    assert by_actor[True]["user"] == {"id": user["id"], "name": "alice", "domain": acme}
    assert by_actor[True]["scope"] == {"project": {"id": parent["id"], "name": "parent",
                                                   "domain": acme}}
    assert by_actor[True]["role"] == {"id": role["id"], "name": "operator"}
    assert by_actor[False]["group"] == {"id": world["group"], "name": "staff", "domain": acme}
    assert by_actor[False]["scope"] == {"domain": acme}


def test_contradictory_filters_are_400(api, world):
    for query in ("?scope.project.id=a&scope.domain.id=b", "?scope.system=all&scope.domain.id=b",
                  "?scope.system=all&scope.project.id=a", "?user.id=a&group.id=b",
                  "?effective&group.id=b", "?include_subtree=true", "?scope.system=some",
                  "?effective&scope.domain.id=b&scope.OS-INHERIT:inherited_to=projects",
                  "?effective=maybe"):
        response = api.admin("GET", f"/role_assignments{query}", expect=400)
        assert response.json()["error"]["code"] == 400
    api.admin("GET", "/role_assignments?scope.project.id=nope&include_subtree=true",
              expect=404)


def test_inherited_and_group_grants_give_project_tokens(api, world, directory):
    user, bob, group = world["user"], world["bob"], world["group"]
    domain, parent, child = world["domain"], world["parent"], world["child"]
    member = directory.role_id("member")

    def project_token(person, project):
        return api.auth(person["name"], person["password"], project=project["name"],
                        user_domain="acme", project_domain="acme")

    assert project_token(user, child).status_code == 401
    api.admin("PUT", f"/OS-INHERIT/projects/{parent['id']}/users/{user['id']}/roles/{member}"
                     "/inherited_to_projects", expect=204)
    # inherited to the subproject, not the project it was granted on
    assert project_token(user, parent).status_code == 401
    roles = project_token(user, child).json()["token"]["roles"]
    assert sorted(r["name"] for r in roles) == ["member", "reader"]

    api.admin("PUT", f"/OS-INHERIT/domains/{domain['id']}/groups/{group}/roles/{member}"
                     "/inherited_to_projects", expect=204)
    for project in (parent, child):
        assert project_token(bob, project).status_code == 201


def test_revoking_a_grant_invalidates_tokens_at_once(api, world, directory):
    user, project, role = world["user"], world["parent"], world["role"]["id"]
    member = directory.role_id("member")
    grants = f"/projects/{project['id']}/users/{user['id']}/roles"
    api.admin("PUT", f"{grants}/{member}", expect=204)
    api.admin("PUT", f"{grants}/{role}", expect=204)
    token = api.token(user["name"], user["password"], project=project["name"],
                      user_domain="acme", project_domain="acme")

    def validate():
        return api.get(TOKENS, token, headers={"X-Subject-Token": token})

    assert sorted(r["name"] for r in validate().json()["token"]["roles"]) == [
        "member", "operator", "reader"]
    api.admin("DELETE", f"{grants}/{role}", expect=204)
    assert sorted(r["name"] for r in validate().json()["token"]["roles"]) == [
        "member", "reader"]
    api.admin("DELETE", f"{grants}/{member}", expect=204)
    assert validate().status_code == 401
    assert api.get("/identity/v3/auth/projects", token).status_code == 401


def test_group_membership_grant_revoked_through_the_group(api, world, directory):
    bob, group, project = world["bob"], world["group"], world["parent"]
    member = directory.role_id("member")
    api.admin("PUT", f"/projects/{project['id']}/groups/{group}/roles/{member}", expect=204)
    token = api.token(bob["name"], bob["password"], project=project["name"],
                      user_domain="acme", project_domain="acme")
    assert api.get(TOKENS, token, headers={"X-Subject-Token": token}).status_code == 200
    api.admin("DELETE", f"/projects/{project['id']}/groups/{group}/roles/{member}",
              expect=204)
    assert api.get(TOKENS, token, headers={"X-Subject-Token": token}).status_code == 401


def test_member_is_refused_and_nothing_changes(api, world, directory):
    member = directory.role_id("member")
    insider = directory.user()
    project = directory.project()
    api.admin("PUT", f"/projects/{project['id']}/users/{insider['id']}/roles/{member}",
              expect=204)
    token = api.token(insider["name"], insider["password"], project=project["name"])
    before = assignments(api)
    base = "/identity/v3"
    grant = f"{base}/projects/{project['id']}/users/{insider['id']}/roles/{world['role']['id']}"
    attempts = [
        api.put(grant, token=token),
        api.head(grant, token),
        api.delete(f"{base}/projects/{project['id']}/users/{insider['id']}/roles/{member}",
                   token),
        api.get(f"{base}/projects/{project['id']}/users/{insider['id']}/roles", token),
        api.put(f"{base}/system/users/{insider['id']}/roles/{member}", token=token),
        api.get(f"{base}/system/users/{insider['id']}/roles", token),
        api.get(f"{base}/role_assignments", token),
        api.get(f"{base}/role_assignments?user.id={insider['id']}", token),
        api.get(f"{base}/role_assignments?scope.project.id={project['id']}&include_subtree",
                token),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert attempts[0].json()["error"]["message"].endswith("identity:create_grant.")
    assert attempts[4].json()["error"]["message"].endswith(
        "identity:create_system_grant_for_user.")
    assert assignments(api) == before
    assert api.put(grant).status_code == 401


def test_readers_see_what_their_scope_allows(api, world, directory):
    reader = directory.role_id("reader")
    domain, user, role = world["domain"]["id"], world["user"]["id"], world["role"]["id"]
    api.admin("PUT", f"/projects/{world['parent']['id']}/users/{user}/roles/{role}",
              expect=204)
    auditor = directory.user()
    api.admin("PUT", f"/system/users/{auditor['id']}/roles/{reader}", expect=204)
    system_token = api.token(auditor["name"], auditor["password"], system=True)
    everything = api.get("/identity/v3/role_assignments", system_token)
    assert everything.status_code == 200
    assert len(everything.json()["role_assignments"]) == len(assignments(api))
    grant = f"/identity/v3/projects/{world['parent']['id']}/users/{user}/roles/{role}"
    assert api.head(grant, system_token).status_code == 204
    assert api.put(grant.replace(role, reader), token=system_token).status_code == 403

    # a reader of the acme domain sees acme's assignments only
    local = directory.user("local-reader", domain_id=domain)
    api.admin("PUT", f"/domains/{domain}/users/{local['id']}/roles/{reader}", expect=204)
    domain_token = api.token("local-reader", local["password"], domain="acme",
                             user_domain="acme")
    seen = api.get("/identity/v3/role_assignments", domain_token)
    assert seen.status_code == 200
    assert summary(seen.json()["role_assignments"]) == sorted([
        (user, world["parent"]["id"], role, "-"), (local["id"], domain, reader, "-")])
    assert api.head(grant, domain_token).status_code == 204
