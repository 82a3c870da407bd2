"""Security groups and anti-spoofing in nftables, for the ports the L2 agent wires.

Conntrack is not available in the nftables bridge family, so the work is in
two tables:

- ``bridge stacklet_<tag>_ports`` sees frames on the bridge ports (taps):
  from a guest it checks the source MAC and addresses (the port's fixed IPs
  and allowed address pairs) and sets the high 16 bits of ``meta mark`` to
  the port's index; towards a guest it sets the low 16 bits to that port's
  index.
- ``inet stacklet_<tag>_sg`` sees the same packets through br_netfilter, with
  conntrack, but with the bridge as in/out device: it dispatches on the mark
  through verdict maps to per-port chains, which jump to one chain per
  security group and direction, and end in drop. Egress and ingress are two
  base chains of the forward hook, so a packet between two of our ports
  passes the sender's egress and the receiver's ingress.

A rule change rewrites one group chain; a member joining a remote group
changes one set element; the ruleset grows linearly with ports. Every change
is one ``nft -f`` transaction computed as the difference from what was
applied; the first is a whole rebuild (delete and re-create in the same
transaction, so there is no moment without filtering).
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import logging

from stacklet.network.agent.settings import DataplaneSettings, Status
from stacklet.network.driver import nft
from stacklet.network.driver.links import tap_name

LOG = logging.getLogger(__name__)

# Neutron's protocol names (the API takes a name or a number).
PROTOCOLS = {"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "icmp": 1, "icmpv6": 58,
             "igmp": 2, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
             "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113,
             "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112}
WITH_PORTS = {6, 17, 33, 132, 136}
ICMP = {1, 58}
FAMILY = {"IPv4": ("ipv4", "ip"), "IPv6": ("ipv6", "ip6")}
# What a port may always send and receive, as Neutron allows it: DHCP and
# DHCPv6 as a client, neighbour discovery, MLD, router solicitations out and
# router advertisements in (a guest cannot send one: anti-spoofing drops it,
# so any that arrives comes from a router or DHCP namespace of the network).
ALWAYS_OUT = ("udp sport 68 udp dport 67 accept",
              "meta nfproto ipv6 udp sport 546 udp dport 547 accept",
              "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, "
              "mld-listener-report, mld2-listener-report } accept")
ALWAYS_IN = ("udp sport 67 udp dport 68 accept",
             "meta nfproto ipv6 udp sport 547 udp dport 546 accept",
             "icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, "
             "mld-listener-query } accept")
# What a guest must not send, checked before its addresses.
GUEST_MUST_NOT = ("ether type ip udp sport 67 udp dport 68 drop",
                  "ether type ip6 icmpv6 type nd-router-advert drop",
                  "ether type ip6 udp sport 547 udp dport 546 drop")


@dataclasses.dataclass
class Ruleset:
    """What the two tables hold: sets and maps by (table, name) as
    (declaration, {element key: value or None}); chains by (table, name) as
    their lines (a base chain's first line is its hook)."""

    sets: dict[tuple[str, str], tuple[str, dict[str, str | None]]] = \
        dataclasses.field(default_factory=dict)
    chains: dict[tuple[str, str], tuple[str, ...]] = dataclasses.field(default_factory=dict)


def link_local(mac: str) -> str:
    """The EUI-64 link-local address a guest derives from MAC."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return str(ipaddress.IPv6Address(bytes([0xFE, 0x80] + [0] * 6 + eui)))


def _version(address: str) -> int:
    return ipaddress.ip_network(address, strict=False).version


def _interval_elements(sources: list[tuple[str, str]], version: int) -> list[str]:
    """"mac . network" elements of an interval set: an interval set refuses
    overlapping elements, so each MAC's networks are merged first."""
    by_mac: dict[str, list] = {}
    for mac, address in sources:
        network = ipaddress.ip_network(address, strict=False)
        if network.version == version:
            by_mac.setdefault(mac.lower(), []).append(network)
    return [f"{mac} . {network.network_address if network.prefixlen == network.max_prefixlen else network}"
            for mac, networks in sorted(by_mac.items())
            for network in ipaddress.collapse_addresses(networks)]


def protocol_number(protocol, ethertype: str) -> int | None:
    if protocol in (None, "", "any"):
        return None
    number = int(protocol) if str(protocol).isdigit() else PROTOCOLS[str(protocol).lower()]
    # Neutron takes "icmp" in an IPv6 rule to mean ICMPv6.
    return 58 if ethertype == "IPv6" and number == 1 else number


def rule_line(rule: dict) -> str | None:
    """One group rule as an nft rule of the group's chain (None: matches nothing)."""
    nfproto, ip = FAMILY[rule["ethertype"]]
    remote = "saddr" if rule["direction"] == "ingress" else "daddr"
    parts = [f"meta nfproto {nfproto}"]
    prefix = rule.get("remote_ip_prefix")
    if prefix:
        if _version(prefix) != int(nfproto[-1]):
            return None
        network = ipaddress.ip_network(prefix, strict=False)
        if network.prefixlen:
            parts.append(f"{ip} {remote} {network}")
    if rule.get("remote_group_id"):
        parts.append(f"{ip} {remote} @{group_set(rule['remote_group_id'], rule['ethertype'])}")
    number = protocol_number(rule.get("protocol"), rule["ethertype"])
    if number is not None:
        parts.append(f"meta l4proto {number}")
        low, high = rule.get("port_range_min"), rule.get("port_range_max")
        if number in WITH_PORTS and low is not None:
            high = low if high is None else high
            parts.append(f"th dport {low}" if low == high else f"th dport {low}-{high}")
        elif number in ICMP and low is not None:
            icmp = "icmp" if number == 1 else "icmpv6"
            parts.append(f"{icmp} type {low}")
            if high is not None:
                parts.append(f"{icmp} code {high}")
    return " ".join(parts + ["accept"])


def group_chain(group_id: str, direction: str) -> str:
    return f"sg-{group_id}-{direction}"


def group_set(group_id: str, ethertype: str) -> str:
    return f"sg-{group_id}-v{ethertype[-1]}"


class Firewall:
    def __init__(self, settings: DataplaneSettings):
        self.ports_table = f"bridge stacklet_{settings.tag}_ports"
        self.sg_table = f"inet stacklet_{settings.tag}_sg"
        self.applied: Ruleset | None = None     # None: rebuild everything next time
        self.signatures: dict[str, str] = {}    # port id -> what was applied for it
        self.indexes: dict[str, int] = {}       # port id -> its 16-bit mark
        self.zones: dict[str, int] = {}         # bridge -> conntrack zone
        self.transactions = 0

    # The ruleset wanted -------------------------------------------------

    def sync(self, ports: list[dict], groups: dict[str, dict],
             bridges: dict[str, str]) -> dict[str, Status]:
        """Make the tables filter PORTS (whose bridges BRIDGES gives by port
        id); the ports that could not be filtered, with why."""
        filtered = [p for p in ports if p.get("port_security_enabled", True)]
        self._allocate(self.indexes, [p["id"] for p in filtered])
        self._allocate(self.zones, sorted(set(bridges.values())))
        wanted = self._base(sorted(set(bridges.values())))
        signatures = {}
        for port in filtered:
            signatures[port["id"]] = self._add_port(wanted, port, groups)
        script = self.script(self.applied, wanted)
        if not script:
            return {}
        affected = [p for p, s in signatures.items() if self.signatures.get(p) != s]
        try:
            self.transactions += 1
            nft.apply(script)
        except nft.NftError as error:
            LOG.error("security groups not applied (the previous rules stay in force): %s",
                      error)
            self.applied = None
            return {port: Status("DOWN", f"security group rules refused by nft: {error}")
                    for port in affected}
        self.applied, self.signatures = wanted, signatures
        return {}

    @staticmethod
    def _allocate(numbers: dict[str, int], keys: list[str]) -> None:
        for gone in set(numbers) - set(keys):
            del numbers[gone]
        used = set(numbers.values())
        free = (n for n in range(1, 0xFFFF) if n not in used)
        for key in keys:
            if key not in numbers:
                numbers[key] = next(free)

    def _base(self, bridges: list[str]) -> Ruleset:
        p, s = self.ports_table, self.sg_table
        ruleset = Ruleset()
        ruleset.sets[p, "from_port"] = ("type ifname : verdict;", {})
        ruleset.sets[p, "to_port"] = ("type ifname : verdict;", {})
        ruleset.chains[p, "guest_out"] = (
            "type filter hook prerouting priority -200; policy accept;", "iifname vmap @from_port")
        # Before br_netfilter (priority -1) hands the packet to the inet forward hook.
        ruleset.chains[p, "guest_in"] = (
            "type filter hook forward priority -200; policy accept;", "oifname vmap @to_port")
        ruleset.sets[s, "bridges"] = ("type ifname;", {f'"{b}"': None for b in bridges})
        ruleset.sets[s, "zones"] = ("typeof iifname : ct zone;",
                                    {f'"{b}"': str(self.zones[b]) for b in bridges})
        ruleset.sets[s, "stateless"] = ("type mark;", {})
        ruleset.sets[s, "egress"] = ("type mark : verdict;", {})
        ruleset.sets[s, "ingress"] = ("type mark : verdict;", {})
        # A conntrack zone per network: two projects' networks on the same CIDR
        # never share a connection entry.
        ruleset.chains[s, "track"] = (
            "type filter hook prerouting priority raw; policy accept;",
            # notrack before the zone: a zone attaches a conntrack template,
            # and notrack leaves a packet that has one tracked.
            "iifname != @bridges accept", "meta mark and 0xffff0000 @stateless notrack accept",
            "ct zone set iifname map @zones")
        ruleset.chains[s, "from_ports"] = (
            "type filter hook forward priority filter; policy accept;",
            "iifname != @bridges accept", "ct state established,related accept",
            "meta mark and 0xffff0000 vmap @egress")
        ruleset.chains[s, "to_ports"] = (
            "type filter hook forward priority 10; policy accept;",
            "iifname != @bridges accept", "ct state established,related accept",
            "meta mark and 0xffff vmap @ingress")
        return ruleset

    def _add_port(self, ruleset: Ruleset, port: dict, groups: dict[str, dict]) -> str:
        """Add PORT's sets, chains and map elements; a digest of what they come from."""
        p, s = self.ports_table, self.sg_table
        n, tap, mac = self.indexes[port["id"]], f'"{tap_name(port["id"])}"', port["mac_address"]
        out_mark, in_mark = f"0x{n:04x}0000", f"0x{n:x}"
        # (mac, address or network) the port may send from
        sources = [(mac, ip["ip_address"]) for ip in port["fixed_ips"]] + [(mac, link_local(mac))]
        for pair in port.get("allowed_address_pairs") or []:
            pair_mac = pair.get("mac_address") or mac
            sources += [(pair_mac, pair["ip_address"]), (pair_mac, link_local(pair_mac))]
        macs = {source_mac for source_mac, _ in sources}
        v4, v6 = _interval_elements(sources, 4), _interval_elements(sources, 6)
        ruleset.sets[p, f"p{n}-mac"] = ("type ether_addr;", dict.fromkeys(sorted(macs)))
        ruleset.sets[p, f"p{n}-v4"] = ("type ether_addr . ipv4_addr; flags interval;",
                                       dict.fromkeys(v4))
        ruleset.sets[p, f"p{n}-v6"] = ("type ether_addr . ipv6_addr; flags interval;",
                                       dict.fromkeys(v6))
        ruleset.chains[p, f"from-{n}"] = (
            "", f"meta mark set {out_mark}",
            f"ether saddr != @p{n}-mac drop",
            f"ether type arp arp saddr ether != @p{n}-mac drop",
            "ether type arp arp saddr ip 0.0.0.0 return",       # address probes (RFC 5227)
            f"ether type arp ether saddr . arp saddr ip != @p{n}-v4 drop",
            "ether type arp return",
            *GUEST_MUST_NOT,
            "ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 "
            "udp dport 67 return",                               # DHCP discover and request
            f"ether type ip ether saddr . ip saddr != @p{n}-v4 drop",
            "ether type ip return",
            "ether type ip6 ip6 saddr :: icmpv6 type { nd-neighbor-solicit, "
            "mld2-listener-report } return",                     # duplicate address detection
            f"ether type ip6 ether saddr . ip6 saddr != @p{n}-v6 drop",
            "ether type ip6 return",
            "drop")                    # other ethertypes (a VLAN tag would carry IP past the groups)
        ruleset.chains[p, f"to-{n}"] = ("", f"meta mark set meta mark and 0xffff0000 or {in_mark}")
        ruleset.sets[p, "from_port"][1][tap] = f"jump from-{n}"
        ruleset.sets[p, "to_port"][1][tap] = f"jump to-{n}"

        member_of = [g for g in port.get("security_groups", []) if g in groups]
        stateful = all(groups[g].get("stateful", True) for g in member_of)
        check_state = ("ct state invalid drop",) if stateful else ()
        for direction, always, mark, vmap in (("egress", ALWAYS_OUT, out_mark, "egress"),
                                              ("ingress", ALWAYS_IN, in_mark, "ingress")):
            chain = f"p{n}-{direction}"
            ruleset.chains[s, chain] = ("", *check_state, *always,
                                        *(f"jump {group_chain(g, direction)}" for g in member_of),
                                        "drop")
            ruleset.sets[s, vmap][1][mark] = f"jump {chain}"
        if not stateful:
            ruleset.sets[s, "stateless"][1][out_mark] = None
        remotes = set()
        for group_id in member_of:
            remotes |= self._add_group(ruleset, group_id, groups)
        return hashlib.sha256(repr((n, port, [groups[g] for g in member_of],
                                    [groups.get(r) for r in sorted(remotes)])).encode()).hexdigest()

    def _add_group(self, ruleset: Ruleset, group_id: str, groups: dict[str, dict]) -> set[str]:
        """Add the group's chains and the sets of its remote groups; those groups."""
        s = self.sg_table
        rules = groups[group_id]["rules"]
        remotes = {r["remote_group_id"] for r in rules if r.get("remote_group_id")}
        if (s, group_chain(group_id, "ingress")) in ruleset.chains:
            return remotes
        for direction in ("ingress", "egress"):
            lines = [rule_line(r) for r in rules if r["direction"] == direction]
            ruleset.chains[s, group_chain(group_id, direction)] = \
                ("", *sorted(set(line for line in lines if line)))
        for remote in sorted(remotes):
            members = groups.get(remote, {}).get("members", [])   # unknown group: nobody
            for ethertype in ("IPv4", "IPv6"):
                ruleset.sets[s, group_set(remote, ethertype)] = (
                    f"type {'ipv4_addr' if ethertype == 'IPv4' else 'ipv6_addr'};",
                    dict.fromkeys(m for m in members if _version(m) == int(ethertype[-1])))
        return remotes

    # The transaction ----------------------------------------------------

    def script(self, old: Ruleset | None, new: Ruleset) -> str:
        """The nft script turning OLD into NEW (all of NEW when OLD is None)."""
        lines = []
        if old is None:
            for table in (self.ports_table, self.sg_table):
                lines += [f"add table {table}", f"delete table {table}", f"add table {table}"]
            old = Ruleset()
        for (table, name), (declaration, _) in new.sets.items():
            if (table, name) not in old.sets:
                kind = "map" if ":" in declaration else "set"
                lines.append(f"add {kind} {table} {name} {{ {declaration} }}")
        changed = {key: body for key, body in new.chains.items() if old.chains.get(key) != body}
        for (table, name), body in changed.items():
            if (table, name) not in old.chains:
                lines.append(f"add chain {table} {name}" + (f" {{ {body[0]} }}" if body[0] else ""))
        for (table, name), body in changed.items():
            if (table, name) in old.chains:
                lines.append(f"flush chain {table} {name}")
            lines += [f"add rule {table} {name} {rule}" for rule in body[1:]]
        for key, (_, elements) in new.sets.items():
            before = old.sets.get(key, ("", {}))[1]
            gone = [k for k, v in before.items() if elements.get(k, ...) != v]
            added = [k for k, v in elements.items() if before.get(k, ...) != v]
            if gone:
                lines.append(f"delete element {key[0]} {key[1]} {{ {', '.join(gone)} }}")
            if added:
                items = (k if elements[k] is None else f"{k} : {elements[k]}" for k in added)
                lines.append(f"add element {key[0]} {key[1]} {{ {', '.join(items)} }}")
        stale = [key for key in old.chains if key not in new.chains]
        lines += [f"flush chain {table} {name}" for table, name in stale]
        lines += [f"delete chain {table} {name}" for table, name in stale]
        lines += [f"delete {'map' if ':' in old.sets[key][0] else 'set'} {key[0]} {key[1]}"
                  for key in old.sets if key not in new.sets]
        return "".join(line + "\n" for line in lines)

    def rule_count(self) -> int:
        return sum(nft.rule_count(*table.split()) for table in (self.ports_table, self.sg_table))

    def cleanup(self) -> list[str]:
        removed = []
        for table in (self.ports_table, self.sg_table):
            family, name = table.split()
            if (family, name) in nft.tables():
                nft.apply(f"delete table {table}\n")
                removed.append(f"nft table {table}")
        self.applied, self.signatures = None, {}
        return removed
