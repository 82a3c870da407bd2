"""The data plane's own figures, with namespaces and veth pairs standing in
for guests (so nothing is bound by guest emulation); run as root.

1. port wired: with PORTS (500) ports on the host, a sync with one new port,
   until the agent says ACTIVE (median of --samples); target < 100 ms.
2. a rule added to a group shared by 1,000 ports is in force (the agent's
   sync, one nft transaction) in < 1 s; the rule count of our tables at 100,
   500 and 1,000 ports, which should grow linearly.
3. TCP throughput between two namespaces through bridge + security groups
   (1,000 ports' rules present) against a bare veth pair: target >= 80 %.
   The two are measured in turn, --rounds times, and their medians compared:
   on a shared machine one run of each differs by more than the filtering costs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from pyroute2 import IPRoute, NetNS, netns

from stacklet.network.agent.l2 import L2Agent
from stacklet.network.agent.settings import ACTIVE, DataplaneSettings
from stacklet.network.driver import links, nft

WIRED_TARGET = 0.100
RULE_TARGET = 1.0
THROUGHPUT_TARGET = 0.80


def say(message: str) -> None:
    print(message, flush=True)


def settings(state_dir: Path) -> DataplaneSettings:
    return DataplaneSettings(
        host="bench", tag="b" + secrets.token_hex(3), state_dir=state_dir, bridge_mappings={},
        interface_mappings={}, vxlan_local_ip=None, external_gateway_on_host=False,
        external_masquerade=False, isolated_metadata=False, metadata_url="",
        metadata_secret=b"", dns_domain="")


NETWORK = str(uuid.uuid4())


def port(index: int, group: str, **extra) -> dict:
    return {"id": str(uuid.uuid4()), "network_id": NETWORK,
            "mac_address": "fa:16:3e:%02x:%02x:%02x" % (index >> 16, (index >> 8) & 255,
                                                       index & 255),
            "admin_state_up": True, "device_owner": "compute:nova", "device_id": "",
            "mtu": 1500, "network_type": "local", "physical_network": None,
            "segmentation_id": None, "port_security_enabled": True,
            "fixed_ips": [{"subnet_id": "s", "ip_address": f"10.{index >> 16}.{(index >> 8) & 255}."
                           f"{index & 255}"}],
            "security_groups": [group], "allowed_address_pairs": [], **extra}


def default_group(group: str, ports: list[dict]) -> dict:
    rules = [{"direction": "ingress", "ethertype": "IPv4", "protocol": None,
              "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
              "remote_group_id": group},
             {"direction": "egress", "ethertype": "IPv4", "protocol": None,
              "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
              "remote_group_id": None}]
    return {"stateful": True, "rules": rules,
            "members": [p["fixed_ips"][0]["ip_address"] for p in ports]}


def tcp_rule(number: int) -> dict:
    return {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": number, "port_range_max": number, "remote_ip_prefix": None,
            "remote_group_id": None}


def wired(agent: L2Agent, ports: list[dict], groups: dict, samples: int) -> list[float]:
    """Seconds from sync to ACTIVE of one new port, SAMPLES times."""
    times = []
    for n in range(samples):
        new = port(60_000 + n, ports[0]["security_groups"][0])
        ports.append(new)
        groups[new["security_groups"][0]]["members"].append(new["fixed_ips"][0]["ip_address"])
        began = time.perf_counter()
        status = agent.sync(ports, groups)[new["id"]]
        times.append(time.perf_counter() - began)
        assert status == ACTIVE, status
    return times


def configure(namespace: str, ifname: str, mac: str, address: str) -> None:
    with NetNS(namespace) as ns:
        index = ns.link_lookup(ifname=ifname)[0]
        ns.link("set", index=index, address=mac, state="up")
        ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
        ns.addr("add", index=index, address=address, prefixlen=16)


def guest(namespace: str, tap: str, mac: str, address: str) -> None:
    """A namespace whose eth0 is at ADDRESS/16, its veth's other end TAP."""
    netns.create(namespace)
    with IPRoute() as ipr:
        ipr.link("add", ifname=tap, kind="veth", peer={"ifname": "eth0", "net_ns_fd": namespace})
    configure(namespace, "eth0", mac, address)


def bare_pair(first: str, second: str) -> None:
    """Two namespaces joined by one veth pair, 10.200.0.1 and .2."""
    netns.create(first)
    netns.create(second)
    with NetNS(first) as ns:
        ns.link("add", ifname="eth0", kind="veth", peer={"ifname": "eth0", "net_ns_fd": second})
    configure(first, "eth0", "fa:16:3e:ff:00:01", "10.200.0.1")
    configure(second, "eth0", "fa:16:3e:ff:00:02", "10.200.0.2")


