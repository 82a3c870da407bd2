"""The L2 agent: bridges, taps and VXLAN devices, with namespaces as guests."""

from __future__ import annotations

import secrets

import pytest

from stacklet.network.agent.l2 import L2Agent
from stacklet.network.agent.settings import ACTIVE
from stacklet.network.driver import links

from .conftest import network_doc, port_doc

pytestmark = pytest.mark.dataplane


def no_security(network, address, **kw):
    return port_doc(network, address, port_security=False, **kw)


def test_two_guests_on_one_network_ping_each_other(settings, make_guest):
    network = network_doc()
    a, b = no_security(network, "10.0.0.3"), no_security(network, "10.0.0.4")
    guest_a, guest_b = make_guest(a), make_guest(b)
    statuses = L2Agent(settings).sync([a, b], {})
    assert statuses == {a["id"]: ACTIVE, b["id"]: ACTIVE}
    assert guest_a.ping(guest_b.ip)
    assert guest_b.ping(guest_a.ip)


def test_same_cidr_in_two_projects_cannot_reach_each_other(settings, make_guest):
    red, blue = network_doc(), network_doc()
    red_a, red_b = no_security(red, "10.0.0.3"), no_security(red, "10.0.0.4")
    blue_a = no_security(blue, "10.0.0.4")
    guests = [make_guest(p) for p in (red_a, red_b, blue_a)]
    L2Agent(settings).sync([red_a, red_b, blue_a], {})
    guests[2].serve_tcp(22)
    guests[1].serve_tcp(22)
    assert guests[0].connect("10.0.0.4", 22) == "open"          # its own project's guest
    # The other project's 10.0.0.4 is on another bridge: nothing crosses, so
    # only red_b answers; taking red_b away leaves red_a with nothing.
    links.delete_link(guests[1].tap)
    assert guests[0].connect("10.0.0.4", 22) == "timeout"
    assert not guests[2].ping("10.0.0.3")


def test_a_new_port_gets_a_persistent_tap_with_the_fe_mac(settings):
    network = network_doc(mtu=1450)
    port = port_doc(network, "10.0.0.5", port_security=False)
    agent = L2Agent(settings)
    assert agent.sync([port], {}) == {port["id"]: ACTIVE}
    tap = links.tap_name(port["id"])
    assert links.link_kind(tap) == "tun"
    assert links.link_master(tap) == links.bridge_name(network["id"])
    assert links.link_mac(tap) == "fe" + port["mac_address"][2:]
    assert links.link_mtu(tap) == 1450
    down = dict(port, admin_state_up=False)
    assert agent.sync([down], {})[port["id"]].state == "DOWN"
    assert not links.link_up(tap)
    agent.sync([], {})
    assert not links.link_exists(tap)
    assert not links.link_exists(links.bridge_name(network["id"]))


def test_vxlan_network_device_and_fdb(settings, make_guest, tmp_path):
    vni = 10_000 + secrets.randbelow(1_000_000)
    network = network_doc("vxlan", vni, mtu=1450)
    port = no_security(network, "10.0.0.3")
    make_guest(port)
    agent = L2Agent(settings)
    agent.sync([port], {}, {vni: ["127.0.0.2", "127.0.0.3"]})
    device = links.vxlan_name(vni)
    assert links.link_kind(device) == "vxlan"
    assert links.link_master(device) == links.bridge_name(network["id"])
    assert links.link_mtu(device) == 1450
    assert links.fdb_entries(vni) == ["127.0.0.2", "127.0.0.3"]
    agent.sync([port], {}, {vni: ["127.0.0.3"]})
    assert links.fdb_entries(vni) == ["127.0.0.3"]
    agent.sync([], {})
    assert not links.link_exists(device)


def test_unmapped_physical_network_is_down_with_the_option_to_set(settings):
    port = port_doc(network_doc("flat", physical_network="physnet9"), "10.0.0.3")
    status = L2Agent(settings).sync([port], {})[port["id"]]
    assert status.state == "DOWN"
    assert "bridge_mappings = physnet9:" in status.reason


def test_cleanup_removes_only_ours(settings, make_guest, tmp_path):
    from .conftest import make_settings, remove_everything_of
    network = network_doc()
    mine = port_doc(network, "10.0.0.3")
    other_settings = make_settings(tmp_path)
    other_port = port_doc(network_doc(), "10.0.0.3")
    guest = make_guest(port_doc(network, "10.0.0.9", port_security=False))
    try:
        other = L2Agent(other_settings)
        other.sync([other_port], {})
        agent = L2Agent(settings)
        agent.sync([mine, guest.port], {})
        removed = agent.cleanup()
        assert f"link {links.tap_name(mine['id'])}" in removed
        assert f"link {links.bridge_name(network['id'])}" in removed
        assert links.link_exists(guest.tap)                      # not ours: a guest's veth
        assert links.link_exists(links.tap_name(other_port["id"]))
        assert links.our_links(settings) == []
        assert links.our_links(other_settings) != []
    finally:
        remove_everything_of(other_settings)
