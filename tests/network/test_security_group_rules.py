"""Security group rules: what Neutron accepts, how it is shown, duplicates,
visibility through the group, and the rule quota."""

from __future__ import annotations

import pytest

from tests.network.conftest import neutron_error


@pytest.fixture
def group(alice) -> dict:
    return alice.create("security_group", name="rules")


def _rule(caller, group, **attributes):
    return caller.post("/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", **attributes}})


def test_create_show_list_delete(alice, group):
    rule = alice.create("security_group_rule", security_group_id=group["id"],
                        direction="ingress", ethertype="ipv4", protocol="TCP",
                        port_range_min=22, port_range_max=22,
                        remote_ip_prefix="10.1.2.3/16", description="ssh")
    assert rule["ethertype"] == "IPv4" and rule["protocol"] == "tcp"
    # The prefix is kept as written; normalized_cidr is its network.
    assert rule["remote_ip_prefix"] == "10.1.2.3/16"
    assert rule["normalized_cidr"] == "10.1.0.0/16"
    assert (rule["port_range_min"], rule["port_range_max"]) == (22, 22)
    assert rule["remote_group_id"] is None and rule["description"] == "ssh"
    assert rule["project_id"] == alice.project_id
    assert alice.get(f"/security-group-rules/{rule['id']}").json()[
        "security_group_rule"] == rule
    listed = alice.get(f"/security-group-rules?security_group_id={group['id']}"
                       "&direction=ingress").json()["security_group_rules"]
    assert [r["id"] for r in listed] == [rule["id"]]
    shown = alice.get(f"/security-groups/{group['id']}").json()["security_group"]
    assert rule in shown["security_group_rules"]
    assert shown["revision_number"] == group["revision_number"] + 1
    assert alice.delete(f"/security-group-rules/{rule['id']}").status_code == 204
    gone = alice.get(f"/security-group-rules/{rule['id']}")
    assert gone.status_code == 404
    assert neutron_error(gone)["type"] == "SecurityGroupRuleNotFound"


@pytest.mark.parametrize("protocol, shown", [(17, "17"), ("6", "6"), ("icmp", "icmp"),
                                             ("any", None), (0, None)])
def test_protocols_by_name_or_number(alice, group, protocol, shown):
    response = _rule(alice, group, protocol=protocol)
    assert response.status_code == 201, response.text
    assert response.json()["security_group_rule"]["protocol"] == shown


@pytest.mark.parametrize("attributes, error, text", [
    ({"protocol": "bad_protocol_name"}, "SecurityGroupRuleInvalidProtocol", "not supported"),
    ({"protocol": 256}, "SecurityGroupRuleInvalidProtocol", "not supported"),
    ({"ethertype": "bad_ethertype"}, "SecurityGroupRuleInvalidEtherType", "not supported"),
    ({"direction": "sideways"}, "InvalidInput", "direction"),
    ({"protocol": "tcp", "port_range_min": -16, "port_range_max": 80},
     "SecurityGroupInvalidPortValue", "Invalid value for port -16"),
    ({"protocol": "tcp", "port_range_min": 80, "port_range_max": 79},
     "SecurityGroupInvalidPortRange", "port_range_min must be <= port_range_max"),
    ({"protocol": "tcp", "port_range_min": 80, "port_range_max": 65536},
     "SecurityGroupInvalidPortValue", "Invalid value for port 65536"),
    ({"protocol": "tcp", "port_range_max": 6},
     "SecurityGroupInvalidPortRange", "port_range_min must be <= port_range_max"),
    ({"protocol": "udp", "port_range_min": 0, "port_range_max": 10},
     "SecurityGroupInvalidPortValue", "Invalid value for port 0"),
    ({"protocol": "icmp", "port_range_min": 1, "port_range_max": 256},
     "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP code"),
    ({"protocol": "icmp", "port_range_min": 300, "port_range_max": 1},
     "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP type"),
    ({"protocol": "icmp", "port_range_max": 6},
     "SecurityGroupMissingIcmpType", "ICMP type (port-range-min) is missing"),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
     "SecurityGroupInvalidProtocolForPort", "Ports cannot be specified"),
    ({"port_range_min": 1, "port_range_max": 2},
     "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol"),
    ({"protocol": "ipv6-icmp", "ethertype": "IPv4"},
     "SecurityGroupEthertypeConflictWithProtocol", "Invalid ethertype IPv4"),
    ({"remote_ip_prefix": "2001:db8::/64"},
     "SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv4"),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
     "SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv6"),
    ({"remote_ip_prefix": "192.168.1.1/33"}, "InvalidInput", "remote_ip_prefix"),
    ({"remote_ip_prefix": "256"}, "InvalidInput", "remote_ip_prefix"),
    ({"bogus": 1}, "BadRequest", "Unrecognized attribute"),
])
def test_invalid_rules_are_400_and_change_nothing(alice, group, attributes, error, text):
    response = _rule(alice, group, **attributes)
    assert response.status_code == 400, response.text
    assert neutron_error(response)["type"] == error
    assert text in neutron_error(response)["message"]
    rules = alice.get(f"/security-groups/{group['id']}").json()["security_group"][
        "security_group_rules"]
    assert len(rules) == 2


