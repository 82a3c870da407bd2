"""Fixtures of the network tests: callers of /network/v2.0 in their projects."""

from __future__ import annotations

import pytest

NETWORK = "/network/v2.0"


class Network:
    """Calls on /network/v2.0 as one caller."""

    def __init__(self, api, token: str, project_id: str, user_id: str):
        self.api = api
        self.token = token
        self.project_id = project_id
        self.user_id = user_id

    def call(self, method: str, path: str, json=None, headers=None):
        return self.api.request(method, NETWORK + path, self.token, json=json,
                                headers=headers or {})

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.call("POST", path, json, **kw)

    def put(self, path, json=None, **kw):
        return self.call("PUT", path, json, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def create(self, resource: str, **attributes) -> dict:
        """Create one resource (``network``, ``subnet``...) and return it; fails the test
        unless the service answers 201."""
        collection = {"security_group": "security-groups",
                      "security_group_rule": "security-group-rules",
                      "floatingip": "floatingips"}.get(resource, resource + "s")
        response = self.post(f"/{collection}", {resource: attributes})
        assert response.status_code == 201, response.text
        return response.json()[resource]


def network_caller(api, project: str, role: str = "member") -> Network:
    user = api.make_user(project=project, role=role)
    token = api.token(user["name"], user["password"], project=project)
    return Network(api, token, user["project_id"], user["id"])


def neutron_error(response) -> dict:
    """The NeutronError of an error response (type, message, detail)."""
    return response.json()["NeutronError"]


@pytest.fixture
def admin(api) -> Network:
    token = api.client.get("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": api.admin_token, "X-Subject-Token": api.admin_token}).json()["token"]
    return Network(api, api.admin_token, token["project"]["id"], token["user"]["id"])


@pytest.fixture
def alice(api) -> Network:
    """A member of project alpha."""
    return network_caller(api, "alpha")


@pytest.fixture
def bob(api) -> Network:
    """A member of project beta."""
    return network_caller(api, "beta")
