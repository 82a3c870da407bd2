"""Compute quotas: defaults, per project and per user, usage from servers, quota
classes, the servers' quota check and /limits."""

from __future__ import annotations

import pytest

from stacklet.common.errors import Forbidden
from stacklet.compute import quotas
from tests.compute.helpers import add_instance

LIVE = {"instances": 10, "cores": 20, "ram": 51200, "metadata_items": 128, "key_pairs": 100,
        "server_groups": 10, "server_group_members": 10}
INJECTED = {"injected_files": 5, "injected_file_content_bytes": 10240,
            "injected_file_path_bytes": 255}
NETWORK = {"fixed_ips": -1, "floating_ips": 10, "security_groups": 10,
           "security_group_rules": 20}


def quota_set(caller, project_id, suffix="", microversion="2.1"):
    response = caller.get(f"/os-quota-sets/{project_id}{suffix}", microversion)
    assert response.status_code == 200, response.text
    return response.json()["quota_set"]


def test_defaults_by_microversion(alice):
    project = alice.project_id
    assert quota_set(alice, project) == {"id": project, **LIVE, **INJECTED, **NETWORK}
    assert quota_set(alice, project, microversion="2.36") == {"id": project, **LIVE, **INJECTED}
    assert quota_set(alice, project, microversion="2.57") == {"id": project, **LIVE}
    assert quota_set(alice, project, "/defaults", "2.57") == {"id": project, **LIVE}


class TestConfiguredDefaults:
    @pytest.fixture
    def config_overrides(self):
        return {("compute", "quota_cores"): 4}

    def test_configured_default(self, alice):
        assert quota_set(alice, alice.project_id)["cores"] == 4


def test_update_project_and_user_quotas(admin, alice, bob):
    url = f"/os-quota-sets/{alice.project_id}"
    updated = admin.put(url, {"quota_set": {"instances": 3, "ram": "1024"}}, "2.57")
    assert updated.status_code == 200, updated.text
    assert updated.json()["quota_set"] == {**LIVE, "instances": 3, "ram": 1024}
    assert quota_set(alice, alice.project_id)["instances"] == 3
    # Others' quotas are not theirs to read; setting needs an admin.
    assert bob.get(url).status_code == 403
    assert alice.put(url, {"quota_set": {"instances": 30}}).status_code == 403
    # Removed resources and bad limits are refused.
    for bad in ({"floating_ips": 1}, {"instances": -2}, {"instances": "many"},
                {"unicorns": 1}):
        assert admin.put(url, {"quota_set": bad}, "2.57").status_code == 400, bad
    assert admin.put("/os-quota-sets/nope", {"quota_set": {"instances": 1}}).status_code == 400

    user_url = f"{url}?user_id={alice.user_id}"
    assert admin.put(user_url, {"quota_set": {"instances": 2}}).status_code == 200
    assert quota_set(admin, alice.project_id, f"?user_id={alice.user_id}")["instances"] == 2
    # A user's limit stays within the project's.
    too_many = admin.put(user_url, {"quota_set": {"instances": 5}})
    assert too_many.status_code == 400
    assert "must be in the range of -1 and 3" in too_many.json()["badRequest"]["message"]

    assert admin.delete(user_url).status_code == 202
    assert quota_set(admin, alice.project_id, f"?user_id={alice.user_id}")["instances"] == 3
    assert admin.delete(url).status_code == 202
    assert quota_set(admin, alice.project_id)["instances"] == 10


def test_detail_counts_servers_and_limits_below_usage(api, admin, alice):
    for _ in range(2):
        add_instance(api, alice.project_id, alice.user_id, vcpus=2, ram=2048)
    add_instance(api, alice.project_id, alice.user_id, deleted=True)
    detail = quota_set(alice, alice.project_id, "/detail")
    assert detail["instances"] == {"limit": 10, "in_use": 2, "reserved": 0}
    assert detail["cores"]["in_use"] == 4 and detail["ram"]["in_use"] == 4096

    url = f"/os-quota-sets/{alice.project_id}"
    refused = admin.put(url, {"quota_set": {"instances": 1}})
    assert refused.status_code == 400
    assert refused.json()["badRequest"]["message"] == (
        "Quota limit 1 for instances must be greater than or equal to already used and "
        "reserved 2.")
    forced = admin.put(url, {"quota_set": {"instances": 1, "force": True}})
    assert forced.status_code == 200 and forced.json()["quota_set"]["instances"] == 1
    assert admin.put(url, {"quota_set": {"instances": -1}}).status_code == 200