def test_icmp_type_and_code_and_ipv6_icmp(alice, group):
    for icmp_type, code in ((3, 2), (8, 0), (11, None)):
        rule = _rule(alice, group, protocol="icmp", port_range_min=icmp_type,
                     port_range_max=code).json()["security_group_rule"]
        assert (rule["port_range_min"], rule["port_range_max"]) == (icmp_type, code)
    v6 = _rule(alice, group, protocol="ipv6-icmp", ethertype="IPv6", port_range_min=128)
    assert v6.status_code == 201
    # ICMP over IPv6 is ICMPv6: the same rule spelled the older way is a duplicate.
    again = _rule(alice, group, protocol="icmp", ethertype="IPv6", port_range_min=128)
    assert again.status_code == 409


def test_remote_group_and_prefix(alice, bob, group):
    other = alice.create("security_group", name="peers")
    rule = _rule(alice, group, protocol="udp", port_range_min=50, port_range_max=55,
                 remote_group_id=other["id"]).json()["security_group_rule"]
    assert rule["remote_group_id"] == other["id"] and rule["remote_ip_prefix"] is None
    both = _rule(alice, group, protocol="tcp", remote_group_id=other["id"],
                 remote_ip_prefix="10.0.0.0/24")
    assert both.status_code == 400
    assert neutron_error(both)["type"] == "SecurityGroupRemoteGroupAndRemoteIpPrefix"
    for missing in ("bad_group_id", "6a1d2c1e-0000-4000-8000-000000000000"):
        response = _rule(alice, group, protocol="tcp", remote_group_id=missing)
        assert response.status_code == 404
        assert neutron_error(response)["type"] == "SecurityGroupNotFound"
    # Another project's group is no remote group for alice.
    bobs = bob.create("security_group", name="bobs")
    assert _rule(alice, group, remote_group_id=bobs["id"]).status_code == 404


def test_duplicates_conflict_naming_the_existing_rule(alice, group):
    first = _rule(alice, group, protocol="tcp", port_range_min=66,
                  port_range_max=67).json()["security_group_rule"]
    again = _rule(alice, group, protocol="6", port_range_min=66, port_range_max=67,
                  description="other words")
    assert again.status_code == 409
    assert neutron_error(again)["type"] == "SecurityGroupRuleExists"
    assert neutron_error(again)["message"] == (
        f"Security group rule already exists. Rule id is {first['id']}.")
    # The default egress rules exist already, spelled either way.
    egress = _rule(alice, group, direction="egress", remote_ip_prefix="0.0.0.0/0")
    assert egress.status_code == 409
    bulk = alice.post("/security-group-rules", {"security_group_rules": [
        {"security_group_id": group["id"], "direction": "ingress", "protocol": "udp"},
        {"security_group_id": group["id"], "direction": "ingress", "protocol": "udp"}]})
    assert bulk.status_code == 409
    assert not alice.get(f"/security-group-rules?security_group_id={group['id']}"
                         "&protocol=udp").json()["security_group_rules"]


def test_rules_of_missing_or_foreign_groups(alice, bob, group):
    missing = alice.post("/security-group-rules", {"security_group_rule": {
        "security_group_id": "6a1d2c1e-0000-4000-8000-000000000000", "direction": "ingress"}})
    assert missing.status_code == 404
    assert neutron_error(missing)["type"] == "SecurityGroupNotFound"
    foreign = _rule(bob, group, protocol="tcp")
    assert foreign.status_code == 404
    # Nor may alice put a rule on bob's account.
    on_bob = _rule(alice, group, protocol="tcp", project_id=bob.project_id)
    assert on_bob.status_code == 403
    assert neutron_error(on_bob)["type"] == "PolicyNotAuthorized"
    rule = _rule(alice, group, protocol="tcp").json()["security_group_rule"]
    assert bob.get(f"/security-group-rules/{rule['id']}").status_code == 404
    assert bob.delete(f"/security-group-rules/{rule['id']}").status_code == 404
    assert rule["id"] not in {r["id"] for r in bob.get("/security-group-rules").json()[
        "security_group_rules"]}


def test_admin_adds_a_rule_to_a_projects_group(alice, admin, group):
    rule = admin.create("security_group_rule", security_group_id=group["id"],
                        direction="ingress", protocol="tcp")
    # The group's project sees and removes rules in its group, whoever made them.
    assert alice.get(f"/security-group-rules/{rule['id']}").status_code == 200
    assert alice.delete(f"/security-group-rules/{rule['id']}").status_code == 204


def test_bulk_create_and_rule_quota(alice, admin, group):
    created = alice.post("/security-group-rules", {"security_group_rules": [
        {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp"},
        {"security_group_id": group["id"], "direction": "ingress", "protocol": "udp"}]})
    assert created.status_code == 201
    assert len(created.json()["security_group_rules"]) == 2
    used = admin.get(f"/quotas/{alice.project_id}/details").json()["quota"][
        "security_group_rule"]["used"]
    admin.put(f"/quotas/{alice.project_id}", {"quota": {"security_group_rule": used}})
    over = _rule(alice, group, protocol="sctp")
    assert over.status_code == 409 and neutron_error(over)["type"] == "OverQuota"


def test_rules_cannot_be_updated(alice, group):
    rule = _rule(alice, group, protocol="tcp").json()["security_group_rule"]
    response = alice.put(f"/security-group-rules/{rule['id']}",
                         {"security_group_rule": {"description": "x"}})
    assert response.status_code == 405
