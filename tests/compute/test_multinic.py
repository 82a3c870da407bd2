"""Nova's multinic actions (until 2.43): addFixedIp gives a server one more
address on a network it has a port on, removeFixedIp takes one away."""

from __future__ import annotations

import pytest

from tests.compute.conftest import project_member
from tests.compute.helpers import active_image, boot_active
from tests.compute.test_network_integration import make_network, network_of


@pytest.fixture
def on_private(api, alice):
    """Alice's server on her network "private" (10.0.0.0/24), and that network."""
    private = make_network(network_of(alice), "private")
    server = boot_active(alice, active_image(api, alice.token),
                         networks=[{"uuid": private["id"]}])
    return server, private


def _addresses(compute, server_id: str) -> list[str]:
    addresses = compute.get(f"/servers/{server_id}/ips").json()["addresses"]
    return [entry["addr"] for entry in addresses.get("private", [])]


def _port_ips(compute, server_id: str) -> list[str]:
    ports = network_of(compute).get(f"/ports?device_id={server_id}").json()["ports"]
    assert len(ports) == 1
    return [ip["ip_address"] for ip in ports[0]["fixed_ips"]]


def test_a_fixed_ip_is_added_to_the_servers_port_and_removed(alice, on_private):
    server, private = on_private
    action = f"/servers/{server['id']}/action"
    [first] = _addresses(alice, server["id"])

    added = alice.post(action, {"addFixedIp": {"networkId": private["id"]}})
    assert added.status_code == 202, added.text
    assert added.content == b""
    addresses = _addresses(alice, server["id"])
    assert len(addresses) == 2 and addresses[0] == first
    second = addresses[1]
    assert second.startswith("10.0.0.")
    # The same port holds both: Nova adds to the port, it makes no new one.
    assert sorted(_port_ips(alice, server["id"])) == sorted([first, second])

    removed = alice.post(action, {"removeFixedIp": {"address": second}})
    assert removed.status_code == 202, removed.text
    assert _addresses(alice, server["id"]) == [first]
    assert _port_ips(alice, server["id"]) == [first]
    # The address is free again: the next addFixedIp gets it back.
    assert alice.post(action, {"addFixedIp": {"networkId": private["id"]}}).status_code == 202
    assert second in _addresses(alice, server["id"])


def test_multinic_is_gone_from_2_44(alice, on_private):
    server, private = on_private
    action = f"/servers/{server['id']}/action"
    [first] = _addresses(alice, server["id"])
    for body in ({"addFixedIp": {"networkId": private["id"]}},
                 {"removeFixedIp": {"address": first}}):
        assert alice.post(action, body, microversion="2.44").status_code == 404
        assert alice.post(action, body, microversion="2.43").status_code == 202
    assert _addresses(alice, server["id"]) == [_port_ips(alice, server["id"])[0]]


@pytest.mark.parametrize("body", [
    {"addFixedIp": {}}, {"addFixedIp": {"networkId": ""}}, {"addFixedIp": None},
    {"addFixedIp": {"networkId": "x" * 37}},
    {"addFixedIp": {"networkId": "n", "extra": 1}},
    {"removeFixedIp": {}}, {"removeFixedIp": {"address": "not-an-ip"}},
    {"removeFixedIp": {"address": 10}}])
def test_a_bad_body_is_a_400(alice, on_private, body):
    server, _ = on_private
    response = alice.post(f"/servers/{server['id']}/action", body)
    assert response.status_code == 400, response.text


def test_networks_and_addresses_the_server_has_not(alice, bob, on_private):
    server, private = on_private
    action = f"/servers/{server['id']}/action"
    net = network_of(alice)
    # A network the server has no port on, one without a subnet, one of another
    # project, and none at all: Nova's NetworkNotFoundForInstance.
    other = make_network(net, "other", "10.3.0.0/24")
    bare = net.create("network", name="bare")
    bobs = make_network(network_of(bob), "bobs", "10.4.0.0/24")
    for network_id in (other["id"], bare["id"], bobs["id"], "no-such-network", 42):
        response = alice.post(action, {"addFixedIp": {"networkId": network_id}})
        assert response.status_code == 404, (network_id, response.text)
    # An address the server does not have (another server's, or none's).
    for address in ("10.0.0.200", "10.3.0.1", "fe80::1"):
        response = alice.post(action, {"removeFixedIp": {"address": address}})
        assert response.status_code == 400, (address, response.text)
        assert "doesn't have fixed IP" in response.json()["badRequest"]["message"]
    assert len(_addresses(alice, server["id"])) == 1


def test_a_full_network_is_a_400(api, alice):
    net = network_of(alice)
    tiny = net.create("network", name="private")
    net.create("subnet", network_id=tiny["id"], ip_version=4, cidr="10.5.0.0/29",
               enable_dhcp=False, allocation_pools=[{"start": "10.5.0.2", "end": "10.5.0.2"}])
    server = boot_active(alice, active_image(api, alice.token), networks=[{"uuid": tiny["id"]}])
    response = alice.post(f"/servers/{server['id']}/action",
                          {"addFixedIp": {"networkId": tiny["id"]}})
    assert response.status_code == 400, response.text
    assert "No fixed IP addresses available" in response.json()["badRequest"]["message"]
    assert _addresses(alice, server["id"]) == ["10.5.0.2"]


def test_another_project_and_a_reader_may_not(api, alice, bob, on_private):
    server, private = on_private
    action = f"/servers/{server['id']}/action"
    [first] = _addresses(alice, server["id"])
    reader = project_member(api, "alpha", role="reader")
    for body in ({"addFixedIp": {"networkId": private["id"]}},
                 {"removeFixedIp": {"address": first}}):
        assert bob.post(action, body).status_code == 404
        assert reader.post(action, body).status_code == 403
    assert _port_ips(alice, server["id"]) == [first]


def test_a_locked_server_keeps_its_addresses(alice, on_private):
    server, private = on_private
    action = f"/servers/{server['id']}/action"
    [first] = _addresses(alice, server["id"])
    assert alice.post(action, {"lock": None}).status_code == 202
    # Nova refuses a locked server's changes to everyone but an admin.
    response = alice.post(action, {"addFixedIp": {"networkId": private["id"]}})
    assert response.status_code == 409, response.text
    assert alice.post(action, {"removeFixedIp": {"address": first}}).status_code == 409
    assert _addresses(alice, server["id"]) == [first]
