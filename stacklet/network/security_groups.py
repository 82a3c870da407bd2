"""Security groups and their rules: each project's default group, the rules
Neutron accepts (protocols, port ranges, ICMP types, remote prefixes and
groups), duplicates, and what keeps a group in use."""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from stacklet.common import errors
from stacklet.db import savepoint
from stacklet.network import quotas, tags
from stacklet.network.attributes import normalized_cidr
from stacklet.network.errors import (
    SecurityGroupInUse,
    SecurityGroupNotFound,
    SecurityGroupRuleExists,
    SecurityGroupRuleNotFound,
    neutron_error,
)
from stacklet.network.models import (
    DefaultSecurityGroup,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
)
from stacklet.network.standard import bump_revision, standard_view

DEFAULT_NAME = "default"
TAG_TYPE = "security_groups"

# Neutron's security group errors, each its own type.
SecurityGroupCannotRemoveDefault = neutron_error(errors.Conflict,
                                                 "SecurityGroupCannotRemoveDefault")
SecurityGroupCannotUpdateDefault = neutron_error(errors.Conflict,
                                                 "SecurityGroupCannotUpdateDefault")
SecurityGroupDefaultAlreadyExists = neutron_error(errors.Conflict,
                                                  "SecurityGroupDefaultAlreadyExists")
SecurityGroupRuleInvalidProtocol = neutron_error(errors.BadRequest,
                                                 "SecurityGroupRuleInvalidProtocol")
SecurityGroupRuleInvalidEtherType = neutron_error(errors.BadRequest,
                                                  "SecurityGroupRuleInvalidEtherType")
SecurityGroupInvalidPortValue = neutron_error(errors.BadRequest, "SecurityGroupInvalidPortValue")
SecurityGroupInvalidPortRange = neutron_error(errors.BadRequest, "SecurityGroupInvalidPortRange")
SecurityGroupInvalidIcmpValue = neutron_error(errors.BadRequest, "SecurityGroupInvalidIcmpValue")
SecurityGroupMissingIcmpType = neutron_error(errors.BadRequest, "SecurityGroupMissingIcmpType")
SecurityGroupInvalidProtocolForPort = neutron_error(errors.BadRequest,
                                                    "SecurityGroupInvalidProtocolForPort")
SecurityGroupProtocolRequiredWithPorts = neutron_error(errors.BadRequest,
                                                       "SecurityGroupProtocolRequiredWithPorts")
SecurityGroupEthertypeConflictWithProtocol = neutron_error(
    errors.BadRequest, "SecurityGroupEthertypeConflictWithProtocol")
SecurityGroupRemoteGroupAndRemoteIpPrefix = neutron_error(
    errors.BadRequest, "SecurityGroupRemoteGroupAndRemoteIpPrefix")
SecurityGroupRuleParameterConflict = neutron_error(errors.BadRequest,
                                                   "SecurityGroupRuleParameterConflict")

# Neutron's protocol names (neutron-lib IP_PROTOCOL_MAP) and their numbers.
PROTOCOL_NUMBERS = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
    "igmp": 2, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
    "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89,
    "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}
# Protocols whose rules may name ports (a range of 1-65535).
PORT_PROTOCOLS = ("tcp", "udp", "dccp", "sctp", "udplite")
PORT_PROTOCOL_NUMBERS = {PROTOCOL_NUMBERS[name] for name in PORT_PROTOCOLS}
ICMP_NUMBERS = (1, 58)
# Protocols that exist only over IPv6: an IPv4 rule for them makes no sense.
IPV6_ONLY_NUMBERS = {41, 43, 44, 58, 59, 60}
ETHERTYPES = ("IPv4", "IPv6")
DIRECTIONS = ("ingress", "egress")


# -- attribute converters (Neutron's types of error, not InvalidInput) ---------------

def protocol(value) -> str | None:
    """A protocol name (lowercased) or number 1-255 (as text); "any" and 0 are none."""
    if value is None or value == "any":
        return None
    number = None
    if not isinstance(value, bool):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
    if number is not None:
        if 0 <= number <= 255:
            return None if number == 0 else str(number)
    elif isinstance(value, str) and value.lower() in PROTOCOL_NUMBERS:
        return value.lower()
    raise SecurityGroupRuleInvalidProtocol(
        f"Security group rule protocol {value} not supported. Only protocol values "
        f"{sorted(PROTOCOL_NUMBERS) + [None]} and integer representations [0 to 255] are "
        "supported.")


