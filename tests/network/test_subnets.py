"""Subnets: CIDRs, gateways, allocation pools, routes, name servers, IPv6 modes,
updates, deletion and visibility."""

from __future__ import annotations

from tests.network.conftest import neutron_error


def subnet_body(network_id: str, **attributes) -> dict:
    return {"subnet": {"network_id": network_id, "ip_version": 4, "cidr": "10.0.0.0/24",
                       **attributes}}


def test_defaults_follow_neutron(alice):
    network = alice.create("network")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.0.0.0/24", name="s1")
    assert subnet["gateway_ip"] == "10.0.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert subnet["enable_dhcp"] is True and subnet["dns_nameservers"] == []
    assert subnet["host_routes"] == [] and subnet["subnetpool_id"] is None
    assert subnet["ipv6_ra_mode"] is None and subnet["ipv6_address_mode"] is None
    assert subnet["service_types"] == [] and subnet["tags"] == []
    assert subnet["project_id"] == alice.project_id and subnet["revision_number"] == 0
    assert "dns_publish_fixed_ip" in subnet
    assert alice.get(f"/networks/{network['id']}").json()["network"]["subnets"] == \
        [subnet["id"]]
    v6 = alice.create("subnet", network_id=network["id"], ip_version=6, cidr="fd00::/64")
    assert v6["gateway_ip"] == "fd00::1"
    assert v6["allocation_pools"] == [{"start": "fd00::2", "end": "fd00::ffff:ffff:ffff:ffff"}]


def test_gateway_choices_split_the_default_pool(alice):
    network = alice.create("network")
    middle = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.0.0.0/28", gateway_ip="10.0.0.5")
    assert middle["allocation_pools"] == [{"start": "10.0.0.1", "end": "10.0.0.4"},
                                          {"start": "10.0.0.6", "end": "10.0.0.14"}]
    other = alice.create("network")
    none = alice.create("subnet", network_id=other["id"], ip_version=4,
                        cidr="10.0.0.0/28", gateway_ip=None)
    assert none["gateway_ip"] is None
    assert none["allocation_pools"] == [{"start": "10.0.0.1", "end": "10.0.0.14"}]


def test_invalid_subnets_are_refused_with_neutron_types(alice):
    network = alice.create("network")
    alice.create("subnet", network_id=network["id"], ip_version=4, cidr="10.0.0.0/24")
    net = network["id"]
    cases = [
        (subnet_body(net, cidr="10.0.0.128/25"), 400, "InvalidInput"),
        (subnet_body(net, cidr="10.1.0.0/24", ip_version=6), 400, "InvalidInput"),
        (subnet_body(net, cidr="10.1.0.1/24"), 400, "InvalidInput"),
        (subnet_body(net, cidr="bogus"), 400, "InvalidInput"),
        (subnet_body(net, cidr="10.1.0.0/24", gateway_ip="10.2.0.1"), 400, "InvalidInput"),
        (subnet_body(net, cidr="10.1.0.0/24", allocation_pools=[
            {"start": "10.1.0.20", "end": "10.1.0.10"}]), 400, "InvalidAllocationPool"),
        (subnet_body(net, cidr="10.1.0.0/24", allocation_pools=[
            {"start": "10.1.0.2", "end": "10.1.1.10"}]), 400, "OutOfBoundsAllocationPool"),
        (subnet_body(net, cidr="10.1.0.0/24", allocation_pools=[
            {"start": "10.1.0.2", "end": "10.1.0.10"},
            {"start": "10.1.0.10", "end": "10.1.0.20"}]), 409, "OverlappingAllocationPools"),
        (subnet_body(net, cidr="10.1.0.0/24", allocation_pools=[
            {"start": "10.1.0.1", "end": "10.1.0.10"}]),
         409, "GatewayConflictWithAllocationPools"),
        (subnet_body(net, cidr="10.1.0.0/24", dns_nameservers=["8.8.8.8", "8.8.8.8"]),
         400, "InvalidInput"),
        (subnet_body(net, cidr="10.1.0.0/24", host_routes=[{"destination": "x"}]),
         400, "InvalidInput"),
        (subnet_body(net, cidr="10.1.0.0/24", ipv6_ra_mode="slaac"), 400, "InvalidInput"),
        (subnet_body(net, cidr="fd00::/64", ip_version=6, ipv6_ra_mode="slaac",
                     ipv6_address_mode="dhcpv6-stateful"), 400, "InvalidInput"),
        (subnet_body(net, cidr="fd00::/80", ip_version=6, ipv6_address_mode="slaac"),
         400, "InvalidInput"),
        ({"subnet": {"network_id": net, "ip_version": 4}}, 400, "BadRequest"),
        (subnet_body(net, cidr="10.1.0.0/24",
                     dns_nameservers=[f"10.9.9.{n}" for n in range(6)]),
         400, "DNSNameServersExhausted"),
        (subnet_body(net, cidr="10.1.0.0/24", host_routes=[
            {"destination": f"10.{n}.0.0/16", "nexthop": "10.1.0.9"} for n in range(21)]),
         400, "HostRoutesExhausted"),
        (subnet_body("8d3f1b8e-0000-4000-8000-000000000000"), 404, "NetworkNotFound"),
    ]
    for body, status, kind in cases:
        response = alice.post("/subnets", body)
        assert response.status_code == status, (body, response.text)
        assert neutron_error(response)["type"] == kind, (body, response.text)
    overlap = alice.post("/subnets", subnet_body(net, cidr="10.0.0.0/16"))
    assert "overlaps with another subnet" in neutron_error(overlap)["message"]
    assert len(alice.get("/subnets").json()["subnets"]) == 1
    # The same CIDR on another network is fine.
    other = alice.create("network")
    alice.create("subnet", network_id=other["id"], ip_version=4, cidr="10.0.0.0/24")


