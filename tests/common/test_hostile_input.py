"""Hostile input on the shared request plumbing (issue 13): patterns that would
backtrack for ever, bodies that are huge, deep or hold what no database can
store, and handlers that fail unexpectedly.  Each gets a 4xx (or a 500 that
keeps the connection) in the service's own format, and changes nothing."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from starlette.testclient import TestClient

from stacklet.common import api as common_api
from tests.compute.conftest import project_member
from tests.compute.helpers import add_instance

# With Python's backtracking `re`, `(a+)+$` against this name took 20 s at 27
# characters, doubling with each one more: this one would take minutes.
BOMB_NAME = "a" * 30 + "!"


def test_a_regex_bomb_in_the_server_name_filter_is_answered_at_once(api):
    member = project_member(api, "alpha")
    add_instance(api, member.project_id, member.user_id, display_name=BOMB_NAME)
    add_instance(api, member.project_id, member.user_id, display_name="aaa")
    started = time.monotonic()
    response = member.get("/servers?name=(a%2B)%2B%24")
    assert time.monotonic() - started < 2
    assert response.status_code == 200, response.text
    assert [s["name"] for s in response.json()["servers"]] == ["aaa"]


@pytest.mark.parametrize("pattern", ["(a)%5C1", "(%3F%3Da)", "a%7B1000%7D%7B1000%7D", "%5B"])
def test_a_name_filter_re2_cannot_run_is_a_400(api, pattern):
    """Backreferences and lookaround (which need backtracking), huge counted
    repetitions and broken syntax: Nova's 400 body, saying why."""
    member = project_member(api, "alpha")
    response = member.get(f"/servers?name={pattern}")
    assert response.status_code == 400, response.text
    assert "not a supported regular expression" in response.json()["badRequest"]["message"]


def test_the_ip_filter_runs_in_linear_time_too(api):
    member = project_member(api, "alpha")
    add_instance(api, member.project_id, member.user_id)
    started = time.monotonic()
    response = member.get("/servers?ip=(a%2B)%2B%24")
    assert time.monotonic() - started < 2
    assert response.status_code == 200 and response.json()["servers"] == []
    assert member.get("/servers?ip=(1)%5C1").status_code == 400


def test_an_access_rule_path_cannot_backtrack(api):
    """`**` in an application credential's access rule is any run of characters;
    ten of them between literals backtrack polynomially in Python's `re`."""
    user = api.make_user(project="alpha")
    token = api.token(user["name"], user["password"], project="alpha")
    template = "/v3/" + "**a" * 12
    created = api.post(f"/identity/v3/users/{user['id']}/application_credentials", token=token,
                       json={"application_credential": {"name": "narrow", "access_rules": [
                           {"service": "identity", "method": "GET", "path": template}]}})
    assert created.status_code == 201, created.text
    credential = created.json()["application_credential"]
    app_token = api.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"], "application_credential": {
            "id": credential["id"], "secret": credential["secret"]}}}}).headers["X-Subject-Token"]
    started = time.monotonic()
    response = api.get("/identity/v3/users/" + "a" * 60 + "b", app_token)
    assert time.monotonic() - started < 2
    assert response.status_code == 401   # the rule does not match this path
    # It does match this one: the request goes on to the handler.
    assert api.get("/identity/v3/users/" + "a" * 12, app_token).status_code in (403, 404)


def test_a_huge_chunked_body_is_refused_at_the_limit_not_read_whole(api):
    """300 MB sent chunked to an unauthenticated route: the API stops reading one
    chunk past the 1 MiB limit.  (Driven at the ASGI level, where what the
    server reads can be counted; a test client would send the body whole.)"""
    chunk, total, read = 64 << 10, 300 << 20, 0
    sent: list[dict] = []

    async def receive():
        nonlocal read
        read += chunk
        return {"type": "http.request", "body": b"x" * chunk, "more_body": read < total}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/identity/v3/auth/tokens",
             "raw_path": b"/identity/v3/auth/tokens", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"stacklet.test"), (b"content-type", b"application/json"),
                         (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 1), "server": ("stacklet.test", 80)}
    asyncio.run(api.client.app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == 413
    assert read <= common_api.MAX_JSON_BODY + chunk


# (path, body with the value, how to read the error's code) for each service.
SURROGATE_CASES = [
    ("/identity/v3/projects", '{"project": {"name": "%s"}}', lambda b: b["error"]["code"]),
    ("/compute/v2.1/os-server-groups", '{"server_group": {"name": "%s", "policies": '
     '["affinity"]}}', lambda b: b["badRequest"]["code"]),
    ("/image/v2/images", '{"name": "%s"}', lambda b: int(b["code"].split()[0])),
    ("/network/v2.0/networks", '{"network": {"name": "%s"}}',
     lambda b: b["NeutronError"] and 400),
]


@pytest.mark.parametrize("path, template, code_of", SURROGATE_CASES,
                         ids=[case[0].split("/")[1] for case in SURROGATE_CASES])
def test_a_lone_surrogate_is_a_400_in_every_service(api, path, template, code_of):
    for text in ("\\ud800", "\\udfff", "x\\ud83dy"):
        response = api.post(path, token=api.admin_token, content=template % text,
                            headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert code_of(response.json()) == 400
    # A surrogate pair is a real character (here U+1F600) and is stored.
    response = api.post(path, token=api.admin_token, content=template % "\\ud83d\\ude00",
                        headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 201), response.text
    assert "\U0001F600" in json.dumps(response.json(), ensure_ascii=False)


@pytest.mark.parametrize("path", ["/identity/v3/auth/tokens", "/identity/v3/ec2tokens",
                                  "/identity/v3/s3tokens", "/compute/v2.1/servers",
                                  "/network/v2.0/networks"])
@pytest.mark.parametrize("depth", [100, 100_000])
def test_deep_nesting_is_a_400_also_without_a_token(api, path, depth):
    body = "[" * depth + "]" * depth
    response = api.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text[:200]
    assert "nested deeper than" in response.text


def test_an_unexpected_error_is_a_500_in_the_service_format_and_keeps_the_connection(cloud):
    """A handler's bug is answered by the framework, not re-raised to the server
    (which would drop the connection under the client's next request)."""
    routes = common_api.RouteTable()

    @routes.route("/boom", "GET")
    def boom(req):
        raise KeyError("uuid")

    service = common_api.ServiceAPI(
        "test", "/test", cloud, service_type="test", authenticator=None,
        error_body=lambda exc: {"fault": {"code": exc.status, "message": exc.message}})
    service.include(routes)
    # raise_server_exceptions: the test client raises whatever reaches the server.
    with TestClient(service.asgi_app(), raise_server_exceptions=True) as client:
        response = client.get("/boom")
        assert response.status_code == 500
        assert response.json()["fault"]["message"].startswith("An unexpected error")
        assert "connection" not in response.headers
        assert client.get("/boom").status_code == 500

