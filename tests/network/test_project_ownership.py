"""Whose a new resource is: the caller's project, or any project when an admin
says so.  A member who names another project in ``project_id`` or
``tenant_id`` is refused whatever the resource, as Neutron's create rules
refuse it, and nothing is charged to the project they named."""

from __future__ import annotations

import pytest

from tests.network.conftest import neutron_error
from tests.network.test_routers import external_network, private_subnet

RESOURCES = ["network", "subnet", "subnetpool", "port", "security_group",
             "security_group_rule", "router", "floatingip"]
COLLECTIONS = {"security_group": "security-groups",
               "security_group_rule": "security-group-rules",
               "floatingip": "floatingips"}


@pytest.fixture
def bodies(admin, bob) -> dict[str, dict]:
    """A body of each resource that bob may create in his own project."""
    public, _ = external_network(admin)
    subnet = private_subnet(bob)
    group = bob.create("security_group", name="web")
    return {
        "network": {"name": "n"},
        "subnet": {"network_id": subnet["network_id"], "ip_version": 4,
                   "cidr": "10.1.0.0/24"},
        "subnetpool": {"name": "pool", "prefixes": ["10.100.0.0/16"],
                       "default_prefixlen": 24},
        "port": {"network_id": subnet["network_id"]},
        "security_group": {"name": "db"},
        "security_group_rule": {"security_group_id": group["id"], "direction": "ingress",
                                "protocol": "tcp", "port_range_min": 22,
                                "port_range_max": 22},
        "router": {"name": "r"},
        "floatingip": {"floating_network_id": public["id"]},
    }


def _used(admin, project_id: str) -> dict[str, int]:
    details = admin.get(f"/quotas/{project_id}/details").json()["quota"]
    return {resource: usage["used"] for resource, usage in details.items()}


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("key", ["project_id", "tenant_id"])
def test_a_member_creates_only_in_their_own_project(admin, alice, bob, bodies, resource,
                                                    key):
    collection = COLLECTIONS.get(resource, resource + "s")
    before = _used(admin, alice.project_id)
    body = {**bodies[resource], key: alice.project_id}

    one = bob.post(f"/{collection}", {resource: body})
    assert one.status_code == 403, one.text
    assert neutron_error(one) == {"type": "PolicyNotAuthorized", "detail": "",
                                  "message": f"rule:create_{resource} is disallowed by "
                                             "policy"}
    bulk = bob.post(f"/{collection}", {collection.replace("-", "_"): [body]})
    assert bulk.status_code == 403, bulk.text
    assert _used(admin, alice.project_id) == before

    # Naming their own project is naming no other.
    own = bob.post(f"/{collection}", {resource: {**bodies[resource], key: bob.project_id}})
    assert own.status_code == 201, own.text
    assert own.json()[resource]["project_id"] == bob.project_id


@pytest.mark.parametrize("resource", ["network", "security_group", "router"])
def test_an_admin_creates_for_any_project(admin, alice, resource):
    collection = COLLECTIONS.get(resource, resource + "s")
    made = admin.post(f"/{collection}", {resource: {"name": "for-alice",
                                                    "project_id": alice.project_id}})
    assert made.status_code == 201, made.text
    assert made.json()[resource]["project_id"] == alice.project_id


def test_a_member_puts_ports_and_subnets_only_on_own_or_shared_networks(admin, bob):
    public, _ = external_network(admin)
    port = bob.post("/ports", {"port": {"network_id": public["id"]}})
    assert port.status_code == 404, port.text
    assert neutron_error(port)["type"] == "NetworkNotFound"
    subnet = bob.post("/subnets", {"subnet": {"network_id": public["id"], "ip_version": 4,
                                              "cidr": "10.77.0.0/24"}})
    assert subnet.status_code == 404, subnet.text
    assert _used(admin, bob.project_id)["port"] == 0
    # On a shared network, and for an admin, as before.
    shared = admin.create("network", shared=True)
    admin.create("subnet", network_id=shared["id"], ip_version=4, cidr="10.9.0.0/24")
    assert bob.post("/ports", {"port": {"network_id": shared["id"]}}).status_code == 201
    assert admin.post("/ports", {"port": {"network_id": public["id"],
                                          "project_id": bob.project_id}}).status_code == 201