def ethertype(value) -> str:
    """IPv4 or IPv6, in any letter case."""
    for known in ETHERTYPES:
        if isinstance(value, str) and value.lower() == known.lower():
            return known
    raise SecurityGroupRuleInvalidEtherType(
        f"Security group rule for ethertype '{value}' not supported. Allowed values are "
        f"{list(ETHERTYPES)}.")


def port_value(value) -> int | None:
    if value is None:
        return None
    try:
        number = int(value) if not isinstance(value, (bool, float)) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not 0 <= number <= 65535:
        raise SecurityGroupInvalidPortValue(f"Invalid value for port {value}")
    return number


def protocol_number(name: str | None) -> int | None:
    if name is None:
        return None
    return PROTOCOL_NUMBERS[name] if name in PROTOCOL_NUMBERS else int(name)


# -- groups --------------------------------------------------------------------------

def default_group_id(session, project_id: str) -> str:
    """The project's "default" group, made on first need with Neutron's default
    rules: all egress, and ingress only from members of the group itself.

    Two transactions may both find none (servers of a new project spawning
    at once): the loser's insert fails on the primary key, and it takes the
    winner's group."""
    found = session.get(DefaultSecurityGroup, project_id)
    if found is not None:
        return found.security_group_id
    try:
        with savepoint(session):
            return _make_default_group(session, project_id)
    except IntegrityError:
        # A locking read sees the winner's commit under MariaDB's REPEATABLE READ
        # too; a shared one, since every loser already holds a shared lock on
        # the row its insert collided with (exclusive ones would deadlock).
        return session.scalar(sa.select(DefaultSecurityGroup.security_group_id).where(
            DefaultSecurityGroup.project_id == project_id).with_for_update(read=True))


def _make_default_group(session, project_id: str) -> str:
    group = SecurityGroup(project_id=project_id, name=DEFAULT_NAME,
                          description="Default security group")
    session.add(group)
    session.flush()
    for ether in ETHERTYPES:
        group.rules.append(SecurityGroupRule(
            project_id=project_id, direction="egress", ethertype=ether))
        group.rules.append(SecurityGroupRule(
            project_id=project_id, direction="ingress", ethertype=ether,
            remote_group_id=group.id))
    session.add(DefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
    session.flush()
    return group.id


def has_default(session, project_id: str) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(DefaultSecurityGroup).where(
        DefaultSecurityGroup.project_id == project_id)) > 0


def ensure_default_group(db, project_id: str | None) -> None:
    """Make the project's default group if it has none yet: Neutron does so the
    first time a project looks at its groups.  A read first, so the common
    case takes no write lock."""
    if not project_id:
        return
    with db.session() as session:
        if has_default(session, project_id):
            return
    with db.transaction() as session:
        default_group_id(session, project_id)


def visible_groups(ctx, query: sa.Select) -> sa.Select:
    """Groups the caller can list: every group for an admin, else their project's."""
    if ctx.is_admin:
        return query
    return query.where(SecurityGroup.project_id == ctx.project_id)


def get_group(session, group_id: str) -> SecurityGroup:
    group = session.get(SecurityGroup, group_id)
    if group is None:
        raise SecurityGroupNotFound(f"Security group {group_id} does not exist")
    return group


def is_default(session, group: SecurityGroup) -> bool:
    found = session.get(DefaultSecurityGroup, group.project_id)
    return found is not None and found.security_group_id == group.id


def _refuse_default_name(name: str | None) -> None:
    if name is not None and name.lower() == DEFAULT_NAME:
        raise SecurityGroupDefaultAlreadyExists("Default security group already exists.")


def create_group(session, config, values: dict) -> SecurityGroup:
    """A new group with Neutron's default rules for it: all egress, IPv4 and IPv6.
    The project's default group comes first, as in Neutron."""
    _refuse_default_name(values["name"])
    default_group_id(session, values["project_id"])
    quotas.check(session, config, values["project_id"], "security_group")
    quotas.check(session, config, values["project_id"], "security_group_rule",
                 adding=len(ETHERTYPES))
    group = SecurityGroup(project_id=values["project_id"], name=values["name"],
                          description=values["description"], stateful=values["stateful"])
    session.add(group)
    session.flush()
    for ether in ETHERTYPES:
        group.rules.append(SecurityGroupRule(project_id=group.project_id,
                                             direction="egress", ethertype=ether))
    if values.get("tags"):
        tags.set_tags(session, TAG_TYPE, group.id, values["tags"])
    session.flush()
    return group


