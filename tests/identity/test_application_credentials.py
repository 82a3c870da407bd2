"""/v3/users/{user_id}/application_credentials, and logging in with one."""

import datetime

import pytest

from stacklet.db import utcnow
from stacklet.identity.models import ApplicationCredential
from tests.identity.directory import add_user

TOKENS = "/identity/v3/auth/tokens"


@pytest.fixture
def user(api):
    """A user with member (which implies reader) on project proj-ac, and a token for it."""
    user = add_user(api.cloud, project="proj-ac")
    user["token"] = api.token(user["name"], user["password"], project="proj-ac")
    user["url"] = f"/identity/v3/users/{user['id']}/application_credentials"
    return user


def _create(api, user, token=None, expect=201, **attrs):
    response = api.post(user["url"], {"application_credential": {"name": "app", **attrs}},
                        token or user["token"])
    assert response.status_code == expect, response.text
    return response.json().get("application_credential")


def _login(api, app_cred_id, secret):
    return api.post(TOKENS, {"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": app_cred_id, "secret": secret}}}})


def _names(api, user, token=None):
    response = api.get(user["url"], token or user["token"])
    assert response.status_code == 200, response.text
    return sorted(a["name"] for a in response.json()["application_credentials"])


def test_create_show_list_delete(api, user):
    created = _create(api, user, description="ci", secret="my-secret")
    assert created["secret"] == "my-secret"
    assert created["project_id"] == user["project_id"]
    assert created["unrestricted"] is False and created["expires_at"] is None
    # by default it delegates every role of the token
    assert sorted(r["name"] for r in created["roles"]) == ["member", "reader"]
    assert created["links"]["self"].endswith(
        f"/identity/v3/users/{user['id']}/application_credentials/{created['id']}")

    shown = api.get(f"{user['url']}/{created['id']}", user["token"])
    assert shown.status_code == 200
    assert shown.json()["application_credential"] == \
        {k: v for k, v in created.items() if k != "secret"}

    generated = _create(api, user, name="other")
    assert len(generated["secret"]) >= 64
    assert _names(api, user) == ["app", "other"]
    named = api.get(f"{user['url']}?name=other", user["token"]).json()
    assert [a["id"] for a in named["application_credentials"]] == [generated["id"]]
    assert api.get(f"/identity/v3/users/{user['id']}/access_rules", user["token"]).json()[
        "access_rules"] == []

    assert api.delete(f"{user['url']}/{created['id']}", user["token"]).status_code == 204
    assert api.get(f"{user['url']}/{created['id']}", user["token"]).status_code == 404
    assert _names(api, user) == ["other"]


def test_expiry_is_kept_as_given(api, user):
    expires = (utcnow() + datetime.timedelta(hours=1)).replace(microsecond=123456)
    created = _create(api, user, expires_at=expires.isoformat())
    assert created["expires_at"] == expires.isoformat()
    zoned = _create(api, user, name="zoned", expires_at="2999-01-02T03:04:05Z")
    assert zoned["expires_at"] == "2999-01-02T03:04:05.000000"


def test_refused_requests_change_nothing(api, user):
    _create(api, user)
    past = (utcnow() - datetime.timedelta(minutes=1)).isoformat()
    _create(api, user, name="a", expires_at=past, expect=400)
    _create(api, user, name="b", expires_at="tomorrow", expect=400)
    _create(api, user, name="c", roles=[{"name": "admin"}], expect=400)    # not held
    _create(api, user, name="d", roles=[{"name": "ghost"}], expect=404)
    _create(api, user, name="e", roles=[{"id": "ghost"}], expect=404)
    _create(api, user, name="f", access_rules=[{"path": "/v2.1/servers", "method": "FETCH",
                                                 "service": "compute"}], expect=400)
    _create(api, user, name="g", bogus=True, expect=400)
    _create(api, user, expect=409)                                           # same name
    assert api.post(user["url"], {"application_credential": {}},
                    user["token"]).status_code == 400
    # a user cannot create, see or delete another user's application credentials
    other = add_user(api.cloud, project="proj-ac")
    other_token = api.token(other["name"], other["password"], project="proj-ac")
    _create(api, user, token=other_token, name="h", expect=403)
    assert api.get(user["url"], other_token).status_code == 403
    app_id = api.get(user["url"], user["token"]).json()["application_credentials"][0]["id"]
    assert api.delete(f"{user['url']}/{app_id}", other_token).status_code == 403
    assert api.get(f"{user['url']}/ghost", user["token"]).status_code == 404
    assert api.delete(f"{user['url']}/ghost", user["token"]).status_code == 404
    assert api.get(user["url"]).status_code == 401
    assert _names(api, user) == ["app"]


