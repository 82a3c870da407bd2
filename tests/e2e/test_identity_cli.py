"""The identity API driven by the real `openstack` CLI against `stacklet up`.

The tests share one server and run in file order: the last one restarts the
server and checks that everything the earlier ones created is still there.
Each resource comes from a module fixture, so any test also runs alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import (
    OpenStackCLI,
    StackletServer,
    admin_cloud,
    create_member,
    token_status,
    write_clouds_yaml,
)

pytestmark = pytest.mark.e2e

PROJECT = "e2e-project"
USER = "e2e-user"
PASSWORD = "e2e-pass-word-1"


@pytest.fixture(scope="module")
def admin(module_server: StackletServer) -> OpenStackCLI:
    return OpenStackCLI(module_server.clouds_yaml)


@pytest.fixture(scope="module")
def member(module_server, admin, tmp_path_factory) -> dict:
    """A user with the member role on a new project, and a clouds.yaml to be it."""
    member = create_member(admin, module_server, PROJECT, USER, PASSWORD)
    clouds_yaml = write_clouds_yaml(tmp_path_factory.mktemp("member") / "clouds.yaml", {
        "stacklet": admin_cloud(module_server), "e2e-member": member["cloud"]})
    return {**member, "clouds_yaml": clouds_yaml,
            "cli": OpenStackCLI(clouds_yaml, "e2e-member")}


@pytest.fixture(scope="module")
def app_credential(module_server, member) -> dict:
    """An application credential of the member, and a cloud entry that logs in with it."""
    created = member["cli"].json("application", "credential", "create", "e2e-appcred")
    clouds_yaml: Path = member["clouds_yaml"].with_name("appcred-clouds.yaml")
    write_clouds_yaml(clouds_yaml, {"e2e-appcred": {
        "auth_type": "v3applicationcredential",
        "auth": {"auth_url": admin_cloud(module_server)["auth"]["auth_url"],
                 "application_credential_id": created["ID"],
                 "application_credential_secret": created["Secret"]},
        "region_name": "RegionOne", "identity_api_version": 3}})
    return {"credential": created, "cli": OpenStackCLI(clouds_yaml, "e2e-appcred")}


def test_admin_token_issue(admin):
    token = admin.json("token", "issue")
    assert token["id"] and token["project_id"] and token["user_id"]


def test_catalog_and_endpoint_list_show_identity(admin, module_server):
    catalog = admin.json("catalog", "list")
    identity = [entry for entry in catalog if entry["Type"] == "identity"]
    assert identity, catalog
    assert any(endpoint["url"].startswith(module_server.url)
               for endpoint in identity[0]["Endpoints"])
    endpoints = admin.json("endpoint", "list")
    assert {e["Interface"] for e in endpoints if e["Service Type"] == "identity"} >= {"public"}


def test_member_logs_in_with_its_own_cloud_entry(member):
    token = member["cli"].json("token", "issue")
    assert token["user_id"] == member["user"]["id"]
    assert token["project_id"] == member["project"]["id"]


def test_member_sees_only_its_projects_and_may_not_administer(member):
    # On a 403 for GET /v3/projects, `openstack project list` falls back to
    # the caller's own projects (GET /v3/users/{id}/projects).
    projects = member["cli"].json("project", "list")
    assert [p["Name"] for p in projects] == [PROJECT]
    for command in (["user", "list"], ["project", "create", "e2e-not-allowed"]):
        message = member["cli"].fails(*command)
        assert "403" in message or "Forbidden" in message, message


def test_application_credential_logs_in(member, app_credential):
    token = app_credential["cli"].json("token", "issue")
    assert token["user_id"] == member["user"]["id"]
    assert token["project_id"] == member["project"]["id"]


def test_password_change_revokes_old_tokens(module_server, admin, member, tmp_path):
    name = "e2e-password-changer"
    admin.run("user", "create", name, "--password", "first-pass-word", "--domain", "default")
    admin.run("role", "add", "--user", name, "--project", PROJECT, "member")
    auth = {**admin_cloud(module_server)["auth"], "username": name,
            "password": "first-pass-word", "project_name": PROJECT}
    clouds_yaml = write_clouds_yaml(tmp_path / "clouds.yaml", {
        "old": {"auth": auth, "identity_api_version": 3},
        "new": {"auth": {**auth, "password": "second-pass-word"}, "identity_api_version": 3}})
    old_token = OpenStackCLI(clouds_yaml, "old").json("token", "issue")["id"]
    admin_token = admin.json("token", "issue")["id"]
    assert token_status(module_server, admin_token, old_token) == 200

    admin.run("user", "set", "--password", "second-pass-word", name)

    assert token_status(module_server, admin_token, old_token) == 404
    OpenStackCLI(clouds_yaml, "old").fails("token", "issue")
    new_token = OpenStackCLI(clouds_yaml, "new").json("token", "issue")["id"]
    assert token_status(module_server, admin_token, new_token) == 200


def test_token_revoke(admin, member, module_server):
    token = member["cli"].json("token", "issue")["id"]
    member["cli"].run("token", "revoke", token)
    admin_token = admin.json("token", "issue")["id"]
    assert token_status(module_server, admin_token, token) == 404


def test_everything_survives_a_restart(module_server, admin, member, app_credential):
    took = module_server.stop()
    assert took < 10
    module_server.start()

    admin.json("token", "issue")
    assert admin.json("project", "show", PROJECT)["id"] == member["project"]["id"]
    assert admin.json("user", "show", USER)["id"] == member["user"]["id"]
    assignments = admin.json("role", "assignment", "list", "--user", USER,
                             "--project", PROJECT, "--names")
    assert any(a["Role"] == "member" for a in assignments), assignments
    member["cli"].json("token", "issue")
    credentials = member["cli"].json("application", "credential", "list")
    assert [c["ID"] for c in credentials] == [app_credential["credential"]["ID"]]
    app_credential["cli"].json("token", "issue")
