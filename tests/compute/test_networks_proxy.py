"""os-networks and os-tenant-networks (until 2.35): the network service's
networks as Nova shows them."""

from __future__ import annotations

import pytest

from stacklet.compute.network import NoNetworks

NET_ID = "6bd3b0c9-3c8c-4e33-a8b0-ec3ef1a0f0c1"


@pytest.fixture
def config_overrides() -> dict:
    return {("compute", "run_services"): False}


class OneNetwork(NoNetworks):
    def networks(self, ctx) -> list[dict]:
        return [{"id": NET_ID, "name": "private", "cidr": "10.0.0.0/24", "cidr_v6": None,
                 "project_id": ctx.project_id}]


def test_without_a_network_service(admin, alice):
    for path in ("/os-networks", "/os-tenant-networks"):
        assert alice.get(path).json() == {"networks": []}
        missing = alice.get(f"{path}/{NET_ID}")
        assert missing.status_code == 404
        assert missing.json()["itemNotFound"]["message"] == "Network not found"
        assert alice.get(path, "2.36").status_code == 404
        assert admin.get(path, "2.35").status_code == 200


def test_networks_of_the_port_provider(api, admin, alice, monkeypatch):
    monkeypatch.setattr(api.cloud, "ports", OneNetwork())
    tenant = alice.get(f"/os-tenant-networks/{NET_ID}").json()["network"]
    assert tenant == {"id": NET_ID, "cidr": "10.0.0.0/24", "label": "private"}
    seen = alice.get("/os-networks").json()["networks"][0]
    assert seen["label"] == "private" and seen["cidr"] == "10.0.0.0/24"
    assert "project_id" not in seen
    shown = admin.get(f"/os-networks/{NET_ID}").json()["network"]
    assert shown["project_id"] == admin.project_id and shown["id"] == NET_ID
