"""Security groups: the default group, create/show/list/update/delete, and what
keeps a group from being renamed or deleted."""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.network.models import Network, Port, PortSecurityGroup
from tests.network.conftest import neutron_error


def _default_group(caller) -> dict:
    groups = caller.get("/security-groups?name=default").json()["security_groups"]
    return next(g for g in groups if g["project_id"] == caller.project_id)


def test_first_list_makes_the_projects_default_group_once(alice):
    groups = alice.get("/security-groups").json()["security_groups"]
    assert [g["name"] for g in groups] == ["default"]
    default = groups[0]
    assert default["project_id"] == alice.project_id == default["tenant_id"]
    rules = default["security_group_rules"]
    assert sorted((r["direction"], r["ethertype"], r["remote_group_id"]) for r in rules) == [
        ("egress", "IPv4", None), ("egress", "IPv6", None),
        ("ingress", "IPv4", default["id"]), ("ingress", "IPv6", default["id"])]
    again = alice.get("/security-groups").json()["security_groups"]
    assert [g["id"] for g in again] == [default["id"]]


def test_admin_listing_one_project_makes_its_default_group(admin, bob):
    listed = admin.get(f"/security-groups?project_id={bob.project_id}").json()[
        "security_groups"]
    assert [(g["name"], g["project_id"]) for g in listed] == [("default", bob.project_id)]
    assert bob.get("/security-groups").json()["security_groups"][0]["id"] == listed[0]["id"]


def test_show_of_a_new_group_and_its_default_egress_rules(alice):
    group = alice.create("security_group", name="web", description="front")
    assert group["stateful"] is True and group["shared"] is False
    assert group["tags"] == [] and group["revision_number"] == 0
    assert {"created_at", "updated_at"} <= set(group)
    assert sorted((r["direction"], r["ethertype"], r["protocol"], r["remote_ip_prefix"])
                  for r in group["security_group_rules"]) == [
        ("egress", "IPv4", None, None), ("egress", "IPv6", None, None)]
    shown = alice.get(f"/security-groups/{group['id']}").json()["security_group"]
    assert shown == group


def test_a_second_default_group_cannot_be_made_or_named(alice):
    refused = alice.post("/security-groups", {"security_group": {"name": "default"}})
    assert refused.status_code == 409
    assert neutron_error(refused)["type"] == "SecurityGroupDefaultAlreadyExists"
    group = alice.create("security_group", name="other")
    renamed = alice.put(f"/security-groups/{group['id']}",
                        {"security_group": {"name": "Default"}})
    assert renamed.status_code == 409
    assert alice.get(f"/security-groups/{group['id']}").json()["security_group"][
        "name"] == "other"


def test_default_group_cannot_be_renamed_or_deleted_by_its_project(alice, admin):
    default = _default_group(alice)
    renamed = alice.put(f"/security-groups/{default['id']}", {"security_group": {"name": "x"}})
    assert renamed.status_code == 409
    assert neutron_error(renamed)["type"] == "SecurityGroupCannotUpdateDefault"
    described = alice.put(f"/security-groups/{default['id']}",
                          {"security_group": {"description": "mine"}})
    assert described.status_code == 200
    assert described.json()["security_group"]["revision_number"] == 1
    deleted = alice.delete(f"/security-groups/{default['id']}")
    assert deleted.status_code == 409
    assert neutron_error(deleted)["type"] == "SecurityGroupCannotRemoveDefault"
    # An admin may, and the project gets a fresh one when it next looks.
    assert admin.delete(f"/security-groups/{default['id']}").status_code == 204
    assert _default_group(alice)["id"] != default["id"]


def test_other_projects_groups_are_invisible(alice, bob, admin):
    group = alice.create("security_group", name="private")
    for response in (bob.get(f"/security-groups/{group['id']}"),
                     bob.put(f"/security-groups/{group['id']}",
                             {"security_group": {"name": "x"}}),
                     bob.delete(f"/security-groups/{group['id']}")):
        assert response.status_code == 404
        assert neutron_error(response)["type"] == "SecurityGroupNotFound"
    assert group["id"] not in {g["id"] for g in bob.get("/security-groups").json()[
        "security_groups"]}
    assert admin.get(f"/security-groups/{group['id']}").status_code == 200


