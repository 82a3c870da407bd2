"""Application credential access rules: /v3/users/{user_id}/access_rules, and tokens
limited to the requests the rules allow."""

import pytest
import sqlalchemy as sa

from stacklet.identity.models import AccessRule, ApplicationCredential
from tests.identity.directory import add_user

TOKENS = "/identity/v3/auth/tokens"
CATALOG_RULE = {"service": "identity", "path": "/v3/auth/catalog", "method": "GET"}
SERVERS_RULE = {"service": "compute", "path": "/v2.1/servers/*/ips", "method": "GET"}


@pytest.fixture
def user(api):
    """A member of project proj-ar, with a token and the URLs of its collections."""
    user = add_user(api.cloud, project="proj-ar")
    user["token"] = api.token(user["name"], user["password"], project="proj-ar")
    user["app_creds"] = f"/identity/v3/users/{user['id']}/application_credentials"
    user["rules"] = f"/identity/v3/users/{user['id']}/access_rules"
    return user


def _create(api, user, name="app", expect=201, **attrs):
    response = api.post(user["app_creds"], {"application_credential": {"name": name, **attrs}},
                        user["token"])
    assert response.status_code == expect, response.text
    return response.json().get("application_credential") if expect == 201 else response.json()


def _rules(api, user, query=""):
    response = api.get(user["rules"] + query, user["token"])
    assert response.status_code == 200, response.text
    return response.json()["access_rules"]


def _login(api, app_cred):
    response = api.post(TOKENS, {"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": app_cred["id"], "secret": app_cred["secret"]}}}})
    assert response.status_code == 201, response.text
    return response


def _without_id(rules):
    return [{k: v for k, v in rule.items() if k != "id"} for rule in rules]


def _stored(api):
    """Every access rule and application credential row, to show nothing changed."""
    with api.cloud.db.session() as session:
        return (sorted(session.scalars(sa.select(AccessRule.id))),
                sorted(session.scalars(sa.select(ApplicationCredential.id))))


def test_create_shows_the_rules_and_identical_rules_are_one_record(api, user):
    created = _create(api, user, access_rules=[CATALOG_RULE, SERVERS_RULE])
    assert _without_id(created["access_rules"]) == [CATALOG_RULE, SERVERS_RULE]
    assert all(rule["id"] for rule in created["access_rules"])
    shown = api.get(f"{user['app_creds']}/{created['id']}", user["token"]).json()
    assert shown["application_credential"]["access_rules"] == created["access_rules"]

    # The same rule again, by value or by id, is the same record.
    catalog_id = created["access_rules"][0]["id"]
    again = _create(api, user, name="again", access_rules=[CATALOG_RULE])
    by_id = _create(api, user, name="by-id", access_rules=[{"id": catalog_id}])
    assert again["access_rules"] == by_id["access_rules"] == [{"id": catalog_id,
                                                               **CATALOG_RULE}]
    assert len(_rules(api, user)) == 2
    listed = api.get(user["app_creds"], user["token"]).json()["application_credentials"]
    assert {a["name"]: len(a["access_rules"]) for a in listed} == \
        {"app": 2, "again": 1, "by-id": 1}

    # Without access rules an application credential shows an empty list.
    assert _create(api, user, name="plain")["access_rules"] == []


