"""os-networks and os-tenant-networks (until 2.35): the network service's
networks as Nova shows them."""

from __future__ import annotations

import pytest

from tests.compute.test_network_integration import make_network, network_of

MISSING_ID = "6bd3b0c9-3c8c-4e33-a8b0-ec3ef1a0f0c1"


@pytest.fixture
def config_overrides() -> dict:
    return {("compute", "run_services"): False}


def test_no_networks_yet(admin, alice):
    for path in ("/os-networks", "/os-tenant-networks"):
        assert alice.get(path).json() == {"networks": []}
        missing = alice.get(f"{path}/{MISSING_ID}")
        assert missing.status_code == 404
        assert missing.json()["itemNotFound"]["message"] == "Network not found"
        assert alice.get(path, "2.36").status_code == 404
        assert admin.get(path, "2.35").status_code == 200


def test_networks_of_the_network_service(admin, alice, bob):
    private = make_network(network_of(alice), "private")
    tenant = alice.get(f"/os-tenant-networks/{private['id']}").json()["network"]
    assert tenant == {"id": private["id"], "cidr": "10.0.0.0/24", "label": "private"}
    seen = alice.get("/os-networks").json()["networks"][0]
    assert seen["label"] == "private" and seen["cidr"] == "10.0.0.0/24"
    assert "project_id" not in seen
    shown = admin.get(f"/os-networks/{private['id']}").json()["network"]
    assert shown["project_id"] == alice.project_id and shown["id"] == private["id"]
    assert bob.get(f"/os-networks/{private['id']}").status_code == 404
