"""/v3/users, password changes, a user's projects and groups."""

import pytest

from tests.identity.directory import grant, project_member

V3 = "/identity/v3"


def _create(api, **user):
    return api.admin("POST", "/users", {"user": user}, expect=201).json()["user"]


def _names(api, query=""):
    return [u["name"] for u in api.admin("GET", f"/users{query}", expect=200).json()["users"]]


def _can_read_self(api, user_id, token) -> int:
    return api.get(f"{V3}/users/{user_id}", token).status_code


def test_user_crud_never_shows_the_password(api):
    project = api.admin("POST", "/projects", {"project": {"name": "home"}},
                        expect=201).json()["project"]
    created = _create(api, name="ann", password="pw-1", email="ann@example.org",
                      description="Ann", default_project_id=project["id"], team="blue",
                      options={"ignore_password_expiry": True})
    assert created["domain_id"] == "default" and created["enabled"] is True
    assert created["password_expires_at"] is None
    assert created["default_project_id"] == project["id"]
    assert created["email"] == "ann@example.org" and created["description"] == "Ann"
    assert created["team"] == "blue" and created["options"] == {"ignore_password_expiry": True}
    assert created["links"]["self"].endswith(f"/identity/v3/users/{created['id']}")
    assert "password" not in created and "password_hash" not in created

    shown = api.admin("GET", f"/users/{created['id']}", expect=200).json()["user"]
    assert shown == created
    plain = _create(api, name="bob")
    assert not {"default_project_id", "email", "description"} & set(plain)
    assert plain["options"] == {}

    updated = api.admin("PATCH", f"/users/{created['id']}", {"user": {
        "name": "anne", "email": None, "options": {"ignore_password_expiry": None},
        "level": 2}}, expect=200).json()["user"]
    assert updated["name"] == "anne" and "email" not in updated
    assert updated["options"] == {} and updated["team"] == "blue" and updated["level"] == 2
    assert "password" not in str(api.admin("GET", "/users").json()["users"]).replace(
        "password_expires_at", "")

    api.admin("DELETE", f"/users/{created['id']}", expect=204)
    response = api.admin("GET", f"/users/{created['id']}", expect=404)
    assert response.json()["error"]["message"] == f"Could not find user: {created['id']}."
    assert sorted(_names(api)) == ["admin", "bob"]


def test_list_filters(api):
    other = api.admin("POST", "/domains", {"domain": {"name": "other"}}, expect=201).json()
    _create(api, name="carol")
    _create(api, name="carla", enabled=False)
    _create(api, name="dave", domain_id=other["domain"]["id"])
    assert _names(api, "?name=carol") == ["carol"]
    assert _names(api, "?enabled=false") == ["carla"]
    assert _names(api, f"?domain_id={other['domain']['id']}") == ["dave"]
    assert _names(api, "?name__startswith=car") == ["carla", "carol"]
    assert _names(api, "?name__icontains=AV") == ["dave"]


def test_duplicate_names_conflict_per_domain(api):
    other = api.admin("POST", "/domains", {"domain": {"name": "other"}}, expect=201).json()
    _create(api, name="eve")
    api.admin("POST", "/users", {"user": {"name": "eve"}}, expect=409)
    _create(api, name="eve", domain_id=other["domain"]["id"])
    frank = _create(api, name="frank")
    api.admin("PATCH", f"/users/{frank['id']}", {"user": {"name": "eve"}}, expect=409)
    assert api.admin("GET", f"/users/{frank['id']}").json()["user"]["name"] == "frank"


@pytest.mark.parametrize("body", [
    {"user": {}},
    {"user": {"name": 7}},
    {"user": {"name": ""}},
    {"user": {"name": "  "}},
    {"user": {"name": "x" * 256}},
    {"user": {"name": "ok", "enabled": "true"}},
    {"user": {"name": "ok", "password": 1234}},
    {"user": {"name": "ok", "options": {"unknown_option": True}}},
    {"user": {"name": "ok", "options": {"lock_password": "yes"}}},
    {"name": "ok"},
])
def test_bad_create_input_is_400_and_changes_nothing(api, body):
    before = _names(api)
    response = api.admin("POST", "/users", body, expect=400)
    assert response.json()["error"]["code"] == 400
    assert _names(api) == before


