"""Which ports are a server's: those compute plugged into it, and those of the
server's project that name it as their device.  Another project's port cannot
name the server through the network API (Neutron's DeviceIDNotOwnedByTenant),
and one that names it anyway (an admin set it through the port API) is no NIC
of the server: not in its addresses, os-interface, security groups or
network_data.json, nor in the guest the QEMU driver starts."""

from __future__ import annotations

import json

import pytest

from stacklet.compute.metadata import documents_for
from tests.compute.conftest import Compute
from tests.compute.helpers import active_image, boot_active, wait_for_status
from tests.compute.test_network_integration import make_network, network_of
from tests.network.conftest import neutron_error


@pytest.fixture
def image_id(api, alice) -> str:
    return active_image(api, alice.token)


@pytest.fixture
def victim(alice, image_id) -> dict:
    """Alice's server on her network."""
    private = make_network(network_of(alice), "private")
    return boot_active(alice, image_id, networks=[{"uuid": private["id"]}])


@pytest.fixture
def bobs_network(bob) -> dict:
    return make_network(network_of(bob), "bobs", "10.5.0.0/24")


def what_the_server_has(api, compute: Compute, server_id: str) -> dict:
    """The server's NICs as its owner, the compute API and its guest see them."""
    server = compute.get(f"/servers/{server_id}").json()["server"]
    interfaces = compute.get(f"/servers/{server_id}/os-interface").json()
    groups = compute.get(f"/servers/{server_id}/os-security-groups").json()
    with api.cloud.db.session() as session:
        _, network_data = documents_for(session, server_id).lookup(
            "/openstack/latest/network_data.json")
    return {"addresses": server["addresses"],
            "interfaces": interfaces["interfaceAttachments"],
            "security_groups": sorted(group["id"] for group in groups["security_groups"]),
            "network_data": json.loads(network_data),
            "guest_ports": api.cloud.ports.interfaces(server_id)}


def test_another_project_cannot_name_a_server_as_its_ports_device(api, alice, bob, victim,
                                                                   bobs_network):
    before = what_the_server_has(api, alice, victim["id"])
    net = network_of(bob)
    claim = {"device_id": victim["id"], "device_owner": "compute:nova"}
    message = (f"The following device_id {victim['id']} is not owned by your tenant or "
               "matches another tenants router.")

    created = net.post("/ports", {"port": {"network_id": bobs_network["id"], **claim}})
    assert created.status_code == 409, created.text
    assert neutron_error(created) == {"type": "DeviceIDNotOwnedByTenant",
                                      "message": message, "detail": ""}

    port = net.create("port", network_id=bobs_network["id"])
    updated = net.put(f"/ports/{port['id']}", {"port": claim})
    assert updated.status_code == 409, updated.text
    assert neutron_error(updated)["type"] == "DeviceIDNotOwnedByTenant"
    # Nor in two steps: the device first, its owner after.
    assert net.put(f"/ports/{port['id']}",
                   {"port": {"device_id": victim["id"]}}).status_code == 200
    owner = net.put(f"/ports/{port['id']}", {"port": {"device_owner": "compute:nova"}})
    assert owner.status_code == 409, owner.text
    assert net.get(f"/ports/{port['id']}").json()["port"]["device_owner"] == ""

    assert what_the_server_has(api, alice, victim["id"]) == before


def test_compute_ignores_another_projects_port_naming_the_server(api, admin, alice, bob,
                                                                 victim, bobs_network):
    before = what_the_server_has(api, alice, victim["id"])
    port = network_of(bob).create("port", network_id=bobs_network["id"])
    # An admin may set any device through the port API (as Nova itself does);
    # this is not compute plugging the port in.
    set_by_admin = network_of(admin).put(f"/ports/{port['id']}", {"port": {
        "device_id": victim["id"], "device_owner": "compute:nova"}})
    assert set_by_admin.status_code == 200, set_by_admin.text

    assert what_the_server_has(api, alice, victim["id"]) == before
    assert what_the_server_has(api, admin, victim["id"]) == before
    detach = alice.delete(f"/servers/{victim['id']}/os-interface/{port['id']}")
    assert detach.status_code == 404
    assert detach.json()["itemNotFound"]["message"] == f"Port {port['id']} is not attached"

    # The server's delete releases its own ports only.
    assert alice.delete(f"/servers/{victim['id']}").status_code == 204
    wait_for_status(alice, victim["id"], "DELETED")
    kept = network_of(bob).get(f"/ports/{port['id']}").json()["port"]
    assert kept["fixed_ips"] == port["fixed_ips"]


def test_what_real_clients_do_keeps_working(api, admin, alice, victim):
    net = network_of(alice)
    # openstack port create --device <server> --device-owner compute:nova, in one project
    extra = make_network(net, "extra", "10.2.0.0/24")
    by_port_api = net.post("/ports", {"port": {
        "network_id": extra["id"], "device_id": victim["id"],
        "device_owner": "compute:nova"}})
    assert by_port_api.status_code == 201, by_port_api.text
    # An admin plugs a port of another project (the admin's) into alice's server.
    admins_port = network_of(admin).create("port", network_id=extra["id"])
    assert admins_port["project_id"] != alice.project_id
    path = f"/servers/{victim['id']}/os-interface"
    plugged = admin.post(path, {"interfaceAttachment": {"port_id": admins_port["id"]}})
    assert plugged.status_code == 200, plugged.text
    # And one on a network: the new port is the server's project's, as Nova makes it.
    on_network = admin.post(path, {"interfaceAttachment": {"net_id": extra["id"]}})
    assert on_network.status_code == 200, on_network.text
    made = net.get(f"/ports/{on_network.json()['interfaceAttachment']['port_id']}")
    assert made.json()["port"]["project_id"] == alice.project_id

    seen = what_the_server_has(api, alice, victim["id"])
    port_ids = {by_port_api.json()["port"]["id"], admins_port["id"],
                on_network.json()["interfaceAttachment"]["port_id"]}
    assert port_ids < {interface["port_id"] for interface in seen["interfaces"]}
    assert port_ids < {link["vif_id"] for link in seen["network_data"]["links"]}
    assert len(seen["addresses"]["extra"]) == 3
    assert alice.delete(f"{path}/{admins_port['id']}").status_code == 202
    given_back = network_of(admin).get(f"/ports/{admins_port['id']}").json()["port"]
    assert given_back["device_id"] == ""
