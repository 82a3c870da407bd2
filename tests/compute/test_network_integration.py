"""Servers on the network service's networks: ports made, bound and released,
addresses in server views, os-interface, and Nova's security group and
floating IP proxies."""

from __future__ import annotations

import pytest

from stacklet.compute.models import ComputeService
from tests.compute.helpers import active_image, boot, boot_active, wait_for_status
from tests.network.conftest import Network


def network_of(compute) -> Network:
    """The same caller, on the network API."""
    return Network(compute.api, compute.token, compute.project_id, compute.user_id)


def make_network(net: Network, name: str, cidr: str = "10.0.0.0/24") -> dict:
    network = net.create("network", name=name)
    subnet = net.create("subnet", network_id=network["id"], ip_version=4, cidr=cidr)
    return {**network, "subnet": subnet}


@pytest.fixture
def image_id(api, alice) -> str:
    return active_image(api, alice.token)


def test_server_on_a_network_gets_a_port_and_shows_its_address(alice, image_id):
    net = network_of(alice)
    private = make_network(net, "private")
    server = boot_active(alice, image_id, networks=[{"uuid": private["id"]}])
    addresses = server["addresses"]["private"]
    assert len(addresses) == 1 and addresses[0]["addr"].startswith("10.0.0.")
    assert addresses[0]["OS-EXT-IPS:type"] == "fixed" and addresses[0]["version"] == 4
    ports = net.get(f"/ports?device_id={server['id']}").json()["ports"]
    assert len(ports) == 1
    assert ports[0]["mac_address"] == addresses[0]["OS-EXT-IPS-MAC:mac_addr"]
    assert ports[0]["device_owner"].startswith("compute:")
    ips = alice.get(f"/servers/{server['id']}/ips").json()["addresses"]
    assert ips == {"private": [{"version": 4, "addr": addresses[0]["addr"]}]}

    assert alice.delete(f"/servers/{server['id']}").status_code == 204
    wait_for_status(alice, server["id"], "DELETED")
    assert net.get(f"/ports?device_id={server['id']}").json()["ports"] == []


def test_a_users_port_is_bound_and_given_back(alice, image_id):
    net = network_of(alice)
    private = make_network(net, "private")
    port = net.create("port", network_id=private["id"], name="mine")
    server = boot_active(alice, image_id, networks=[{"port": port["id"]}])
    bound = net.get(f"/ports/{port['id']}").json()["port"]
    assert bound["device_id"] == server["id"]
    in_use = boot(alice, image_id, expect=409, networks=[{"port": port["id"]}])
    assert "in use" in in_use["conflictingRequest"]["message"]
    alice.delete(f"/servers/{server['id']}")
    wait_for_status(alice, server["id"], "DELETED")
    kept = net.get(f"/ports/{port['id']}").json()["port"]
    assert kept["device_id"] == "" and kept["fixed_ips"] == port["fixed_ips"]


def test_auto_takes_the_only_network_and_refuses_to_guess(alice, image_id):
    net = network_of(alice)
    first = make_network(net, "first")
    server = boot_active(alice, image_id)
    assert list(server["addresses"]) == ["first"]
    make_network(net, "second", "10.1.0.0/24")
    refused = boot(alice, image_id, expect=409)
    assert "Multiple possible networks" in refused["conflictingRequest"]["message"]
    assert first["subnet"]["cidr"] == "10.0.0.0/24"


def test_requested_networks_are_checked_before_anything_is_made(alice, bob, image_id):
    net = network_of(alice)
    private = make_network(net, "private")
    hidden = make_network(network_of(bob), "bobs")
    missing = boot(alice, image_id, expect=400, networks=[{"uuid": hidden["id"]}])
    assert hidden["id"] in missing["badRequest"]["message"]
    taken = net.create("port", network_id=private["id"],
                       fixed_ips=[{"ip_address": "10.0.0.50"}])
    assert taken["fixed_ips"][0]["ip_address"] == "10.0.0.50"
    boot(alice, image_id, expect=400,
         networks=[{"uuid": private["id"], "fixed_ip": "10.0.0.50"}])
    bare = net.create("network", name="bare")
    no_subnet = boot(alice, image_id, expect=400, networks=[{"uuid": bare["id"]}])
    assert "requires a subnet" in no_subnet["badRequest"]["message"]
    servers = alice.get("/servers").json()["servers"]
    assert servers == []


@pytest.mark.parametrize("request_", [{}, {"port": None}, {"fixed_ip": "10.0.0.5"},
                                      {"tag": "nic1"}])
def test_a_network_request_without_network_or_port_is_a_400(alice, image_id, request_):
    make_network(network_of(alice), "private")
    refused = boot(alice, image_id, expect=400, microversion="2.52", networks=[request_])
    assert refused["badRequest"]["message"] == "Bad network format: missing 'uuid'"
    assert alice.get("/servers").json()["servers"] == []