def test_check_instances_for_servers(api, admin, alice):
    for _ in range(2):
        add_instance(api, alice.project_id, alice.user_id, vcpus=2, ram=1024)
    admin.put(f"/os-quota-sets/{alice.project_id}", {"quota_set": {"instances": 2}})
    with api.cloud.db.session() as session:
        with pytest.raises(Forbidden) as refused:
            quotas.check_instances(session, alice.project_id, alice.user_id, 1, 1, 512,
                                   config=api.cloud.config)
        assert refused.value.message == (
            "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances")
        with pytest.raises(Forbidden) as refused:
            quotas.check_instances(session, "other", alice.user_id, 1, 21, 512,
                                   config=api.cloud.config)
        assert refused.value.message.startswith("Quota exceeded for cores: Requested 21")
        quotas.check_instances(session, "other", alice.user_id, 2, 2, 512,
                               config=api.cloud.config)
        quotas.check(session, alice.project_id, alice.user_id, "metadata_items", 128,
                     config=api.cloud.config, used=0)
        with pytest.raises(Forbidden):
            quotas.check(session, alice.project_id, alice.user_id, "metadata_items", 129,
                         config=api.cloud.config, used=0)


def test_quota_classes(admin, alice):
    shown = admin.get("/os-quota-class-sets/default").json()["quota_class_set"]
    assert shown == {"id": "default", **{k: v for k, v in LIVE.items()
                                         if not k.startswith("server_group")},
                     **INJECTED, **NETWORK}
    assert alice.get("/os-quota-class-sets/default").status_code == 403
    updated = admin.put("/os-quota-class-sets/default",
                        {"quota_class_set": {"instances": 7, "server_groups": 3}}, "2.57")
    assert updated.status_code == 200, updated.text
    assert updated.json()["quota_class_set"] == {**LIVE, "instances": 7, "server_groups": 3}
    # The default class is every project's default.
    assert quota_set(alice, alice.project_id)["instances"] == 7
    assert quota_set(alice, alice.project_id, "/defaults")["server_groups"] == 3
    # Server groups are not in classes before 2.50.
    assert admin.put("/os-quota-class-sets/default",
                     {"quota_class_set": {"server_groups": 3}}).status_code == 400
    # Other classes are kept but change nothing.
    admin.put("/os-quota-class-sets/gold", {"quota_class_set": {"instances": 99}}, "2.57")
    assert admin.get("/os-quota-class-sets/gold", "2.57").json()[
        "quota_class_set"]["instances"] == 99
    assert quota_set(alice, alice.project_id)["instances"] == 7


@pytest.mark.parametrize("path, key", [("/os-quota-sets/{project}", "quota_set"),
                                       ("/os-quota-class-sets/default", "quota_class_set")])
@pytest.mark.parametrize("value, says", [
    ("9" * 400, "instances must be >= -1 and <= 2147483647"),
    ("-5", "instances must be >= -1"),
])
def test_limits_written_as_strings_are_checked_for_their_value(admin, alice, path, key,
                                                              value, says):
    # The schema checks only the characters of such a string; its value is checked after.
    path = path.format(project=alice.project_id)
    response = admin.put(path, {key: {"instances": value}})
    assert response.status_code == 400, response.text
    assert says in response.json()["badRequest"]["message"]
    assert admin.get(path).json()[key]["instances"] == 10


def test_limits(api, admin, alice, bob):
    add_instance(api, alice.project_id, alice.user_id, vcpus=2, ram=2048)
    limits = alice.get("/limits").json()["limits"]
    assert limits["rate"] == []
    absolute = limits["absolute"]
    assert (absolute["maxTotalInstances"], absolute["totalInstancesUsed"]) == (10, 1)
    assert (absolute["totalCoresUsed"], absolute["totalRAMUsed"]) == (2, 2048)
    assert absolute["maxTotalFloatingIps"] == 10 and absolute["maxImageMeta"] == 128
    assert absolute["maxPersonality"] == 5
    newest = alice.get("/limits", "2.57").json()["limits"]["absolute"]
    assert set(newest) == {"maxTotalInstances", "maxTotalCores", "maxTotalRAMSize",
                           "maxServerMeta", "maxTotalKeypairs", "maxServerGroups",
                           "maxServerGroupMembers", "totalInstancesUsed", "totalCoresUsed",
                           "totalRAMUsed", "totalServerGroupsUsed"}
    assert "maxImageMeta" in alice.get("/limits", "2.38").json()["limits"]["absolute"]
    assert "maxImageMeta" not in alice.get("/limits", "2.39").json()["limits"]["absolute"]
    # An admin reads another project's; others may not.
    other = admin.get(f"/limits?tenant_id={alice.project_id}").json()["limits"]["absolute"]
    assert other["totalInstancesUsed"] == 1
    assert bob.get(f"/limits?tenant_id={alice.project_id}").status_code == 403
    assert bob.get("/limits").json()["limits"]["absolute"]["totalInstancesUsed"] == 0
