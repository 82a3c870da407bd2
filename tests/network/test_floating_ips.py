"""Floating IPs: allocation on an external network, association through a router."""

from __future__ import annotations

import ipaddress

import pytest

from stacklet.network.models import Quota
from tests.network.conftest import neutron_error
from tests.network.test_routers import external_network, private_subnet

PUBLIC = ipaddress.ip_network("172.24.4.0/24")


@pytest.fixture
def topology(alice, admin):
    """An external network, alice's subnet behind her router, and a port of hers on it."""
    network, public_subnet = external_network(admin)
    subnet = private_subnet(alice)
    router = alice.create("router", external_gateway_info={"network_id": network["id"]})
    alice.put(f"/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    port = alice.create("port", network_id=subnet["network_id"], name="vm")
    return {"network": network, "public_subnet": public_subnet, "subnet": subnet,
            "router": router, "port": port}


def test_allocate_associate_disassociate_release(alice, admin, topology):
    network, port = topology["network"], topology["port"]
    fip = alice.create("floatingip", floating_network_id=network["id"], description="web")
    assert fip["status"] == "DOWN" and fip["port_id"] is None and fip["router_id"] is None
    assert fip["fixed_ip_address"] is None and fip["port_details"] is None
    assert fip["project_id"] == alice.project_id and fip["description"] == "web"
    assert ipaddress.ip_address(fip["floating_ip_address"]) in PUBLIC
    [held] = admin.get(f"/ports?device_id={fip['id']}").json()["ports"]
    assert held["device_owner"] == "network:floatingip"
    assert held["fixed_ips"][0]["ip_address"] == fip["floating_ip_address"]

    associated = alice.put(f"/floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"]}})
    assert associated.status_code == 200, associated.text
    body = associated.json()["floatingip"]
    assert body["port_id"] == port["id"] and body["router_id"] == topology["router"]["id"]
    assert body["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    assert body["status"] == "ACTIVE"
    assert body["port_details"]["network_id"] == port["network_id"]
    assert body["port_details"]["mac_address"] == port["mac_address"]
    listed = alice.get(f"/floatingips?port_id={port['id']}").json()["floatingips"]
    assert [f["id"] for f in listed] == [fip["id"]]
    assert alice.get("/floatingips?status=DOWN").json()["floatingips"] == []

    # While mapped, the router's interface and gateway are needed.
    interface = alice.put(f"/routers/{topology['router']['id']}/remove_router_interface",
                          {"subnet_id": topology["subnet"]["id"]})
    assert interface.status_code == 409
    assert neutron_error(interface)["type"] == "RouterInterfaceInUseByFloatingIP"
    gateway = alice.put(f"/routers/{topology['router']['id']}",
                        {"router": {"external_gateway_info": None}})
    assert gateway.status_code == 409
    assert neutron_error(gateway)["type"] == "RouterExternalGatewayInUseByFloatingIp"

    released = alice.put(f"/floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
    body = released.json()["floatingip"]
    assert body["port_id"] is None and body["router_id"] is None and body["status"] == "DOWN"
    assert alice.delete(f"/floatingips/{fip['id']}").status_code == 204
    assert alice.get(f"/floatingips/{fip['id']}").status_code == 404
    assert admin.get(f"/ports?device_id={fip['id']}").json()["ports"] == []


def test_create_associated_and_one_floating_ip_per_fixed_address(alice, topology):
    network, port = topology["network"], topology["port"]
    fip = alice.create("floatingip", floating_network_id=network["id"], port_id=port["id"])
    assert fip["status"] == "ACTIVE" and fip["router_id"] == topology["router"]["id"]
    second = alice.post("/floatingips", {"floatingip": {"floating_network_id": network["id"],
                                                        "port_id": port["id"]}})
    assert second.status_code == 409
    assert neutron_error(second)["type"] == "FloatingIPPortAlreadyAssociated"
    assert len(alice.get("/floatingips").json()["floatingips"]) == 1
    wrong = alice.post("/floatingips", {"floatingip": {
        "floating_network_id": network["id"], "port_id": port["id"],
        "fixed_ip_address": "10.0.0.250"}})
    assert wrong.status_code == 400
    # Deleting the port unmaps its floating IP.
    assert alice.delete(f"/ports/{port['id']}").status_code == 204
    shown = alice.get(f"/floatingips/{fip['id']}").json()["floatingip"]
    assert shown["port_id"] is None and shown["status"] == "DOWN"


def test_floating_ip_refusals(alice, bob, admin, topology):
    network = topology["network"]
    private = topology["subnet"]["network_id"]
    not_external = alice.post("/floatingips", {"floatingip": {"floating_network_id": private}})
    assert not_external.status_code == 400
    assert "is not a valid external network" in neutron_error(not_external)["message"]
    missing = alice.post("/floatingips", {"floatingip": {
        "floating_network_id": topology["router"]["id"]}})
    assert missing.status_code == 404 and neutron_error(missing)["type"] == "NetworkNotFound"
    chosen = alice.post("/floatingips", {"floatingip": {"floating_network_id": network["id"],
                                                        "floating_ip_address": "172.24.4.99"}})
    assert chosen.status_code == 403
    # A subnet no router connects to the external network.
    unreachable = private_subnet(alice, "10.7.0.0/24")
    lonely = alice.create("port", network_id=unreachable["network_id"])
    response = alice.post("/floatingips", {"floatingip": {"floating_network_id": network["id"],
                                                          "port_id": lonely["id"]}})
    assert response.status_code == 404
    assert neutron_error(response)["type"] == "ExternalGatewayForFloatingIPNotFound"
    bobs = bob.create("floatingip", floating_network_id=network["id"])
    hidden = bob.put(f"/floatingips/{bobs['id']}",
                     {"floatingip": {"port_id": topology["port"]["id"]}})
    assert hidden.status_code == 404 and neutron_error(hidden)["type"] == "PortNotFound"
    assert alice.get(f"/floatingips/{bobs['id']}").status_code == 404
    assert alice.delete(f"/floatingips/{bobs['id']}").status_code == 404
    assert alice.get("/floatingips").json()["floatingips"] == []
    # Only an admin picks the address.
    picked = admin.create("floatingip", floating_network_id=network["id"],
                          floating_ip_address="172.24.4.99")
    assert picked["floating_ip_address"] == "172.24.4.99"
    taken = admin.post("/floatingips", {"floatingip": {"floating_network_id": network["id"],
                                                       "floating_ip_address": "172.24.4.99"}})
    assert taken.status_code == 409
    floating_port = admin.get(f"/ports?device_id={picked['id']}").json()["ports"][0]
    assert admin.delete(f"/ports/{floating_port['id']}").status_code == 409


def test_deleting_the_external_network_releases_its_floating_ips(alice, admin):
    network, _ = external_network(admin)
    fip = alice.create("floatingip", floating_network_id=network["id"])
    assert admin.delete(f"/networks/{network['id']}").status_code == 204
    assert alice.get(f"/floatingips/{fip['id']}").status_code == 404


def test_floating_ips_count_against_the_floatingip_quota(alice, admin, cloud):
    network, _ = external_network(admin)
    # The quotas API is another module's; the limit is set where it keeps them.
    with cloud.db.transaction() as session:
        session.add(Quota(project_id=alice.project_id, resource="floatingip", limit=1))
    alice.create("floatingip", floating_network_id=network["id"])
    over = alice.post("/floatingips", {"floatingip": {"floating_network_id": network["id"]}})
    assert over.status_code == 409 and neutron_error(over)["type"] == "OverQuota"
    assert len(alice.get("/floatingips").json()["floatingips"]) == 1
