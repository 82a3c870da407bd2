"""Subnet pools: bounds, defaults, allocating subnets from them, updates and deletion."""

from __future__ import annotations

from tests.network.conftest import neutron_error


def test_create_with_neutron_defaults_and_bounds(alice):
    pool = alice.create("subnetpool", name="p", prefixes=["10.10.0.0/16"])
    assert pool["ip_version"] == 4 and pool["prefixes"] == ["10.10.0.0/16"]
    assert (pool["min_prefixlen"], pool["default_prefixlen"], pool["max_prefixlen"]) == \
        (8, 8, 32)
    assert pool["shared"] is False and pool["is_default"] is False
    v6 = alice.create("subnetpool", name="p6", prefixes=["fd00::/48"])
    assert (v6["min_prefixlen"], v6["max_prefixlen"]) == (64, 128)
    cases = [
        ({"prefixes": ["10.0.0.0/8", "fd00::/48"]}, "PrefixVersionMismatch"),
        ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "max_prefixlen": 16},
         "IllegalSubnetPoolPrefixBounds"),
        ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 16, "default_prefixlen": 8},
         "IllegalSubnetPoolPrefixBounds"),
        ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 40}, "IllegalSubnetPoolPrefixBounds"),
        ({"prefixes": ["bogus"]}, "InvalidInput"),
        ({"name": "no prefixes"}, "HTTPBadRequest"),
    ]
    for body, kind in cases:
        response = alice.post("/subnetpools", {"subnetpool": body})
        assert response.status_code == 400, (body, response.text)
        assert neutron_error(response)["type"] in (kind, "BadRequest"), (body, response.text)
    assert alice.post("/subnetpools", {"subnetpool": {"prefixes": ["10.0.0.0/8"],
                                                      "shared": True}}).status_code == 403


def test_subnets_take_the_first_free_prefix(alice):
    pool = alice.create("subnetpool", prefixes=["10.10.0.0/16"], default_prefixlen=24,
                        min_prefixlen=20, max_prefixlen=28)
    network = alice.create("network")

    def from_pool(**attributes):
        return alice.post("/subnets", {"subnet": {"network_id": network["id"], "ip_version": 4,
                                                  "subnetpool_id": pool["id"], **attributes}})

    first = from_pool()
    assert first.status_code == 201, first.text
    assert first.json()["subnet"]["cidr"] == "10.10.0.0/24"
    assert first.json()["subnet"]["subnetpool_id"] == pool["id"]
    assert from_pool(prefixlen=25).json()["subnet"]["cidr"] == "10.10.1.0/25"
    assert from_pool(cidr="10.10.4.0/24").json()["subnet"]["cidr"] == "10.10.4.0/24"
    assert from_pool().json()["subnet"]["cidr"] == "10.10.2.0/24"
    too_big = from_pool(prefixlen=16)
    assert too_big.status_code == 400
    assert neutron_error(too_big)["type"] == "MinPrefixSubnetAllocationError"
    too_small = from_pool(prefixlen=30)
    assert neutron_error(too_small)["type"] == "MaxPrefixSubnetAllocationError"
    outside = from_pool(cidr="10.99.0.0/24")
    assert outside.status_code == 409
    assert neutron_error(outside)["type"] == "SubnetAllocationError"
    small = alice.create("subnetpool", prefixes=["10.20.0.0/24"], default_prefixlen=25,
                         min_prefixlen=24)
    for _ in range(2):
        alice.create("subnet", network_id=alice.create("network")["id"], ip_version=4,
                     subnetpool_id=small["id"])
    full = alice.post("/subnets", {"subnet": {"network_id": network["id"], "ip_version": 4,
                                              "subnetpool_id": small["id"]}})
    assert full.status_code == 409 and neutron_error(full)["type"] == "SubnetAllocationError"


def test_default_pool_is_one_per_version_and_used_on_request(admin, alice):
    pool = admin.create("subnetpool", prefixes=["10.30.0.0/16"], is_default=True,
                        shared=True, default_prefixlen=26)
    second = admin.post("/subnetpools", {"subnetpool": {"prefixes": ["10.40.0.0/16"],
                                                        "is_default": True}})
    assert second.status_code == 400
    network = alice.create("network")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          use_default_subnetpool=True)
    assert subnet["cidr"] == "10.30.0.0/26" and subnet["subnetpool_id"] == pool["id"]
    missing = alice.post("/subnets", {"subnet": {"network_id": network["id"], "ip_version": 6,
                                                 "use_default_subnetpool": True}})
    assert missing.status_code == 400


def test_update_adds_prefixes_but_never_removes_and_delete_waits_for_subnets(alice, bob):
    pool = alice.create("subnetpool", prefixes=["10.50.0.0/24"], min_prefixlen=24)
    path = f"/subnetpools/{pool['id']}"
    grown = alice.put(path, {"subnetpool": {"prefixes": ["10.50.0.0/24", "10.60.0.0/24"],
                                            "name": "grown"}})
    assert grown.status_code == 200
    assert grown.json()["subnetpool"]["prefixes"] == ["10.50.0.0/24", "10.60.0.0/24"]
    shrunk = alice.put(path, {"subnetpool": {"prefixes": ["10.60.0.0/24"]}})
    assert shrunk.status_code == 400
    assert neutron_error(shrunk)["type"] == "IllegalSubnetPoolPrefixUpdate"
    assert bob.get(path).status_code == 404
    network = alice.create("network")
    subnet = alice.create("subnet", network_id=network["id"], ip_version=4,
                          subnetpool_id=pool["id"])
    busy = alice.delete(path)
    assert busy.status_code == 409 and neutron_error(busy)["type"] == "SubnetPoolInUse"
    alice.delete(f"/subnets/{subnet['id']}")
    assert alice.delete(path).status_code == 204
    assert alice.get(path).status_code == 404


def test_another_projects_pool_gives_no_subnet_but_a_shared_one_does(admin, alice, bob):
    private = alice.create("subnetpool", prefixes=["10.70.0.0/16"], default_prefixlen=24)
    network = bob.create("network")
    refused = bob.post("/subnets", {"subnet": {"network_id": network["id"], "ip_version": 4,
                                               "subnetpool_id": private["id"]}})
    assert refused.status_code == 404
    assert neutron_error(refused)["type"] == "SubnetPoolNotFound"
    assert bob.get(f"/subnets?network_id={network['id']}").json()["subnets"] == []
    shared = admin.create("subnetpool", prefixes=["10.80.0.0/16"], default_prefixlen=24,
                          shared=True)
    subnet = bob.create("subnet", network_id=network["id"], ip_version=4,
                        subnetpool_id=shared["id"])
    assert subnet["cidr"] == "10.80.0.0/24"


def test_an_integer_beyond_its_column_is_invalid_input(alice):
    pool = alice.create("subnetpool", name="q", prefixes=["10.11.0.0/16"])
    for value in (2**31, 2**63, 10**40, "9" * 400):
        response = alice.put(f"/subnetpools/{pool['id']}",
                             {"subnetpool": {"default_quota": value}})
        assert response.status_code == 400, (value, response.text)
        assert neutron_error(response)["message"].startswith(
            "Invalid input for default_quota. Reason:"), response.text
    assert alice.get(f"/subnetpools/{pool['id']}").json()["subnetpool"]["default_quota"] is None