def test_unknown_domain_and_ids_are_404(api):
    response = api.admin("POST", "/users", {"user": {"name": "x", "domain_id": "nope"}},
                         expect=404)
    assert response.json()["error"]["message"] == "Could not find domain: nope."
    assert _names(api) == ["admin"]
    for method, path, body in (("GET", "/users/nope", None),
                               ("PATCH", "/users/nope", {"user": {"name": "n"}}),
                               ("DELETE", "/users/nope", None),
                               ("GET", "/users/nope/projects", None),
                               ("GET", "/users/nope/groups", None),
                               ("POST", "/users/nope/password",
                                {"user": {"password": "a", "original_password": "b"}})):
        response = api.admin(method, path, body, expect=404)
        assert response.json()["error"]["message"] == "Could not find user: nope."
        # Without a token the answer is 401, whether or not the user exists.
        assert api.request(method, f"{V3}{path}", json=body).status_code == 401


def test_bad_update_input_is_400_and_changes_nothing(api):
    user = _create(api, name="gus", password="pw")
    other = api.admin("POST", "/domains", {"domain": {"name": "other"}}, expect=201).json()
    for body in ({"user": {}}, {"user": {"enabled": "no"}}, {"user": {"id": "x"}},
                 {"user": {"domain_id": other["domain"]["id"]}}):
        api.admin("PATCH", f"/users/{user['id']}", body, expect=400)
    assert api.admin("GET", f"/users/{user['id']}").json()["user"] == user
    assert api.auth("gus", "pw").status_code == 201


def test_user_changes_own_password_and_old_tokens_stop_working(api):
    user = api.make_user(password="old-pass")
    token = api.token(user["name"], "old-pass")
    path = f"{V3}/users/{user['id']}/password"
    wrong = api.post(path, {"user": {"password": "new-pass", "original_password": "nope"}},
                     token)
    assert wrong.status_code == 401
    assert _can_read_self(api, user["id"], token) == 200     # nothing changed
    missing = api.post(path, {"user": {"password": "new-pass"}}, token)
    assert missing.status_code == 400

    changed = api.post(path, {"user": {"password": "new-pass", "original_password": "old-pass"}},
                       token)
    assert changed.status_code == 204
    assert _can_read_self(api, user["id"], token) == 401
    # As in Keystone, the token method answers a revoked token with 404.
    rescoped = api.post(f"{V3}/auth/tokens", {"auth": {"identity": {
        "methods": ["token"], "token": {"id": token}}}})
    assert rescoped.status_code == 404
    assert api.auth(user["name"], "old-pass").status_code == 401
    fresh = api.token(user["name"], "new-pass")
    assert _can_read_self(api, user["id"], fresh) == 200


def test_user_cannot_change_someone_elses_password(api):
    mallory = api.make_user(password="m-pass")
    victim = api.make_user(password="v-pass")
    token = api.token(mallory["name"], "m-pass")
    response = api.post(f"{V3}/users/{victim['id']}/password",
                        {"user": {"password": "owned", "original_password": "v-pass"}}, token)
    assert response.status_code == 403
    assert api.auth(victim["name"], "v-pass").status_code == 201


def test_admin_password_reset_revokes_the_users_tokens(api):
    user = api.make_user(password="before")
    token = api.token(user["name"], "before")
    api.admin("PATCH", f"/users/{user['id']}", {"user": {"password": "after"}}, expect=200)
    assert _can_read_self(api, user["id"], token) == 401
    assert api.auth(user["name"], "before").status_code == 401
    assert api.auth(user["name"], "after").status_code == 201