def test_group_used_by_a_port_cannot_be_deleted_or_made_stateless(api, alice):
    group = alice.create("security_group", name="in-use")
    with api.cloud.db.transaction() as session:
        network = Network(project_id=alice.project_id, name="n")
        session.add(network)
        session.flush()
        port = Port(project_id=alice.project_id, network_id=network.id,
                    mac_address="fa:16:3e:00:00:01")
        session.add(port)
        session.flush()
        session.add(PortSecurityGroup(port_id=port.id, security_group_id=group["id"]))
    refused = alice.delete(f"/security-groups/{group['id']}")
    assert refused.status_code == 409
    assert neutron_error(refused)["type"] == "SecurityGroupInUse"
    stateless = alice.put(f"/security-groups/{group['id']}",
                          {"security_group": {"stateful": False}})
    assert stateless.status_code == 409
    with api.cloud.db.transaction() as session:
        session.execute(sa.delete(PortSecurityGroup))
    assert alice.put(f"/security-groups/{group['id']}",
                     {"security_group": {"stateful": False}}).json()[
        "security_group"]["stateful"] is False
    assert alice.delete(f"/security-groups/{group['id']}").status_code == 204
    gone = alice.get(f"/security-groups/{group['id']}")
    assert gone.status_code == 404 and neutron_error(gone)["type"] == "SecurityGroupNotFound"


def test_deleting_a_group_drops_rules_that_name_it_as_remote(alice):
    target = alice.create("security_group", name="target")
    source = alice.create("security_group", name="source")
    rule = alice.create("security_group_rule", security_group_id=source["id"],
                        direction="ingress", remote_group_id=target["id"])
    assert alice.delete(f"/security-groups/{target['id']}").status_code == 204
    assert alice.get(f"/security-group-rules/{rule['id']}").status_code == 404
    rules = alice.get(f"/security-groups/{source['id']}").json()["security_group"][
        "security_group_rules"]
    assert rule["id"] not in {r["id"] for r in rules}


def test_bad_input_is_refused_and_changes_nothing(alice):
    before = len(alice.get("/security-groups").json()["security_groups"])
    for body in ({"security_group": {"stateful": "maybe"}},
                 {"security_group": {"name": "x" * 256}},
                 {"security_group": {"bogus": 1}}, {"group": {}}):
        response = alice.post("/security-groups", body)
        assert response.status_code == 400, body
    failed = alice.post("/security-groups", {"security_groups": [{"name": "ok"},
                                                                 {"name": "default"}]})
    assert failed.status_code == 409
    assert len(alice.get("/security-groups").json()["security_groups"]) == before


def test_bulk_create_filters_sorting_and_tags(alice):
    created = alice.post("/security-groups", {"security_groups": [
        {"name": "b", "tags": ["x"]}, {"name": "a", "stateful": False}]})
    assert created.status_code == 201
    assert [g["name"] for g in created.json()["security_groups"]] == ["b", "a"]
    names = [g["name"] for g in alice.get("/security-groups?sort_key=name&sort_dir=asc")
             .json()["security_groups"]]
    assert names == ["a", "b", "default"]
    stateless = alice.get("/security-groups?stateful=false").json()["security_groups"]
    assert [g["name"] for g in stateless] == ["a"]
    assert [g["name"] for g in alice.get("/security-groups?tags=x").json()[
        "security_groups"]] == ["b"]
    assert alice.get("/security-groups?shared=true").json()["security_groups"] == []
    only = alice.get("/security-groups?name=a&fields=id&fields=name").json()["security_groups"]
    assert len(only) == 1 and set(only[0]) == {"id", "name"}
    assert alice.get("/security-groups?nonsense=1").status_code == 400


def test_security_group_quota(alice, admin):
    assert admin.put(f"/quotas/{alice.project_id}",
                     {"quota": {"security_group": 2}}).status_code == 200
    alice.get("/security-groups")   # the default group counts
    alice.create("security_group", name="one")
    over = alice.post("/security-groups", {"security_group": {"name": "two"}})
    assert over.status_code == 409 and neutron_error(over)["type"] == "OverQuota"
