"""Fixtures of the compute tests: project members, and requests at a microversion."""

from __future__ import annotations

import pytest

COMPUTE = "/compute/v2.1"


def version(microversion: str) -> dict:
    return {"OpenStack-API-Version": f"compute {microversion}"}


class Compute:
    """Calls on /compute/v2.1 as one caller, at a chosen microversion."""

    def __init__(self, api, token: str, project_id: str, user_id: str):
        self.api = api
        self.token = token
        self.project_id = project_id
        self.user_id = user_id

    def call(self, method: str, path: str, json=None, microversion: str = "2.1"):
        return self.api.request(method, COMPUTE + path, self.token, json=json,
                                headers=version(microversion))

    def get(self, path, microversion="2.1"):
        return self.call("GET", path, microversion=microversion)

    def post(self, path, json=None, microversion="2.1"):
        return self.call("POST", path, json, microversion)

    def put(self, path, json=None, microversion="2.1"):
        return self.call("PUT", path, json, microversion)

    def delete(self, path, microversion="2.1"):
        return self.call("DELETE", path, microversion=microversion)


def project_member(api, project: str, role: str = "member") -> Compute:
    user = api.make_user(project=project, role=role)
    token = api.token(user["name"], user["password"], project=project)
    return Compute(api, token, user["project_id"], user["id"])


def admin_of(api) -> Compute:
    """The cloud admin, in the admin project."""
    token = api.client.get("/identity/v3/auth/tokens", headers={
        "X-Auth-Token": api.admin_token, "X-Subject-Token": api.admin_token}).json()["token"]
    return Compute(api, api.admin_token, token["project"]["id"], token["user"]["id"])


@pytest.fixture
def admin(api) -> Compute:
    return admin_of(api)


@pytest.fixture
def alice(api) -> Compute:
    """A member of project alpha."""
    return project_member(api, "alpha")


@pytest.fixture
def bob(api) -> Compute:
    """A member of project beta."""
    return project_member(api, "beta")