def test_list_show_filter_and_delete_once_unused(api, user):
    created = _create(api, user, access_rules=[CATALOG_RULE, SERVERS_RULE])
    rule_ids = {r["service"]: r["id"] for r in created["access_rules"]}

    listed = api.get(user["rules"], user["token"]).json()
    assert listed["links"]["self"].endswith(f"/identity/v3/users/{user['id']}/access_rules")
    assert {r["id"] for r in listed["access_rules"]} == set(rule_ids.values())
    assert [r["id"] for r in _rules(api, user, "?service=compute")] == [rule_ids["compute"]]
    assert [r["id"] for r in _rules(api, user, "?path=/v3/auth/catalog")] == \
        [rule_ids["identity"]]
    assert _rules(api, user, "?method=DELETE") == []

    url = f"{user['rules']}/{rule_ids['compute']}"
    shown = api.get(url, user["token"])
    assert shown.status_code == 200, shown.text
    assert shown.json()["access_rule"] == {
        "id": rule_ids["compute"], **SERVERS_RULE, "links": {"self": "http://stacklet.test" + url}}

    # In use: refused, and still there.
    refused = api.delete(url, user["token"])
    assert refused.status_code == 403
    assert "in use" in refused.json()["error"]["message"]
    assert api.get(url, user["token"]).status_code == 200

    # Deleting the application credential keeps its rules, which can then go.
    assert api.delete(f"{user['app_creds']}/{created['id']}", user["token"]).status_code == 204
    assert len(_rules(api, user)) == 2
    assert api.delete(url, user["token"]).status_code == 204
    assert api.get(url, user["token"]).status_code == 404
    assert api.delete(url, user["token"]).status_code == 404
    assert [r["id"] for r in _rules(api, user)] == [rule_ids["identity"]]


def test_a_token_from_it_makes_only_the_requests_its_rules_allow(api, user):
    created = _create(api, user, access_rules=[
        CATALOG_RULE, {"service": "identity", "path": "/v3/users/*", "method": "GET"},
        {"service": "identity", "path": "/v3/projects/**", "method": "GET"},
        {"service": "compute", "path": "/v3/regions", "method": "GET"}])
    login = _login(api, created)
    body = login.json()["token"]["application_credential"]
    assert body["access_rules"] == created["access_rules"]
    app_token = login.headers["X-Subject-Token"]

    project = user["project_id"]
    for path in ("/v3/auth/catalog", f"/v3/users/{user['id']}", f"/v3/projects/{project}",
                 f"/v3/projects/{project}/tags"):
        response = api.get(f"/identity{path}", app_token)
        assert response.status_code == 200, (path, response.text)

    for method, path in [
            ("GET", "/v3/auth/projects"),                  # no rule
            ("GET", f"/v3/users/{user['id']}/projects"),   # * is one segment
            ("HEAD", "/v3/auth/catalog"),                  # another method
            ("GET", "/v3/regions"),                        # a rule for another service
            ("PUT", f"/v3/projects/{project}/tags/blue")]:
        response = api.request(method, f"/identity{path}", app_token)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")
    assert api.get(f"/identity/v3/projects/{project}/tags", app_token).json()["tags"] == []

    # Tokens of the same user without access rules are not limited.
    assert api.get("/identity/v3/auth/projects", user["token"]).status_code == 200
    plain = _login(api, _create(api, user, name="plain")).headers["X-Subject-Token"]
    assert api.get("/identity/v3/auth/projects", plain).status_code == 200


def test_validating_a_limited_token_needs_a_service_that_enforces_rules(api, user):
    limited = _login(api, _create(api, user, access_rules=[CATALOG_RULE]))
    subject = {"X-Subject-Token": limited.headers["X-Subject-Token"]}
    assert api.get(TOKENS, api.admin_token, headers=subject).status_code == 404
    assert api.head(TOKENS, api.admin_token, headers=subject).status_code == 404
    validated = api.get(TOKENS, api.admin_token,
                        headers={**subject, "OpenStack-Identity-Access-Rules": "1.0"})
    assert validated.status_code == 200, validated.text
    assert _without_id(validated.json()["token"]["application_credential"]["access_rules"]) \
        == [CATALOG_RULE]


def test_a_cached_limited_token_costs_no_query(api, user):
    """The rules travel with the cached validation: no database read per request."""
    limited = _login(api, _create(api, user, access_rules=[CATALOG_RULE]))
    token = limited.headers["X-Subject-Token"]
    api.cloud.tokens.authenticate(token)
    statements = []

    def count(*_args):
        statements.append(1)
    sa.event.listen(api.cloud.db.engine, "before_cursor_execute", count)
    try:
        ctx = api.cloud.tokens.authenticate(token)
    finally:
        sa.event.remove(api.cloud.db.engine, "before_cursor_execute", count)
    assert statements == []
    assert [(r.service, r.path, r.method) for r in ctx.access_rules] == \
        [("identity", "/v3/auth/catalog", "GET")]


