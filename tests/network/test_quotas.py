"""Network quotas: reading, setting, resetting, details and who may do what."""

from __future__ import annotations

from tests.network.conftest import neutron_error

RESOURCES = {"network", "subnet", "subnetpool", "port", "router", "floatingip",
             "security_group", "security_group_rule", "rbac_policy"}


def test_a_project_reads_its_own_quota_and_defaults(alice):
    quota = alice.get(f"/quotas/{alice.project_id}").json()["quota"]
    assert set(quota) == RESOURCES
    assert quota["network"] == 100 and quota["security_group"] == 10
    assert quota["subnetpool"] == -1
    default = alice.get(f"/quotas/{alice.project_id}/default").json()["quota"]
    assert {k: default[k] for k in RESOURCES} == quota


def test_admin_sets_lists_and_resets_a_quota(alice, admin):
    updated = admin.put(f"/quotas/{alice.project_id}",
                        {"quota": {"network": 5, "port": "-1"}})
    assert updated.status_code == 200
    assert updated.json()["quota"]["network"] == 5 and updated.json()["quota"]["port"] == -1
    assert alice.get(f"/quotas/{alice.project_id}").json()["quota"]["network"] == 5
    assert alice.get(f"/quotas/{alice.project_id}/default").json()["quota"]["network"] == 100
    listed = admin.get("/quotas").json()["quotas"]
    mine = [q for q in listed if q["project_id"] == alice.project_id]
    assert len(mine) == 1 and mine[0]["network"] == 5 and mine[0]["tenant_id"] == \
        alice.project_id
    assert admin.delete(f"/quotas/{alice.project_id}").status_code == 204
    assert alice.get(f"/quotas/{alice.project_id}").json()["quota"]["network"] == 100
    assert alice.project_id not in {q["project_id"] for q in admin.get("/quotas").json()[
        "quotas"]}


def test_quota_is_enforced_on_create(alice, admin):
    admin.put(f"/quotas/{alice.project_id}", {"quota": {"network": 1}})
    alice.create("network")
    over = alice.post("/networks", {"network": {}})
    assert over.status_code == 409 and neutron_error(over)["type"] == "OverQuota"


def test_details_count_what_is_used(alice, admin):
    alice.create("network")
    alice.create("security_group", name="g")
    for path in (f"/quotas/{alice.project_id}/details",
                 f"/quotas/{alice.project_id}/details.json"):
        details = alice.get(path).json()["quota"]
        assert set(details) == RESOURCES
        assert details["network"] == {"limit": 100, "used": 1, "reserved": 0}
        # The group made and the project's default group.
        assert details["security_group"]["used"] == 2
        assert details["security_group_rule"]["used"] == 6


def test_bad_quota_values_are_400_and_change_nothing(alice, admin):
    for body in ({"quota": {"network": -2}}, {"quota": {"network": "many"}},
                 {"quota": {"bogus": 1}}, {"quota": {"network": True}}, {"quotas": {}},
                 {"quota": {"network": 2 ** 31}}):
        response = admin.put(f"/quotas/{alice.project_id}", body)
        assert response.status_code == 400, body
    assert alice.get(f"/quotas/{alice.project_id}").json()["quota"]["network"] == 100


def test_members_cannot_change_or_read_others_quotas(alice, bob):
    for response in (alice.put(f"/quotas/{alice.project_id}", {"quota": {"network": 500}}),
                     alice.delete(f"/quotas/{alice.project_id}"),
                     alice.get(f"/quotas/{bob.project_id}"),
                     alice.get(f"/quotas/{bob.project_id}/details"),
                     alice.get("/quotas")):
        assert response.status_code == 403
        assert neutron_error(response)["type"] == "PolicyNotAuthorized"
    assert alice.get(f"/quotas/{alice.project_id}").json()["quota"]["network"] == 100


def test_extensions_list_quota_details(alice):
    aliases = {e["alias"] for e in alice.get("/extensions").json()["extensions"]}
    assert {"quotas", "quota_details", "agent", "availability_zone", "tag",
            "standard-attr-tag", "stateful-security-group"} <= aliases


def test_check_limit_refuses_a_limit_below_usage(alice, admin):
    alice.create("network")
    alice.create("network")
    refused = admin.put(f"/quotas/{alice.project_id}",
                        {"quota": {"network": 1, "check_limit": True}})
    assert refused.status_code == 409
    assert neutron_error(refused)["type"] == "InvalidQuotaValue"
    assert alice.get(f"/quotas/{alice.project_id}").json()["quota"]["network"] == 100
    allowed = admin.put(f"/quotas/{alice.project_id}",
                        {"quota": {"network": 2, "check_limit": True}})
    assert allowed.json()["quota"]["network"] == 2
    # Without the check (or with force) the limit may go below usage.
    assert admin.put(f"/quotas/{alice.project_id}",
                     {"quota": {"network": 1}}).json()["quota"]["network"] == 1