def update_group(session, group: SecurityGroup, values: dict) -> None:
    if "name" in values and is_default(session, group):
        raise SecurityGroupCannotUpdateDefault("Updating default security group not allowed.")
    _refuse_default_name(values.get("name"))
    if "stateful" in values and values["stateful"] != group.stateful and _ports_using(
            session, group.id):
        # The data plane cannot switch a group's connection tracking under live ports.
        raise SecurityGroupInUse(f"Security Group {group.id} in use.")
    for key, value in values.items():
        setattr(group, key, value)
    bump_revision(group)
    session.flush()


def _ports_using(session, group_id: str) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(PortSecurityGroup).where(
        PortSecurityGroup.security_group_id == group_id)) or 0


def delete_group(session, group: SecurityGroup, *, is_admin: bool) -> None:
    """Delete the group, its rules and the rules of other groups that name it as
    their remote group; 409 while a port uses it, and for the default group
    unless an admin asks."""
    if is_default(session, group) and not is_admin:
        raise SecurityGroupCannotRemoveDefault(
            "Insufficient rights for removing default security group.")
    if _ports_using(session, group.id):
        raise SecurityGroupInUse(f"Security Group {group.id} in use.")
    referring = session.scalars(sa.select(SecurityGroupRule).where(
        SecurityGroupRule.remote_group_id == group.id,
        SecurityGroupRule.security_group_id != group.id)).all()
    for rule in referring:
        owner = session.get(SecurityGroup, rule.security_group_id)
        owner.rules.remove(rule)
        bump_revision(owner)
    session.execute(sa.delete(DefaultSecurityGroup).where(
        DefaultSecurityGroup.security_group_id == group.id))
    tags.forget(session, TAG_TYPE, group.id)
    session.delete(group)
    session.flush()


# -- rules ---------------------------------------------------------------------------

def rule_view(rule: SecurityGroupRule) -> dict:
    view = standard_view(rule, [])
    del view["tags"]   # rules are not taggable (standard-attr-tag names groups only)
    view.update({
        "security_group_id": rule.security_group_id,
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "protocol": rule.protocol,
        "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix,
        "remote_group_id": rule.remote_group_id,
        "remote_address_group_id": rule.remote_address_group_id,
        "normalized_cidr": normalized_cidr(rule.remote_ip_prefix)
        if rule.remote_ip_prefix else None,
    })
    return view


def group_view(group: SecurityGroup, group_tags: list[str]) -> dict:
    return {**standard_view(group, group_tags), "name": group.name,
            "stateful": group.stateful, "shared": False,
            "security_group_rules": [rule_view(rule) for rule in group.rules]}


def group_views(session, groups: list[SecurityGroup]) -> list[dict]:
    found = tags.tags_of(session, TAG_TYPE, [group.id for group in groups])
    return [group_view(group, found[group.id]) for group in groups]


def visible_rules(ctx, query: sa.Select) -> sa.Select:
    """Rules the caller can list: an admin all, else their own and those of their
    project's groups."""
    if ctx.is_admin:
        return query
    in_own_group = sa.select(SecurityGroup.id).where(
        SecurityGroup.project_id == ctx.project_id)
    return query.where(sa.or_(SecurityGroupRule.project_id == ctx.project_id,
                              SecurityGroupRule.security_group_id.in_(in_own_group)))


def get_rule(session, rule_id: str) -> SecurityGroupRule:
    rule = session.get(SecurityGroupRule, rule_id)
    if rule is None:
        raise SecurityGroupRuleNotFound(f"Security group rule {rule_id} does not exist")
    return rule