def test_routes_name_servers_and_modes_are_kept(alice):
    network = alice.create("network")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.0.0.0/24", dns_nameservers=["9.9.9.9", "1.1.1.1"],
                          host_routes=[{"destination": "10.5.0.0/16", "nexthop": "10.0.0.9"}],
                          enable_dhcp=False)
    assert subnet["dns_nameservers"] == ["9.9.9.9", "1.1.1.1"]
    assert subnet["host_routes"] == [{"destination": "10.5.0.0/16", "nexthop": "10.0.0.9"}]
    assert subnet["enable_dhcp"] is False
    v6 = alice.create("subnet", network_id=network["id"], ip_version=6, cidr="fd00::/64",
                      ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    assert (v6["ipv6_ra_mode"], v6["ipv6_address_mode"]) == ("slaac", "slaac")


def test_update_pools_gateway_and_the_rest(alice):
    network = alice.create("network")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.0.0.0/24")
    port = alice.create("port", network_id=network["id"])
    assert port["fixed_ips"][0]["ip_address"] == "10.0.0.2"
    alice.create("port", network_id=network["id"], fixed_ips=[{"ip_address": "10.0.0.100"}])
    path = f"/subnets/{subnet['id']}"
    updated = alice.put(path, {"subnet": {
        "name": "renamed", "allocation_pools": [{"start": "10.0.0.100", "end": "10.0.0.110"}],
        "dns_nameservers": ["8.8.4.4"], "enable_dhcp": False,
        "host_routes": [{"destination": "0.0.0.0/0", "nexthop": "10.0.0.254"}]}})
    assert updated.status_code == 200, updated.text
    view = updated.json()["subnet"]
    assert view["allocation_pools"] == [{"start": "10.0.0.100", "end": "10.0.0.110"}]
    assert view["name"] == "renamed" and view["revision_number"] == 1
    assert view["dns_nameservers"] == ["8.8.4.4"] and view["enable_dhcp"] is False
    # New addresses come from the new pool, skipping those ports hold already.
    assert alice.create("port", network_id=network["id"])["fixed_ips"][0]["ip_address"] \
        == "10.0.0.101"
    conflict = alice.put(path, {"subnet": {"gateway_ip": "10.0.0.105"}})
    assert conflict.status_code == 409
    assert neutron_error(conflict)["type"] == "GatewayConflictWithAllocationPools"
    moved = alice.put(path, {"subnet": {"gateway_ip": "10.0.0.254"}})
    assert moved.json()["subnet"]["gateway_ip"] == "10.0.0.254"
    readonly = alice.put(path, {"subnet": {"cidr": "10.9.0.0/24"}})
    assert readonly.status_code == 400


def test_delete_refuses_while_ports_hold_addresses(alice, admin):
    network = alice.create("network")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          cidr="10.0.0.0/24")
    dhcp = admin.create("port", network_id=network["id"], device_owner="network:dhcp")
    port = alice.create("port", network_id=network["id"])
    busy = alice.delete(f"/subnets/{subnet['id']}")
    assert busy.status_code == 409 and neutron_error(busy)["type"] == "SubnetInUse"
    alice.delete(f"/ports/{port['id']}")
    assert alice.delete(f"/subnets/{subnet['id']}").status_code == 204
    assert admin.get(f"/ports/{dhcp['id']}").json()["port"]["fixed_ips"] == []
    assert alice.get(f"/networks/{network['id']}").json()["network"]["subnets"] == []


