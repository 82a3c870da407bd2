"""Security groups and anti-spoofing in nftables, with namespaces as guests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import pytest

from stacklet.network.agent.l2 import L2Agent
from stacklet.network.agent.settings import ACTIVE
from stacklet.network.driver import links, nft

from .conftest import default_group, network_doc, port_doc, rule

pytestmark = pytest.mark.dataplane


def group_id() -> str:
    return str(uuid.uuid4())


def open_group(members=()) -> dict:
    """All egress, no ingress."""
    return {"stateful": True, "members": list(members),
            "rules": [rule("egress", "IPv4"), rule("egress", "IPv6")]}


def test_default_group_members_talk_and_others_cannot(settings, make_guest):
    network, sg, other_sg = network_doc(), group_id(), group_id()
    a = port_doc(network, "10.0.0.3", groups=[sg])
    b = port_doc(network, "10.0.0.4", groups=[sg])
    c = port_doc(network, "10.0.0.5", groups=[other_sg])
    guests = [make_guest(p) for p in (a, b, c)]
    groups = {sg: default_group(sg, ["10.0.0.3", "10.0.0.4"]), other_sg: open_group(["10.0.0.5"])}
    assert L2Agent(settings).sync([a, b, c], groups) == {p["id"]: ACTIVE for p in (a, b, c)}
    guests[0].serve_tcp(22)
    assert guests[1].connect("10.0.0.3", 22) == "open"
    assert guests[1].ping("10.0.0.3") and guests[0].ping("10.0.0.4")
    assert guests[2].connect("10.0.0.3", 22) == "timeout"
    assert not guests[2].ping("10.0.0.3")


class HeldConnection:
    """A TCP connection held open from a guest: says whether a line still echoes."""

    def __init__(self, guest, address: str, port: int):
        code = textwrap.dedent(f"""
            import socket, sys
            s = socket.create_connection(({address!r}, {port}), timeout=1)
            print("connected", flush=True)
            for line in sys.stdin:
                s.sendall(line.encode())
                try:
                    print("echo" if s.recv(100) else "closed", flush=True)
                except OSError:
                    print("timeout", flush=True)
            """)
        self.process = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{guest.namespace}", sys.executable, "-c", code],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        guest.processes.append(self.process)
        assert self.process.stdout.readline().strip() == "connected"

    def echoes(self) -> bool:
        self.process.stdin.write("ping\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip() == "echo"


def test_a_tcp_rule_opens_exactly_its_port_and_removing_it_keeps_established(
        settings, make_guest):
    network, web = network_doc(), group_id()
    client = port_doc(network, "10.0.0.3", port_security=False)
    server = port_doc(network, "10.0.0.4", groups=[web])
    guest_client, guest_server = make_guest(client), make_guest(server)
    guest_server.serve_tcp(8080)
    guest_server.serve_tcp(8081)
    groups = {web: open_group(["10.0.0.4"])}
    agent = L2Agent(settings)
    agent.sync([client, server], groups)
    assert guest_client.connect("10.0.0.4", 8080) == "timeout"
    groups[web]["rules"].append(rule("ingress", protocol="tcp", port_range_min=8080,
                                     port_range_max=8080))
    agent.sync([client, server], groups)
    assert guest_client.connect("10.0.0.4", 8080) == "open"
    assert guest_client.connect("10.0.0.4", 8081) == "timeout"
    assert guest_client.connect("10.0.0.4", 8082) == "timeout"   # not refused: never arrived
    held = HeldConnection(guest_client, "10.0.0.4", 8080)
    groups[web]["rules"].pop()
    agent.sync([client, server], groups)
    assert guest_client.connect("10.0.0.4", 8080) == "timeout"
    assert held.echoes()                                           # stateful: it lives on


def test_a_port_joining_the_remote_group_is_let_in(settings, make_guest):
    network, sg, friends = network_doc(), group_id(), group_id()
    server = port_doc(network, "10.0.0.3", groups=[sg])
    newcomer = port_doc(network, "10.0.0.4", groups=[])
    guest_server, guest_new = make_guest(server), make_guest(newcomer)
    guest_server.serve_tcp(22)
    groups = {sg: {"stateful": True, "members": ["10.0.0.3"],
                   "rules": [rule("ingress", remote_group_id=friends), rule("egress")]},
              friends: open_group([])}
    agent = L2Agent(settings)
    agent.sync([server, newcomer], groups)
    assert guest_new.connect("10.0.0.3", 22) == "timeout"
    newcomer["security_groups"] = [friends]
    groups[friends]["members"] = ["10.0.0.4"]
    before = _pending_script(agent, [server, newcomer], groups)
    assert "add element inet" in before and "10.0.0.4" in before
    agent.sync([server, newcomer], groups)
    assert guest_new.connect("10.0.0.3", 22) == "open"


def _pending_script(agent, ports, groups):
    """The script a sync of PORTS (all filtered already) would apply, not applied."""
    firewall = agent.firewall
    bridges = sorted({agent.bridges[p["network_id"]] for p in ports})
    return firewall.script(*firewall.changes(firewall.wanted(ports, groups, bridges)[0]))


def test_a_guest_spoofing_its_ip_or_mac_gets_nothing_through(settings, make_guest):
    network, sg = network_doc(), group_id()
    target = port_doc(network, "10.0.0.3", port_security=False)
    liar = port_doc(network, "10.0.0.4", groups=[sg])
    guest_target, guest_liar = make_guest(target), make_guest(liar)
    guest_target.serve_tcp(22)
    L2Agent(settings).sync([target, liar], {sg: open_group(["10.0.0.4"])})
    assert guest_liar.connect("10.0.0.3", 22) == "open"
    guest_liar.run_script("""
        from pyroute2 import IPRoute
        with IPRoute() as ipr:
            ipr.addr("add", index=ipr.link_lookup(ifname="eth0")[0], address="10.0.0.99",
                     prefixlen=24)
        """)
    assert guest_liar.connect("10.0.0.3", 22, source="10.0.0.99") == "timeout"
    guest_liar.run_script("""
        from pyroute2 import IPRoute
        with IPRoute() as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname="eth0")[0],
                     address="fa:16:3e:00:00:99")
        """)
    assert guest_liar.connect("10.0.0.3", 22) == "timeout"
    assert not guest_liar.ping("10.0.0.3")


def test_an_allowed_address_pair_may_be_used(settings, make_guest):
    network, sg = network_doc(), group_id()
    target = port_doc(network, "10.0.0.3", port_security=False)
    vip = port_doc(network, "10.0.0.4", "10.0.0.50", groups=[sg],
                   pairs=[{"ip_address": "10.0.0.48/29"}])
    guest_target, guest_vip = make_guest(target), make_guest(vip)
    guest_target.serve_tcp(22)
    L2Agent(settings).sync([target, vip], {sg: open_group()})
    assert guest_vip.connect("10.0.0.3", 22, source="10.0.0.50") == "open"


def test_port_security_off_lets_everything_through(settings, make_guest):
    network = network_doc()
    a = port_doc(network, "10.0.0.3", port_security=False)
    b = port_doc(network, "10.0.0.4", port_security=False)
    guest_a, guest_b = make_guest(a), make_guest(b)
    guest_b.serve_tcp(4242)
    L2Agent(settings).sync([a, b], {})
    assert guest_a.connect("10.0.0.4", 4242) == "open"
    guest_a.run_script("""
        from pyroute2 import IPRoute
        with IPRoute() as ipr:
            ipr.addr("add", index=ipr.link_lookup(ifname="eth0")[0], address="10.0.0.77",
                     prefixlen=24)
        """)
    assert guest_a.connect("10.0.0.4", 4242, source="10.0.0.77") == "open"


def test_a_resync_with_nothing_changed_writes_nothing(settings, make_guest, monkeypatch):
    network, sg = network_doc(), group_id()
    a = port_doc(network, "10.0.0.3", groups=[sg])
    b = port_doc(network, "10.0.0.4", groups=[sg], device_owner="network:dhcp")
    make_guest(a)
    groups = {sg: default_group(sg, ["10.0.0.3", "10.0.0.4"])}
    agent = L2Agent(settings)
    agent.sync([a, b], groups)

    def forbidden(*args, **kwargs):
        raise AssertionError("a write in a sync that changes nothing")

    for name in ("ensure_network_bridge", "ensure_tap", "plug", "set_link", "set_fdb",
                 "delete_link", "link_exists"):
        monkeypatch.setattr(links, name, forbidden)
    monkeypatch.setattr(nft, "apply", forbidden)
    assert agent.sync([a, b], groups) == {a["id"]: ACTIVE}


def test_a_refused_transaction_keeps_the_old_rules_and_says_why(settings, make_guest,
                                                                 monkeypatch):
    network, web = network_doc(), group_id()
    client = port_doc(network, "10.0.0.3", port_security=False)
    server = port_doc(network, "10.0.0.4", groups=[web])
    guest_client, guest_server = make_guest(client), make_guest(server)
    guest_server.serve_tcp(80)
    groups = {web: {"stateful": True, "members": [],
                    "rules": [rule("ingress", protocol="tcp", port_range_min=80)]}}
    agent = L2Agent(settings)
    agent.sync([client, server], groups)

    def refuse(script, namespace=None):
        raise nft.NftError("Error: Could not process rule: No buffer space available")

    monkeypatch.setattr(nft, "apply", refuse)
    groups[web]["rules"] = []
    status = agent.sync([client, server], groups)[server["id"]]
    assert status.state == "DOWN" and "No buffer space" in status.reason
    assert guest_client.connect("10.0.0.4", 80) == "open"          # the old rules, whole
    monkeypatch.undo()
    assert agent.sync([client, server], groups)[server["id"]] == ACTIVE
    assert guest_client.connect("10.0.0.4", 80) == "timeout"


def test_stateless_group_needs_rules_both_ways(settings, make_guest):
    network, sg = network_doc(), group_id()
    client = port_doc(network, "10.0.0.3", port_security=False)
    server = port_doc(network, "10.0.0.4", groups=[sg])
    guest_client, guest_server = make_guest(client), make_guest(server)
    guest_server.serve_tcp(80)
    groups = {sg: {"stateful": False, "members": [],
                   "rules": [rule("ingress", protocol="tcp", port_range_min=80)]}}
    agent = L2Agent(settings)
    agent.sync([client, server], groups)
    assert guest_client.connect("10.0.0.4", 80) == "timeout"        # the answer may not leave
    groups[sg]["rules"].append(rule("egress", protocol="tcp"))
    agent.sync([client, server], groups)
    assert guest_client.connect("10.0.0.4", 80) == "open"


def test_a_port_replaced_or_readdressed_is_filtered_by_its_new_addresses(settings, make_guest):
    network, sg = network_doc(), group_id()
    server = port_doc(network, "10.0.0.3", port_security=False)
    leaving = port_doc(network, "10.0.0.4", groups=[sg])
    make_guest(leaving)
    guest_server = make_guest(server)
    guest_server.serve_tcp(22)
    groups = {sg: open_group()}
    agent = L2Agent(settings)
    agent.sync([server, leaving], groups)
    # One port leaves as another comes, in one sync: the newcomer takes the
    # mark the leaving port freed, and the leaving port's addresses go.
    newcomer = port_doc(network, "10.0.0.5", groups=[sg])
    guest_new = make_guest(newcomer)
    assert agent.sync([server, newcomer], groups) == {server["id"]: ACTIVE,
                                                      newcomer["id"]: ACTIVE}
    assert guest_new.connect("10.0.0.3", 22) == "open"
    guest_new.run_script("""
        from pyroute2 import IPRoute
        with IPRoute() as ipr:
            ipr.addr("add", index=ipr.link_lookup(ifname="eth0")[0], address="10.0.0.6",
                     prefixlen=24)
        """)
    assert guest_new.connect("10.0.0.3", 22, source="10.0.0.6") == "timeout"
    newcomer["fixed_ips"] = [{"subnet_id": "subnet", "ip_address": "10.0.0.6"}]
    assert agent.sync([server, newcomer], groups)[newcomer["id"]] == ACTIVE
    assert guest_new.connect("10.0.0.3", 22, source="10.0.0.6") == "open"
    assert guest_new.connect("10.0.0.3", 22, source="10.0.0.5") == "timeout"


def test_ipv6_members_talk_and_a_forged_ipv6_source_gets_nothing_through(settings,
                                                                         make_guest):
    """IPv6 through the same rules: neighbour discovery from the link-local
    address, the group's members reach each other, another group does not,
    and an address the port does not own is dropped at its tap."""
    network, sg, other_sg = network_doc(), group_id(), group_id()
    a = port_doc(network, "fd00:5::3", groups=[sg])
    b = port_doc(network, "fd00:5::4", groups=[sg])
    c = port_doc(network, "fd00:5::5", groups=[other_sg])
    guests = [make_guest(p) for p in (a, b, c)]
    groups = {sg: default_group(sg, ["fd00:5::3", "fd00:5::4"]),
              other_sg: open_group(["fd00:5::5"])}
    assert L2Agent(settings).sync([a, b, c], groups) == {p["id"]: ACTIVE for p in (a, b, c)}
    for guest in guests:     # duplicate address detection done: the addresses answer
        guest.run_script("""
            import subprocess, time
            while subprocess.run(["ip", "-6", "addr", "show", "tentative"], check=True,
                                 capture_output=True, text=True).stdout.strip():
                time.sleep(0.1)
            """, timeout=20)
    guests[0].serve_tcp(2222)
    assert guests[1].connect("fd00:5::3", 2222) == "open"
    assert guests[2].connect("fd00:5::3", 2222) == "timeout"
    # b takes an address that is not its port's: nothing it sends from it arrives.
    guests[1].run_script("""
        import subprocess
        subprocess.run(["ip", "-6", "addr", "add", "fd00:5::99/64", "dev", "eth0", "nodad"],
                       check=True)
        """)
    assert guests[1].connect("fd00:5::3", 2222, source="fd00:5::99") == "timeout"
    assert guests[1].connect("fd00:5::3", 2222, source="fd00:5::4") == "open"
