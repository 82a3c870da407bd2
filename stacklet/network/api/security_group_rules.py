"""/v2.0/security-group-rules.

A rule is seen and changed as part of its group: its policy target carries the
group's project as ``security_group:project_id``.  Rules are never updated
(Neutron has no PUT for them): a changed rule is a new rule.
"""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import security_groups
from stacklet.network.api.common import (
    authorize,
    can_get,
    create_one_or_many,
    given_attributes,
    list_body,
    policy_target,
    shape,
    values_to_create,
)
from stacklet.network.attributes import (
    Attr,
    description_attr,
    ip_prefix,
    nullable,
    one_of,
    project_attrs,
    string,
)
from stacklet.network.errors import SecurityGroupNotFound, SecurityGroupRuleNotFound
from stacklet.network.listing import Resource, list_page, standard_filters, standard_sort_keys
from stacklet.network.models import SecurityGroup, SecurityGroupRule

routes = RouteTable()

_COLUMNS = ("security_group_id", "direction", "ethertype", "protocol", "port_range_min",
            "port_range_max", "remote_ip_prefix", "remote_group_id", "remote_address_group_id")

RESOURCE = Resource(
    "security_group_rule", "security_group_rules", SecurityGroupRule,
    filters={**standard_filters(SecurityGroupRule),
             **{name: getattr(SecurityGroupRule, name) for name in _COLUMNS}},
    sort_keys={**standard_sort_keys(SecurityGroupRule),
               **{name: getattr(SecurityGroupRule, name) for name in _COLUMNS}})

ATTRIBUTES = {
    **project_attrs(),
    "description": description_attr(),
    # Neither id is checked as a UUID: an unknown group is a 404, as in Neutron.
    "security_group_id": Attr(string(36), required=True),
    "direction": Attr(one_of(*security_groups.DIRECTIONS), required=True),
    "ethertype": Attr(security_groups.ethertype, default="IPv4"),
    "protocol": Attr(security_groups.protocol, default=None),
    "port_range_min": Attr(security_groups.port_value, default=None),
    "port_range_max": Attr(security_groups.port_value, default=None),
    "remote_ip_prefix": Attr(nullable(ip_prefix), default=None),
    "remote_group_id": Attr(nullable(string(36)), default=None),
}


def rule_target(rule_view: dict, group_project_id: str) -> dict:
    return policy_target(rule_view, **{"security_group:project_id": group_project_id})


def _group_owners(session, group_ids: set[str]) -> dict[str, str]:
    if not group_ids:
        return {}
    return dict(session.execute(sa.select(SecurityGroup.id, SecurityGroup.project_id).where(
        SecurityGroup.id.in_(group_ids))).all())


def _visible_group(req: ApiRequest, session, group_id: str):
    """A group the caller may see (the rule's own, or its remote group), else 404."""
    group = security_groups.get_group(session, group_id)
    if not can_get(req, "security_group", {"project_id": group.project_id,
                                           "tenant_id": group.project_id}):
        raise SecurityGroupNotFound(f"Security group {group_id} does not exist")
    return group


@routes.route("/v2.0/security-group-rules", "GET")
def list_security_group_rules(req: ApiRequest):
    ctx = req.ctx
    with req.cloud.db.session() as session:
        query = security_groups.visible_rules(ctx, sa.select(SecurityGroupRule))
        page = list_page(session, query, RESOURCE, req.query,
                         req.url("/v2.0/security-group-rules"))
        owners = _group_owners(session, {rule.security_group_id for rule in page.rows})
        views = [security_groups.rule_view(rule) for rule in page.rows]
    targets = [rule_target(view, owners[view["security_group_id"]]) for view in views]
    return list_body(req, "security_group_rule", "security_group_rules", page, views, targets)


def _rule_visible(req: ApiRequest, session, rule_id: str):
    rule = security_groups.get_rule(session, rule_id)
    view = security_groups.rule_view(rule)
    group = session.get(SecurityGroup, rule.security_group_id)
    target = rule_target(view, group.project_id)
    if not can_get(req, "security_group_rule", target):
        raise SecurityGroupRuleNotFound(f"Security group rule {rule_id} does not exist")
    return rule, view, target


@routes.route("/v2.0/security-group-rules/{rule_id}", "GET")
def show_security_group_rule(req: ApiRequest):
    with req.cloud.db.session() as session:
        _, view, target = _rule_visible(req, session, req.path["rule_id"])
    return {"security_group_rule": shape(req, "security_group_rule", view, target)}


@routes.route("/v2.0/security-group-rules", "POST", status=201)
def create_security_group_rule(req: ApiRequest):
    config = req.cloud.config

    def create(body: dict) -> dict:
        values = values_to_create(req, body, "security_group_rule", ATTRIBUTES)
        group = _visible_group(req, session, values["security_group_id"])
        if values["remote_group_id"] is not None:
            _visible_group(req, session, values["remote_group_id"])
        target = rule_target({**values, "tenant_id": values["project_id"]}, group.project_id)
        authorize(req, "create", "security_group_rule", target,
                  given_attributes(body, "security_group_rule"))
        rule = security_groups.create_rule(session, config, group, values)
        view = security_groups.rule_view(rule)
        return shape(req, "security_group_rule", view, rule_target(view, group.project_id))

    with req.cloud.db.transaction() as session:
        return create_one_or_many(req, "security_group_rule", "security_group_rules", create)


@routes.route("/v2.0/security-group-rules/{rule_id}", "DELETE", status=204)
def delete_security_group_rule(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        rule, _, target = _rule_visible(req, session, req.path["rule_id"])
        authorize(req, "delete", "security_group_rule", target)
        security_groups.delete_rule(session, rule)