RECEIVER = """
import socket, time
s = socket.socket(); s.bind(("0.0.0.0", 5201)); s.listen(1)
print("ready", flush=True)
c, _ = s.accept(); total = 0; began = None
while (data := c.recv(1 << 20)):
    began = began or time.perf_counter(); total += len(data)
print(total / (time.perf_counter() - began), flush=True)
"""
SENDER = """
import socket, sys, time
s = socket.create_connection((sys.argv[1], 5201)); chunk = b"x" * (1 << 18)
deadline = time.perf_counter() + float(sys.argv[2])
while time.perf_counter() < deadline:
    s.sendall(chunk)
s.close()
"""


def throughput(sender: str, receiver: str, address: str, seconds: float) -> float:
    """Bytes per second of one TCP stream from namespace SENDER to RECEIVER."""
    enter = lambda ns: ["nsenter", f"--net=/run/netns/{ns}", sys.executable, "-c"]  # noqa: E731
    server = subprocess.Popen(enter(receiver) + [RECEIVER], stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"
    subprocess.run(enter(sender) + [SENDER, address, str(seconds)], check=True)
    rate = float(server.stdout.readline())
    server.wait()
    return rate


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=int(os.environ.get(
        "BENCH_DATAPLANE_PORTS", 500)))
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs of each")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/dataplane builds links and nftables rules: run it as root")
    conf = settings(Path(tempfile.mkdtemp(prefix="stacklet-dataplane-")))
    agent = L2Agent(conf)
    group = str(uuid.uuid4())
    namespaces = ["bsa-" + conf.tag, "bsb-" + conf.tag, "bba-" + conf.tag, "bbb-" + conf.tag]
    ok = True
    try:
        # Two guests first (namespaces), then TAPs for the rest.
        guests = [port(1, group), port(2, group)]
        for ns, p in zip(namespaces[:2], guests):
            guest(ns, links.tap_name(p["id"]), p["mac_address"], p["fixed_ips"][0]["ip_address"])
        ports = guests + [port(i, group) for i in range(3, args.ports + 1)]
        groups = {group: default_group(group, ports)}
        began = time.perf_counter()
        agent.sync(ports, groups)
        say(f"{len(ports)} ports wired in {time.perf_counter() - began:.1f} s "
            f"({agent.firewall.rule_count()} rules)")
        times = wired(agent, ports, groups, args.samples)
        median = statistics.median(times)
        ok &= median < WIRED_TARGET
        say(f"(1) port wired with {args.ports} on the host: median {median * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms   target < {WIRED_TARGET * 1000:.0f} ms: "
            f"{verdict(median < WIRED_TARGET)}")

        counts = {}
        for size in (100, 500, 1000):
            while len(ports) < size:
                ports.append(port(len(ports) + 1, group))
            groups[group] = default_group(group, ports[:size])
            agent.sync(ports[:size], groups)
            counts[size] = agent.firewall.rule_count()
        transactions = agent.firewall.transactions
        groups[group]["rules"].append(tcp_rule(5201))
        began = time.perf_counter()
        agent.sync(ports, groups)
        in_force = time.perf_counter() - began
        assert agent.firewall.transactions == transactions + 1
        ok &= in_force < RULE_TARGET
        say(f"(2) rule added to a group of {len(ports)} ports in force in {in_force * 1000:.0f} ms"
            f"   target < {RULE_TARGET:.0f} s: {verdict(in_force < RULE_TARGET)}")
        per_port = [counts[n] / n for n in counts]
        linear = max(per_port) / min(per_port) < 1.1
        ok &= linear
        say("    rules in our tables: " + ", ".join(
            f"{n} ports: {c} ({c / n:.1f}/port)" for n, c in counts.items())
            + f"   target linear: {verdict(linear)}")

        # Throughput: the two guests through bridge and groups, and a bare veth
        # pair, in turn (so a burst of load elsewhere hits both alike).
        bare_pair(namespaces[2], namespaces[3])
        runs: dict[str, list[float]] = {"groups": [], "bare": []}
        for _ in range(args.rounds):
            runs["groups"].append(throughput(namespaces[0], namespaces[1],
                                             guests[1]["fixed_ips"][0]["ip_address"],
                                             args.seconds))
            runs["bare"].append(throughput(namespaces[2], namespaces[3], "10.200.0.2",
                                           args.seconds))
        with_groups, bare = (statistics.median(runs[kind]) for kind in ("groups", "bare"))
        ratio = with_groups / bare
        ok &= ratio >= THROUGHPUT_TARGET
        say(f"(3) TCP through bridge + groups ({agent.firewall.rule_count()} rules): "
            f"{with_groups * 8 / 1e9:.2f} Gbit/s; bare veth pair {bare * 8 / 1e9:.2f} Gbit/s "
            f"(medians of {args.rounds}); {ratio:.0%}   target >= {THROUGHPUT_TARGET:.0%}: "
            f"{verdict(ratio >= THROUGHPUT_TARGET)}")
    finally:
        removed = agent.cleanup()
        for name in namespaces:
            if name in netns.listnetns():
                netns.remove(name)
        for p in guests:
            links.delete_link(links.tap_name(p["id"]))
        nft.delete_tables(f"stacklet_{conf.tag}_")
        say(f"cleaned up: {len(removed)} links and tables removed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