@pytest.mark.parametrize("rules, status", [
    ([{**CATALOG_RULE, "method": "FETCH"}], 400),
    ([{"service": "identity", "path": "/v3/auth/catalog"}], 400),           # no method
    ([{"service": "identity", "method": "GET"}], 400),                     # no path
    ([{"path": "/v3/auth/catalog", "method": "GET"}], 400),                # no service
    ([{**CATALOG_RULE, "path": "v3/auth/catalog"}], 400),                  # not absolute
    ([{**CATALOG_RULE, "service": "bad service"}], 400),
    ([{**CATALOG_RULE, "colour": "red"}], 400),
    (["GET /v3"], 400),
    ({"service": "identity"}, 400),
    ([CATALOG_RULE, {"id": "ghost"}], 404),              # the first would be new: not kept
])
def test_bad_rules_are_refused_and_change_nothing(api, user, rules, status):
    before = _stored(api)
    refused = _create(api, user, access_rules=rules, expect=status)
    assert refused["error"]["code"] == status
    assert _stored(api) == before


def test_a_rule_by_id_must_be_one_of_the_users_own_and_match(api, user):
    other = add_user(api.cloud, project="proj-ar")
    other_token = api.token(other["name"], other["password"], project="proj-ar")
    others_app_cred = api.post(
        f"/identity/v3/users/{other['id']}/application_credentials",
        {"application_credential": {"name": "theirs", "access_rules": [CATALOG_RULE]}},
        other_token).json()["application_credential"]
    others_rule = others_app_cred["access_rules"][0]["id"]
    before = _stored(api)

    refused = _create(api, user, access_rules=[{"id": others_rule}], expect=404)
    assert refused["error"]["message"] == f"Could not find Access Rule: {others_rule}."
    # The same rule by value is a record of this user's own.
    mine = _create(api, user, access_rules=[CATALOG_RULE])["access_rules"][0]["id"]
    assert mine != others_rule
    assert _stored(api)[0] == sorted(before[0] + [mine])
    # An id together with fields that contradict it.
    _create(api, user, name="mismatch", access_rules=[{"id": mine, "method": "POST"}],
            expect=400)
    assert [a["name"] for a in api.get(user["app_creds"], user["token"]).json()[
        "application_credentials"]] == ["app"]


def test_other_users_cannot_see_or_delete_a_users_rules(api, user):
    created = _create(api, user, access_rules=[CATALOG_RULE])
    rule_url = f"{user['rules']}/{created['access_rules'][0]['id']}"
    other = add_user(api.cloud, project="proj-ar")
    other_token = api.token(other["name"], other["password"], project="proj-ar")

    assert api.get(user["rules"], other_token).status_code == 403
    assert api.get(rule_url, other_token).status_code == 403
    assert api.delete(rule_url, other_token).status_code == 403
    # Under their own user path, someone else's rule does not exist.
    own_path = f"/identity/v3/users/{other['id']}/access_rules/{created['access_rules'][0]['id']}"
    assert api.get(own_path, other_token).status_code == 404
    assert api.delete(own_path, other_token).status_code == 404
    assert api.get(user["rules"]).status_code == 401
    assert len(_rules(api, user)) == 1

    # The cloud admin reads them, and deletes one no longer in use.
    path = f"/users/{user['id']}/access_rules"
    assert len(api.admin("GET", path, expect=200).json()["access_rules"]) == 1
    api.admin("GET", "/users/ghost/access_rules", expect=404)
    api.admin("DELETE", f"{user['app_creds'].removeprefix('/identity/v3')}/{created['id']}",
              expect=204)
    api.admin("DELETE", f"{path}/{created['access_rules'][0]['id']}", expect=204)
    assert _rules(api, user) == []
