"""/v2.0/security-groups."""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import security_groups
from stacklet.network.api.common import (
    authorize,
    can_get,
    check_revision,
    create_one_or_many,
    given_attributes,
    list_body,
    shape,
    values_to_create,
)
from stacklet.network.attributes import (
    Attr,
    boolean,
    description_attr,
    list_of,
    name_attr,
    parse_body,
    project_attrs,
    string,
)
from stacklet.network.errors import SecurityGroupNotFound
from stacklet.network.listing import Resource, list_page, standard_filters, standard_sort_keys
from stacklet.network.models import SecurityGroup

routes = RouteTable()


def _shared_filter(query, values):
    # No group is shared with other projects (there is no RBAC on groups).
    if any(value.strip().lower() in ("true", "1") for value in values):
        return query.where(sa.false())
    return query


RESOURCE = Resource(
    "security_group", security_groups.TAG_TYPE, SecurityGroup,
    filters={**standard_filters(SecurityGroup), "stateful": SecurityGroup.stateful,
             "shared": _shared_filter},
    sort_keys={**standard_sort_keys(SecurityGroup), "stateful": SecurityGroup.stateful})

ATTRIBUTES = {
    **project_attrs(),
    "name": name_attr(),
    "description": description_attr(),
    "stateful": Attr(boolean, put=True, default=True),
    "tags": Attr(list_of(string(255)), default=list),
}


def group_visible(req: ApiRequest, session, group_id: str):
    """The group and its view, or 404 SecurityGroupNotFound when the caller may not see it."""
    group = security_groups.get_group(session, group_id)
    view = security_groups.group_views(session, [group])[0]
    if not can_get(req, "security_group", view):
        raise SecurityGroupNotFound(f"Security group {group_id} does not exist")
    return group, view


def _listed_project(req: ApiRequest) -> str | None:
    """Whose default group a list makes sure of: the caller's project, or for an
    admin the one project the list is filtered on (as Neutron does)."""
    asked = set(req.query.getlist("project_id") + req.query.getlist("tenant_id"))
    if req.ctx.is_admin and len(asked) == 1:
        return asked.pop()
    return req.ctx.project_id


@routes.route("/v2.0/security-groups", "GET")
def list_security_groups(req: ApiRequest):
    ctx = req.ctx
    security_groups.ensure_default_group(req.cloud.db, _listed_project(req))
    with req.cloud.db.session() as session:
        page = list_page(session, security_groups.visible_groups(ctx, sa.select(SecurityGroup)),
                         RESOURCE, req.query, req.url("/v2.0/security-groups"))
        views = security_groups.group_views(session, page.rows)
    return list_body(req, "security_group", "security_groups", page, views)


@routes.route("/v2.0/security-groups/{group_id}", "GET")
def show_security_group(req: ApiRequest):
    security_groups.ensure_default_group(req.cloud.db, req.ctx.project_id)
    with req.cloud.db.session() as session:
        _, view = group_visible(req, session, req.path["group_id"])
    return {"security_group": shape(req, "security_group", view)}


@routes.route("/v2.0/security-groups", "POST", status=201)
def create_security_group(req: ApiRequest):
    config = req.cloud.config

    def create(body: dict) -> dict:
        values = values_to_create(req, body, "security_group", ATTRIBUTES)
        authorize(req, "create", "security_group",
                  {**values, "tenant_id": values["project_id"]},
                  given_attributes(body, "security_group"))
        group = security_groups.create_group(session, config, values)
        return shape(req, "security_group", security_groups.group_views(session, [group])[0])

    with req.cloud.db.transaction() as session:
        return create_one_or_many(req, "security_group", "security_groups", create)


@routes.route("/v2.0/security-groups/{group_id}", "PUT")
def update_security_group(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        group, view = group_visible(req, session, req.path["group_id"])
        values = parse_body(req.body, "security_group", ATTRIBUTES, update=True)
        authorize(req, "update", "security_group", view,
                  given_attributes(req.body, "security_group"))
        check_revision(req, group)
        security_groups.update_group(session, group, values)
        view = security_groups.group_views(session, [group])[0]
    return {"security_group": shape(req, "security_group", view)}


@routes.route("/v2.0/security-groups/{group_id}", "DELETE", status=204)
def delete_security_group(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        group, view = group_visible(req, session, req.path["group_id"])
        authorize(req, "delete", "security_group", view)
        check_revision(req, group)
        security_groups.delete_group(session, group, is_admin=req.ctx.is_admin)