def test_visibility_follows_the_network(alice, bob, admin):
    private = alice.create("network")
    subnet = alice.create("subnet", network_id=private["id"], ip_version=4,
                          cidr="10.0.0.0/24")
    assert bob.get(f"/subnets/{subnet['id']}").status_code == 404
    assert bob.post("/subnets", subnet_body(private["id"], cidr="10.3.0.0/24")) \
        .status_code == 404
    shared = admin.create("network", shared=True)
    shared_subnet = admin.create("subnet", network_id=shared["id"], ip_version=4,
                                 cidr="10.8.0.0/24")
    assert bob.get(f"/subnets/{shared_subnet['id']}").status_code == 200
    listed = {s["id"] for s in bob.get("/subnets").json()["subnets"]}
    assert shared_subnet["id"] in listed and subnet["id"] not in listed
    added = bob.post("/subnets", subnet_body(shared["id"], cidr="10.4.0.0/24"))
    assert added.status_code == 403
    refused = bob.put(f"/subnets/{shared_subnet['id']}", {"subnet": {"name": "x"}})
    assert refused.status_code == 403
    assert neutron_error(refused)["type"] == "PolicyNotAuthorized"


def test_bulk_create_and_filters(alice):
    network = alice.create("network")
    created = alice.post("/subnets", {"subnets": [
        {"network_id": network["id"], "ip_version": 4, "cidr": "10.0.0.0/24"},
        {"network_id": network["id"], "ip_version": 6, "cidr": "fd00::/64"}]})
    assert created.status_code == 201
    assert [s["ip_version"] for s in created.json()["subnets"]] == [4, 6]
    only_v6 = alice.get(f"/subnets?network_id={network['id']}&ip_version=6").json()
    assert [s["cidr"] for s in only_v6["subnets"]] == ["fd00::/64"]
    failed = alice.post("/subnets", {"subnets": [
        {"network_id": network["id"], "ip_version": 4, "cidr": "10.1.0.0/24"},
        {"network_id": network["id"], "ip_version": 4, "cidr": "10.1.0.0/25"}]})
    assert failed.status_code == 400
    assert len(alice.get("/subnets").json()["subnets"]) == 2


def test_automatic_address_subnets_are_deleted_under_their_ports(alice):
    network = alice.create("network")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=6, cidr="fd00::/64",
                          ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    port = alice.create("port", network_id=network["id"])
    assert port["fixed_ips"][0]["subnet_id"] == subnet["id"]
    assert alice.delete(f"/subnets/{subnet['id']}").status_code == 204
    assert alice.get(f"/ports/{port['id']}").json()["port"]["fixed_ips"] == []
    busy = alice.delete(f"/networks/{network['id']}")
    assert busy.status_code == 409
    assert "There are one or more ports still in use on the network" in \
        neutron_error(busy)["message"]
