"""Fixtures of the compute tests: project members, and requests at a microversion."""

from __future__ import annotations

import pytest

from tests.image.helpers import Caller, project_member

COMPUTE = "/compute/v2.1"


def version(microversion: str) -> dict:
    return {"OpenStack-API-Version": f"compute {microversion}"}


class Compute:
    """Calls on /compute/v2.1 as one caller, at a chosen microversion."""

    def __init__(self, api, token: str, project_id: str | None = None):
        self.api = api
        self.token = token
        self.project_id = project_id

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


def as_caller(api, caller: Caller) -> Compute:
    return Compute(api, caller.token, caller.project_id)


@pytest.fixture
def admin(api) -> Compute:
    project = api.admin("GET", "/projects?name=admin", expect=200).json()["projects"][0]
    return Compute(api, api.admin_token, project["id"])


@pytest.fixture
def alice(api) -> Compute:
    """A member of project alpha."""
    return as_caller(api, project_member(api, "alpha"))


@pytest.fixture
def bob(api) -> Compute:
    """A member of project beta."""
    return as_caller(api, project_member(api, "beta"))