def test_admin_reads_and_deletes_other_users_application_credentials(api, user):
    created = _create(api, user)
    path = f"/users/{user['id']}/application_credentials"
    listed = api.admin("GET", path, expect=200).json()["application_credentials"]
    assert [a["id"] for a in listed] == [created["id"]]
    api.admin("GET", "/users/ghost/application_credentials", expect=404)
    api.admin("DELETE", f"{path}/{created['id']}", expect=204)
    assert _names(api, user) == []


def test_login_gives_a_project_token_with_only_the_delegated_roles(api, user):
    created = _create(api, user, roles=[{"name": "reader"}])
    response = _login(api, created["id"], created["secret"])
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["methods"] == ["application_credential"]
    assert token["project"]["id"] == user["project_id"]
    assert [r["name"] for r in token["roles"]] == ["reader"]
    assert token["application_credential"] == {
        "id": created["id"], "name": "app", "restricted": True}

    by_name = api.post(TOKENS, {"auth": {"identity": {
        "methods": ["application_credential"], "application_credential": {
            "name": "app", "secret": created["secret"],
            "user": {"name": user["name"], "domain": {"id": "default"}}}}}})
    assert by_name.status_code == 201, by_name.text
    assert by_name.json()["token"]["project"]["id"] == user["project_id"]
    assert _login(api, created["id"], "wrong").status_code == 401


def test_deleting_it_invalidates_its_tokens_at_once(api, user):
    created = _create(api, user)
    app_token = _login(api, created["id"], created["secret"]).headers["X-Subject-Token"]
    assert api.get("/identity/v3/regions", app_token).status_code == 200
    assert api.delete(f"{user['url']}/{created['id']}", user["token"]).status_code == 204
    assert api.get("/identity/v3/regions", app_token).status_code == 401
    assert _login(api, created["id"], created["secret"]).status_code == 401
    # the user's own token is untouched
    assert api.get("/identity/v3/regions", user["token"]).status_code == 200


def test_expired_application_credential_cannot_log_in(api, user):
    created = _create(api, user)
    with api.cloud.db.transaction() as session:
        session.get(ApplicationCredential, created["id"]).expires_at = \
            utcnow() - datetime.timedelta(seconds=1)
    response = _login(api, created["id"], created["secret"])
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_only_an_unrestricted_application_credential_manages_others(api, user):
    restricted = _create(api, user)
    unrestricted = _create(api, user, name="wide", unrestricted=True)
    restricted_token = _login(api, restricted["id"], restricted["secret"]).headers[
        "X-Subject-Token"]
    wide_token = _login(api, unrestricted["id"], unrestricted["secret"]).headers[
        "X-Subject-Token"]

    _create(api, user, token=restricted_token, name="child", expect=403)
    assert api.delete(f"{user['url']}/{unrestricted['id']}", restricted_token).status_code \
        == 403
    assert _names(api, user) == ["app", "wide"]

    child = _create(api, user, token=wide_token, name="child")
    assert child["project_id"] == user["project_id"]
    assert _names(api, user) == ["app", "child", "wide"]


def test_needs_a_project_scoped_token(api, user):
    unscoped = api.post(TOKENS, {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": user["id"], "password": user["password"]}}}, "scope": "unscoped"}})
    token = unscoped.headers["X-Subject-Token"]
    response = api.post(user["url"], {"application_credential": {"name": "x"}}, token)
    assert response.status_code == 400
    assert _names(api, user) == []


def test_an_empty_role_list_delegates_the_token_roles(api, user):
    """The openstack CLI sends "roles": [] when no --role is given."""
    created = _create(api, user, roles=[])
    assert sorted(r["name"] for r in created["roles"]) == ["member", "reader"]