def test_disabling_a_user_revokes_at_once(api):
    user = api.make_user()
    token = api.token(user["name"], user["password"])
    assert _can_read_self(api, user["id"], token) == 200
    api.admin("PATCH", f"/users/{user['id']}", {"user": {"enabled": False}}, expect=200)
    assert _can_read_self(api, user["id"], token) == 401
    assert api.auth(user["name"], user["password"]).status_code == 401
    # Enabling the user again does not bring back the tokens issued before.
    api.admin("PATCH", f"/users/{user['id']}", {"user": {"enabled": True}}, expect=200)
    assert _can_read_self(api, user["id"], token) == 401
    assert api.auth(user["name"], user["password"]).status_code == 201


def test_deleting_a_user_revokes_and_removes_memberships_and_roles(api):
    member = project_member(api, "crew")
    group = api.admin("POST", "/groups", {"group": {"name": "g"}}, expect=201).json()["group"]
    api.admin("PUT", f"/groups/{group['id']}/users/{member['id']}", expect=204)
    api.admin("DELETE", f"/users/{member['id']}", expect=204)
    assert _can_read_self(api, member["id"], member["token"]) == 401
    assert api.admin("GET", f"/groups/{group['id']}/users").json()["users"] == []
    # A new user with the same name starts with nothing.
    again = api.make_user(name=member["name"], password=member["password"])
    assert api.auth(again["name"], again["password"], project="crew").status_code == 401


def test_user_reads_self_but_not_others_and_cannot_manage_users(api):
    member = project_member(api, "staff")
    other = api.make_user()
    token = member["token"]
    own = api.get(f"{V3}/users/{member['id']}", token)
    assert own.status_code == 200 and own.json()["user"]["name"] == member["name"]
    assert api.get(f"{V3}/users/{other['id']}", token).status_code == 403
    assert api.get(f"{V3}/users", token).status_code == 403
    assert api.post(f"{V3}/users", {"user": {"name": "sneaky"}}, token).status_code == 403
    assert api.patch(f"{V3}/users/{other['id']}", {"user": {"enabled": False}},
                     token).status_code == 403
    assert api.patch(f"{V3}/users/{member['id']}", {"user": {"name": "boss"}},
                     token).status_code == 403
    assert api.delete(f"{V3}/users/{other['id']}", token).status_code == 403
    assert sorted(_names(api)) == sorted(["admin", member["name"], other["name"]])
    assert api.admin("GET", f"/users/{other['id']}").json()["user"]["enabled"] is True


def test_user_projects_and_groups(api):
    member = project_member(api, "direct")
    via_group = api.admin("POST", "/projects", {"project": {"name": "via-group"}},
                          expect=201).json()["project"]
    api.admin("POST", "/projects", {"project": {"name": "unrelated"}}, expect=201)
    group = api.admin("POST", "/groups", {"group": {"name": "team"}}, expect=201).json()["group"]
    api.admin("PUT", f"/groups/{group['id']}/users/{member['id']}", expect=204)
    grant(api.cloud, "reader", project_id=via_group["id"], group_id=group["id"])

    own = api.get(f"{V3}/users/{member['id']}/projects", member["token"])
    assert own.status_code == 200
    assert [p["name"] for p in own.json()["projects"]] == ["direct", "via-group"]
    assert own.json()["projects"][0]["parent_id"] == "default"
    filtered = api.admin("GET", f"/users/{member['id']}/projects?name=direct").json()
    assert [p["name"] for p in filtered["projects"]] == ["direct"]

    groups = api.get(f"{V3}/users/{member['id']}/groups", member["token"])
    assert groups.status_code == 200
    assert [(g["name"], g["membership_expires_at"]) for g in groups.json()["groups"]] \
        == [("team", None)]

    stranger = api.make_user()
    stranger_token = api.token(stranger["name"], stranger["password"])
    assert api.get(f"{V3}/users/{member['id']}/projects", stranger_token).status_code == 403
    assert api.get(f"{V3}/users/{member['id']}/groups", stranger_token).status_code == 403


def test_update_may_repeat_the_users_own_id(api):
    """Tempest's client repeats the id in the body; Keystone accepts the same id."""
    user = _create(api, name="ida", password="pw")
    updated = api.admin("PATCH", f"/users/{user['id']}", {"user": {
        "id": user["id"], "enabled": False}}, expect=200).json()["user"]
    assert updated["enabled"] is False and updated["id"] == user["id"]