def check_rule(values: dict) -> None:
    """Neutron's checks of a rule's attributes together: the protocol against
    the ethertype, the port range (or ICMP type and code) against the protocol,
    and the remote prefix against the ethertype."""
    number = protocol_number(values["protocol"])
    if number in IPV6_ONLY_NUMBERS and values["ethertype"] == "IPv4":
        raise SecurityGroupEthertypeConflictWithProtocol(
            f"Invalid ethertype {values['ethertype']} for protocol {values['protocol']}.")
    _check_ports(values, number)
    if values.get("remote_ip_prefix") and values.get("remote_group_id"):
        raise SecurityGroupRemoteGroupAndRemoteIpPrefix(
            "Only remote_ip_prefix or remote_group_id may be provided.")
    prefix = values.get("remote_ip_prefix")
    if prefix and f"IPv{ipaddress.ip_network(prefix, strict=False).version}" != \
            values["ethertype"]:
        raise SecurityGroupRuleParameterConflict(
            f"Conflicting value ethertype {values['ethertype']} for CIDR {prefix}")


def _check_ports(values: dict, number: int | None) -> None:
    low, high = values["port_range_min"], values["port_range_max"]
    if low is None and high is None:
        return
    if number is None:
        raise SecurityGroupProtocolRequiredWithPorts(
            "Must also specify protocol if port range is given.")
    if number in PORT_PROTOCOL_NUMBERS:
        if low == 0 or high == 0:
            raise SecurityGroupInvalidPortValue("Invalid value for port 0")
        if low is None or high is None or low > high:
            raise SecurityGroupInvalidPortRange(
                "For TCP/UDP protocols, port_range_min must be <= port_range_max")
        return
    if number in ICMP_NUMBERS:
        for attribute, field in (("port_range_min", "type"), ("port_range_max", "code")):
            value = values[attribute]
            if value is not None and not 0 <= value <= 255:
                raise SecurityGroupInvalidIcmpValue(
                    f"Invalid value for ICMP {field} ({attribute}) {value}. It must be 0 "
                    "to 255.")
        if low is None:
            raise SecurityGroupMissingIcmpType(
                f"ICMP code (port-range-max) {high} is provided but ICMP type "
                "(port-range-min) is missing.")
        return
    raise SecurityGroupInvalidProtocolForPort(
        f"Ports cannot be specified for protocol {values['protocol']}. Ports are only "
        f"supported for {', '.join(name.upper() for name in PORT_PROTOCOLS)}.")


def _rule_key(rule) -> tuple:
    """What makes two rules the same rule, however they were spelled: protocols
    by number (ICMP over IPv6 is ICMPv6), the full port range as no range, and
    the whole address space as no prefix."""
    get = rule.get if isinstance(rule, dict) else lambda name: getattr(rule, name)
    number = protocol_number(get("protocol"))
    if number == 1 and get("ethertype") == "IPv6":
        number = 58
    ports = (get("port_range_min"), get("port_range_max"))
    if number in PORT_PROTOCOL_NUMBERS and ports == (1, 65535):
        ports = (None, None)
    prefix = get("remote_ip_prefix")
    prefix = normalized_cidr(prefix) if prefix else None
    if prefix in ("0.0.0.0/0", "::/0"):
        prefix = None
    return (get("direction"), get("ethertype"), number, ports, prefix,
            get("remote_group_id"), get("remote_address_group_id"))


def create_rule(session, config, group: SecurityGroup, values: dict) -> SecurityGroupRule:
    """A new rule in the group; 409 SecurityGroupRuleExists for a rule it has."""
    check_rule(values)
    key = _rule_key(values)
    for existing in group.rules:
        if _rule_key(existing) == key:
            raise SecurityGroupRuleExists(
                f"Security group rule already exists. Rule id is {existing.id}.")
    quotas.check(session, config, values["project_id"], "security_group_rule")
    rule = SecurityGroupRule(
        project_id=values["project_id"], direction=values["direction"],
        ethertype=values["ethertype"], protocol=values["protocol"],
        port_range_min=values["port_range_min"], port_range_max=values["port_range_max"],
        remote_ip_prefix=values.get("remote_ip_prefix"),
        remote_group_id=values.get("remote_group_id"),
        description=values["description"])
    group.rules.append(rule)
    bump_revision(group)
    session.flush()
    return rule


def delete_rule(session, rule: SecurityGroupRule) -> None:
    group = session.get(SecurityGroup, rule.security_group_id)
    group.rules.remove(rule)
    bump_revision(group)
    session.flush()