def test_interfaces_attach_and_detach(alice, image_id):
    net = network_of(alice)
    private = make_network(net, "private")
    extra = make_network(net, "extra", "10.2.0.0/24")
    server = boot_active(alice, image_id, networks=[{"uuid": private["id"]}])
    path = f"/servers/{server['id']}/os-interface"
    attached = alice.post(path, {"interfaceAttachment": {"net_id": extra["id"]}})
    assert attached.status_code == 200, attached.text
    interface = attached.json()["interfaceAttachment"]
    assert interface["net_id"] == extra["id"]
    assert interface["fixed_ips"][0]["ip_address"].startswith("10.2.0.")
    listed = alice.get(path).json()["interfaceAttachments"]
    assert {i["net_id"] for i in listed} == {private["id"], extra["id"]}
    assert alice.delete(f"{path}/{interface['port_id']}").status_code == 202
    assert net.get(f"/ports/{interface['port_id']}").status_code == 404
    assert alice.delete(f"{path}/{interface['port_id']}").status_code == 404


def test_security_group_proxies(alice, bob, image_id):
    created = alice.post("/os-security-groups", {"security_group": {
        "name": "web", "description": "the web"}})
    assert created.status_code == 200, created.text
    group = created.json()["security_group"]
    assert group["name"] == "web" and group["rules"] == []   # egress rules are not shown
    rule = alice.post("/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 80,
        "to_port": 80, "cidr": "10.0.0.0/8"}})
    assert rule.status_code == 200, rule.text
    assert rule.json()["security_group_rule"]["ip_range"] == {"cidr": "10.0.0.0/8"}
    duplicate = alice.post("/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 80,
        "to_port": 80, "cidr": "10.0.0.0/8"}})
    assert duplicate.status_code == 400
    bad = alice.post("/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 90,
        "to_port": 80}})
    assert bad.status_code == 400
    shown = alice.get(f"/os-security-groups/{group['id']}").json()["security_group"]
    assert [r["from_port"] for r in shown["rules"]] == [80]
    assert bob.get(f"/os-security-groups/{group['id']}").status_code == 404
    names = {g["name"] for g in alice.get("/os-security-groups").json()["security_groups"]}
    assert names == {"default", "web"}
    assert alice.get("/os-security-groups", "2.36").status_code == 404

    make_network(network_of(alice), "private")
    server = boot_active(alice, image_id, security_groups=[{"name": "web"}])
    on_server = alice.get(f"/servers/{server['id']}/os-security-groups").json()
    assert [g["name"] for g in on_server["security_groups"]] == ["web"]
    action = f"/servers/{server['id']}/action"
    assert alice.post(action, {"addSecurityGroup": {"name": "default"}}).status_code == 202
    on_server = alice.get(f"/servers/{server['id']}/os-security-groups").json()
    assert {g["name"] for g in on_server["security_groups"]} == {"web", "default"}
    in_use = alice.delete(f"/os-security-groups/{group['id']}")
    assert in_use.status_code == 400
    default = [g for g in alice.get("/os-security-groups").json()["security_groups"]
               if g["name"] == "default"][0]
    assert alice.delete(f"/os-security-groups/{default['id']}").status_code == 400


def test_update_and_rebuild_show_bare_addresses_before_2_75(alice, image_id):
    make_network(network_of(alice), "private")
    server = boot_active(alice, image_id)
    updated = alice.put(f"/servers/{server['id']}", {"server": {"name": "renamed"}})
    (address,) = updated.json()["server"]["addresses"]["private"]
    assert set(address) == {"version", "addr"}
    rebuilt = alice.post(f"/servers/{server['id']}/action",
                         {"rebuild": {"imageRef": image_id}})
    assert set(rebuilt.json()["server"]["addresses"]["private"][0]) == {"version", "addr"}
    latest = alice.put(f"/servers/{server['id']}", {"server": {"name": "again"}},
                       microversion="2.75")
    assert "OS-EXT-IPS:type" in latest.json()["server"]["addresses"]["private"][0]


def test_a_server_deleted_without_its_agent_gives_its_ports_back(api, alice, image_id):
    net = network_of(alice)
    make_network(net, "private")
    server = boot_active(alice, image_id)
    assert net.get(f"/ports?device_id={server['id']}").json()["ports"]
    # Its host goes down: the API deletes the server at once, without the agent.
    with api.cloud.db.transaction() as session:
        for service in session.query(ComputeService):
            service.forced_down = True
    assert alice.delete(f"/servers/{server['id']}").status_code == 204
    assert alice.get(f"/servers/{server['id']}").status_code == 404
    assert net.get(f"/ports?device_id={server['id']}").json()["ports"] == []


def test_server_password_and_inject_network_info(admin, alice, image_id):
    server = boot_active(alice, image_id)
    path = f"/servers/{server['id']}/os-server-password"
    assert alice.get(path).json() == {"password": ""}
    assert alice.delete(path).status_code == 204
    action = f"/servers/{server['id']}/action"
    assert alice.post(action, {"injectNetworkInfo": None}).status_code == 403
    assert admin.post(action, {"injectNetworkInfo": None}).status_code == 202
