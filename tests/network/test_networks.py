"""Networks: create, show, list, update, delete, provider attributes and visibility."""

from __future__ import annotations

from tests.network.conftest import neutron_error


def test_discovery_lists_v2_and_the_catalog_names_network(api):
    versions = api.client.get("/network/").json()["versions"]
    assert [v["id"] for v in versions] == ["v2.0"]
    assert versions[0]["links"][0]["href"].endswith("/network/v2.0/")


def test_extensions_list_the_aliases_clients_check(alice):
    aliases = {e["alias"] for e in alice.get("/extensions").json()["extensions"]}
    assert {"router", "external-net", "security-group", "quotas", "provider",
            "standard-attr-tag", "binding", "port-security"} <= aliases
    assert alice.get("/extensions/router").json()["extension"]["alias"] == "router"
    missing = alice.get("/extensions/no-such-thing")
    assert missing.status_code == 404
    assert neutron_error(missing)["type"] == "ExtensionNotFound"


def test_project_network_gets_a_vxlan_segment_and_a_smaller_mtu(alice, admin):
    network = alice.create("network", name="net1")
    assert network["status"] == "ACTIVE" and network["admin_state_up"] is True
    assert network["project_id"] == alice.project_id == network["tenant_id"]
    assert network["mtu"] == 1450 and network["subnets"] == []
    # Provider attributes are the admin's to see.
    assert "provider:network_type" not in network
    seen = admin.get(f"/networks/{network['id']}").json()["network"]
    assert seen["provider:network_type"] == "vxlan"
    assert 1 <= seen["provider:segmentation_id"] <= 1000
    other = alice.create("network", name="net2")
    other_segment = admin.get(f"/networks/{other['id']}").json()["network"]
    assert other_segment["provider:segmentation_id"] != seen["provider:segmentation_id"]


def test_admin_sets_provider_attributes_and_duplicates_conflict(admin, alice):
    vlan = admin.create("network", **{"provider:network_type": "vlan",
                                      "provider:physical_network": "physnet1",
                                      "provider:segmentation_id": 1500})
    assert vlan["mtu"] == 1500 and vlan["provider:segmentation_id"] == 1500
    again = admin.post("/networks", {"network": {"provider:network_type": "vlan",
                                                 "provider:physical_network": "physnet1",
                                                 "provider:segmentation_id": 1500}})
    assert again.status_code == 409
    bad = admin.post("/networks", {"network": {"provider:network_type": "vlan",
                                               "provider:physical_network": "physnet1",
                                               "provider:segmentation_id": 5000}})
    assert bad.status_code == 400 and neutron_error(bad)["type"] == "InvalidInput"
    refused = alice.post("/networks", {"network": {"provider:network_type": "flat",
                                                   "provider:physical_network": "physnet1"}})
    assert refused.status_code == 403
    assert neutron_error(refused)["type"] == "PolicyNotAuthorized"


def test_bad_input_is_a_400_that_changes_nothing(alice):
    before = len(alice.get("/networks").json()["networks"])
    for body in ({"network": {"admin_state_up": "maybe"}}, {"network": {"bogus": 1}},
                 {"net": {}}, {"network": {"name": "x" * 256}}):
        response = alice.post("/networks", body)
        assert response.status_code == 400, body
        assert set(neutron_error(response)) == {"type", "message", "detail"}
    assert len(alice.get("/networks").json()["networks"]) == before


def test_other_projects_networks_are_invisible_unless_shared(alice, bob, admin):
    private = alice.create("network", name="private")
    assert bob.get(f"/networks/{private['id']}").status_code == 404
    assert bob.put(f"/networks/{private['id']}", {"network": {"name": "x"}}).status_code == 404
    shared = admin.create("network", name="shared", shared=True)
    assert bob.get(f"/networks/{shared['id']}").status_code == 200
    names = {n["name"] for n in bob.get("/networks").json()["networks"]}
    assert "shared" in names and "private" not in names
    # Seeing a shared network is not owning it.
    assert bob.delete(f"/networks/{shared['id']}").status_code == 403


def test_update_bumps_revision_and_if_match_guards_it(alice):
    network = alice.create("network", name="before")
    updated = alice.put(f"/networks/{network['id']}", {"network": {"name": "after"}})
    assert updated.status_code == 200
    assert updated.json()["network"]["revision_number"] == network["revision_number"] + 1
    stale = alice.put(f"/networks/{network['id']}", {"network": {"name": "again"}},
                      headers={"If-Match": f"revision_number={network['revision_number']}"})
    assert stale.status_code == 412
    assert alice.put(f"/networks/{network['id']}",
                     {"network": {"id": "x"}}).status_code == 400


def test_list_filters_fields_sorting_and_pages(alice):
    for name in ("c", "a", "b"):
        alice.create("network", name=name, tags=[f"t-{name}", "all"])
    names = [n["name"] for n in alice.get("/networks?sort_key=name&sort_dir=desc")
             .json()["networks"]]
    assert names == ["c", "b", "a"]
    only = alice.get("/networks?name=a&fields=id&fields=name").json()["networks"]
    assert len(only) == 1 and set(only[0]) == {"id", "name"}
    assert [n["name"] for n in alice.get("/networks?tags=t-b").json()["networks"]] == ["b"]
    assert len(alice.get("/networks?not-tags-any=t-a,t-b").json()["networks"]) == 1
    first = alice.get("/networks?sort_key=name&limit=2").json()
    assert [n["name"] for n in first["networks"]] == ["a", "b"]
    next_link = [link for link in first["networks_links"] if link["rel"] == "next"][0]
    path = next_link["href"].split("/network/v2.0", 1)[1]
    second = alice.get(path).json()
    assert [n["name"] for n in second["networks"]] == ["c"]
    assert alice.get("/networks?no_such_attribute=1").status_code == 400


def test_bulk_create_is_all_or_nothing(alice):
    created = alice.post("/networks", {"networks": [{"name": "b1"}, {"name": "b2"}]})
    assert created.status_code == 201
    assert [n["name"] for n in created.json()["networks"]] == ["b1", "b2"]
    failed = alice.post("/networks", {"networks": [{"name": "b3"}, {"bogus": True}]})
    assert failed.status_code == 400
    assert not alice.get("/networks?name=b3").json()["networks"]


def test_delete_removes_the_network(alice):
    network = alice.create("network")
    assert alice.delete(f"/networks/{network['id']}").status_code == 204
    missing = alice.get(f"/networks/{network['id']}")
    assert missing.status_code == 404
    assert neutron_error(missing)["type"] == "NetworkNotFound"
