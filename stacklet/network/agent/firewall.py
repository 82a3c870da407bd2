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
transaction, so there is no moment without filtering). The ruleset is kept
in pieces (a port's objects, a group's chains, a remote group's sets), each
with a fingerprint of the documents it comes from, so a sync renders and
compares only the pieces whose documents changed: wiring one more port on a
host with hundreds costs about what wiring the first did.
"""

from __future__ import annotations

import dataclasses
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

    def merge(self, other: Ruleset) -> None:
        """Add OTHER's objects; a set both have gets the elements of both
        (OTHER's own dicts are never changed: they may be applied pieces)."""
        for key, (declaration, elements) in other.sets.items():
            self.sets.setdefault(key, (declaration, {}))[1].update(elements)
        self.chains.update(other.chains)


# A piece of the ruleset (the base, one port's objects, one group's chains,
# the sets of one remote group) with a fingerprint of the documents it is
# rendered from: a piece whose fingerprint did not change is neither rendered
# again nor compared with what is in force.
Piece = tuple[str, Ruleset]
BASE = ("base", "")
# The sets and maps of the base that ports add their elements to.
IFNAME_VMAP = "type ifname : verdict;"
MARK_VMAP = "type mark : verdict;"
# What each port may send from, keyed by the port's mark: a few sets shared by
# all ports, not sets of each port, because nft reads every set's elements
# (one netlink dump per set) before each transaction that adds a rule or an
# element: with three sets a port, that alone took 60 ms at 500 ports.
SOURCE_SETS = {"macs": "type mark . ether_addr;",
               "v4": "type mark . ether_addr . ipv4_addr; flags interval;",
               "v6": "type mark . ether_addr . ipv6_addr; flags interval;"}


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
    overlapping elements, so each MAC's networks are merged first.  A single
    address is written as a /32 or /128 too: nft 1.0.6 cannot delete a plain
    address from a set of concatenated intervals ("No such file or directory")."""
    by_mac: dict[str, list] = {}
    for mac, address in sources:
        network = ipaddress.ip_network(address, strict=False)
        if network.version == version:
            by_mac.setdefault(mac.lower(), []).append(network)
    return [f"{mac} . {network}" for mac, networks in sorted(by_mac.items())
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
        self.applied: dict[tuple[str, str], Piece] = {}   # what is in force, by piece
        self.rebuild = True                     # the next transaction re-creates the tables
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
        wanted, depends = self.wanted(filtered, groups, sorted(set(bridges.values())))
        script = self.script(*self.changes(wanted))
        if script:
            try:
                self.transactions += 1
                nft.apply(script)
            except nft.NftError as error:
                LOG.error("security groups not applied (the previous rules stay in force): %s",
                          error)
                self.rebuild = True
                changed = {key for key, (fingerprint, _) in wanted.items()
                           if self.applied.get(key, ("",))[0] != fingerprint}
                return {port: Status("DOWN", f"security group rules refused by nft: {error}")
                        for port, keys in depends.items() if not changed.isdisjoint(keys)}
        self.applied, self.rebuild = wanted, False
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

    def wanted(self, ports: list[dict], groups: dict[str, dict], bridges: list[str]
               ) -> tuple[dict[tuple[str, str], Piece], dict[str, list[tuple[str, str]]]]:
        """The pieces filtering PORTS (indexes allocated) on BRIDGES, and the
        pieces each port's rules come from."""
        wanted: dict[tuple[str, str], Piece] = {}
        self._piece(wanted, BASE, repr([(b, self.zones[b]) for b in bridges]),
                    self._base, bridges)
        remotes_of: dict[str, list[str]] = {}      # group id -> the groups its rules name
        depends = {}
        for port in ports:
            member_of = [g for g in port.get("security_groups", []) if g in groups]
            stateful = all(groups[g].get("stateful", True) for g in member_of)
            n = self.indexes[port["id"]]
            self._piece(wanted, ("port", port["id"]), repr((n, port, member_of, stateful)),
                        self._port, port, n, member_of, stateful)
            for group_id in member_of:
                if group_id not in remotes_of:
                    rules = groups[group_id]["rules"]
                    remotes_of[group_id] = sorted({r["remote_group_id"] for r in rules
                                                   if r.get("remote_group_id")})
                    self._piece(wanted, ("group", group_id), repr(rules),
                                self._group, group_id, rules)
            depends[port["id"]] = [("port", port["id"]),
                                   *(("group", g) for g in member_of),
                                   *(("remote", r) for g in member_of for r in remotes_of[g])]
        for remote in sorted({r for named in remotes_of.values() for r in named}):
            members = groups.get(remote, {}).get("members", [])   # unknown group: nobody
            self._piece(wanted, ("remote", remote), repr(members),
                        self._remote_sets, remote, members)
        return wanted, depends

    def _piece(self, wanted: dict, key: tuple[str, str], fingerprint: str, render, *args) -> None:
        """The applied piece KEY if FINGERPRINT is still its own, else one rendered anew."""
        applied = self.applied.get(key)
        wanted[key] = applied if applied and applied[0] == fingerprint \
            else (fingerprint, render(*args))

    def _base(self, bridges: list[str]) -> Ruleset:
        p, s = self.ports_table, self.sg_table
        ruleset = Ruleset()
        ruleset.sets[p, "from_port"] = (IFNAME_VMAP, {})
        ruleset.sets[p, "to_port"] = (IFNAME_VMAP, {})
        for name, declaration in SOURCE_SETS.items():
            ruleset.sets[p, name] = (declaration, {})
        # What a guest may send, the same for every port (its from- chain set
        # the mark it is looked up by): one copy, not one a port, as nft reads
        # the anonymous set of each rule like { a, b } as it reads named sets.
        ruleset.chains[p, "sources"] = (
            "",
            "meta mark . ether saddr != @macs drop",
            "ether type arp meta mark . arp saddr ether != @macs drop",
            "ether type arp arp saddr ip 0.0.0.0 return",       # address probes (RFC 5227)
            "ether type arp meta mark . ether saddr . arp saddr ip != @v4 drop",
            "ether type arp return",
            *GUEST_MUST_NOT,
            "ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 "
            "udp dport 67 return",                               # DHCP discover and request
            "ether type ip meta mark . ether saddr . ip saddr != @v4 drop",
            "ether type ip return",
            "ether type ip6 ip6 saddr :: icmpv6 type { nd-neighbor-solicit, "
            "mld2-listener-report } return",                     # duplicate address detection
            "ether type ip6 meta mark . ether saddr . ip6 saddr != @v6 drop",
            "ether type ip6 return",
            # Other ethertypes: a VLAN tag would carry IP past the groups.
            "drop")
        ruleset.chains[p, "guest_out"] = (
            "type filter hook prerouting priority -200; policy accept;", "iifname vmap @from_port")
        # Before br_netfilter (priority -1) hands the packet to the inet forward hook.
        ruleset.chains[p, "guest_in"] = (
            "type filter hook forward priority -200; policy accept;", "oifname vmap @to_port")
        ruleset.sets[s, "bridges"] = ("type ifname;", {f'"{b}"': None for b in bridges})
        ruleset.sets[s, "zones"] = ("typeof iifname : ct zone;",
                                    {f'"{b}"': str(self.zones[b]) for b in bridges})
        ruleset.sets[s, "stateless"] = ("type mark;", {})
        ruleset.sets[s, "egress"] = (MARK_VMAP, {})
        ruleset.sets[s, "ingress"] = (MARK_VMAP, {})
        ruleset.chains[s, "always_egress"] = ("", *ALWAYS_OUT)
        ruleset.chains[s, "always_ingress"] = ("", *ALWAYS_IN)
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

    def _port(self, port: dict, n: int, member_of: list[str], stateful: bool) -> Ruleset:
        """PORT's sets and chains, and its elements of the base's maps."""
        p, s = self.ports_table, self.sg_table
        ruleset = Ruleset()
        tap, mac = f'"{tap_name(port["id"])}"', port["mac_address"]
        out_mark, in_mark = f"0x{n:04x}0000", f"0x{n:x}"
        # (mac, address or network) the port may send from
        sources = [(mac, ip["ip_address"]) for ip in port["fixed_ips"]] + [(mac, link_local(mac))]
        for pair in port.get("allowed_address_pairs") or []:
            pair_mac = pair.get("mac_address") or mac
            sources += [(pair_mac, pair["ip_address"]), (pair_mac, link_local(pair_mac))]
        elements = {"macs": sorted({source_mac for source_mac, _ in sources}),
                    "v4": _interval_elements(sources, 4), "v6": _interval_elements(sources, 6)}
        for name, keys in elements.items():
            ruleset.sets[p, name] = (SOURCE_SETS[name],
                                     dict.fromkeys(f"{out_mark} . {key}" for key in keys))
        ruleset.chains[p, f"from-{n}"] = ("", f"meta mark set {out_mark}", "goto sources")
        ruleset.chains[p, f"to-{n}"] = ("", f"meta mark set meta mark and 0xffff0000 or {in_mark}")
        ruleset.sets[p, "from_port"] = (IFNAME_VMAP, {tap: f"jump from-{n}"})
        ruleset.sets[p, "to_port"] = (IFNAME_VMAP, {tap: f"jump to-{n}"})
        check_state = ("ct state invalid drop",) if stateful else ()
        for direction, mark in (("egress", out_mark), ("ingress", in_mark)):
            chain = f"p{n}-{direction}"
            ruleset.chains[s, chain] = ("", *check_state, f"jump always_{direction}",
                                        *(f"jump {group_chain(g, direction)}" for g in member_of),
                                        "drop")
            ruleset.sets[s, direction] = (MARK_VMAP, {mark: f"jump {chain}"})
        if not stateful:
            ruleset.sets[s, "stateless"] = ("type mark;", {out_mark: None})
        return ruleset

    def _group(self, group_id: str, rules: list[dict]) -> Ruleset:
        """The group's chain of each direction."""
        ruleset = Ruleset()
        for direction in ("ingress", "egress"):
            lines = [rule_line(r) for r in rules if r["direction"] == direction]
            ruleset.chains[self.sg_table, group_chain(group_id, direction)] = \
                ("", *sorted(set(line for line in lines if line)))
        return ruleset

    def _remote_sets(self, group_id: str, members: list[str]) -> Ruleset:
        """The addresses of a group some rule names as remote, one set per IP
        version (told apart by a colon: parsing each address of a large group
        again whenever one joins cost more than the rest of the sync)."""
        ruleset = Ruleset()
        for ethertype, v6 in (("IPv4", False), ("IPv6", True)):
            ruleset.sets[self.sg_table, group_set(group_id, ethertype)] = (
                f"type {'ipv6_addr' if v6 else 'ipv4_addr'};",
                dict.fromkeys(m for m in members if (":" in m) == v6))
        return ruleset

    def changes(self, wanted: dict[tuple[str, str], Piece]) -> tuple[Ruleset | None, Ruleset]:
        """What script turns into WANTED: the pieces that differ from the applied
        ones, merged (None and all of WANTED when the tables are re-created).
        The base is in both, so the maps ports add elements to stay."""
        new = Ruleset()
        if self.rebuild:
            for _, ruleset in wanted.values():
                new.merge(ruleset)
            return None, new
        old = Ruleset()
        for key in [*self.applied, *(key for key in wanted if key not in self.applied)]:
            before, after = self.applied.get(key), wanted.get(key)
            if before is after and key != BASE:
                continue
            if before:
                old.merge(before[1])
            if after:
                new.merge(after[1])
        return old, new

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
        self.applied, self.rebuild = {}, True
        return removed
