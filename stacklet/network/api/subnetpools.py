"""/v2.0/subnetpools."""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import subnetpools
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
    cidr,
    description_attr,
    integer,
    list_of,
    name_attr,
    nullable,
    parse_body,
    project_attrs,
    string,
    uuid_string,
)
from stacklet.network.errors import SubnetPoolNotFound
from stacklet.network.listing import Resource, list_page, standard_filters, standard_sort_keys
from stacklet.network.models import SubnetPool
from stacklet.network.standard import bump_revision

routes = RouteTable()

PREFIXLEN = nullable(integer(0, 128))

ATTRIBUTES = {
    **project_attrs(),
    "name": name_attr(),
    "description": description_attr(),
    "prefixes": Attr(list_of(cidr), put=True, required=True),
    "default_prefixlen": Attr(PREFIXLEN, put=True),
    "min_prefixlen": Attr(PREFIXLEN, put=True),
    "max_prefixlen": Attr(PREFIXLEN, put=True),
    "shared": Attr(boolean, default=False),
    "is_default": Attr(boolean, put=True, default=False),
    "default_quota": Attr(nullable(integer(0)), put=True),
    "address_scope_id": Attr(nullable(uuid_string), put=True),
    "tags": Attr(list_of(string(255)), default=list),
}

RESOURCE = Resource(
    "subnetpool", "subnetpools", SubnetPool,
    filters={**standard_filters(SubnetPool), "ip_version": SubnetPool.ip_version,
             "shared": SubnetPool.shared, "is_default": SubnetPool.is_default,
             "default_prefixlen": SubnetPool.default_prefixlen,
             "min_prefixlen": SubnetPool.min_prefixlen,
             "max_prefixlen": SubnetPool.max_prefixlen,
             "address_scope_id": SubnetPool.address_scope_id},
    sort_keys={**standard_sort_keys(SubnetPool), "ip_version": SubnetPool.ip_version,
               "default_prefixlen": SubnetPool.default_prefixlen})


def pool_visible(req: ApiRequest, session, pool_id: str, *, for_update: bool = False):
    pool = subnetpools.get(session, pool_id, for_update=for_update)
    view = subnetpools.views(session, [pool])[0]
    if not can_get(req, "subnetpool", view):
        raise SubnetPoolNotFound(f"Subnet pool {pool_id} could not be found.")
    return pool, view


@routes.route("/v2.0/subnetpools", "GET")
def list_subnetpools(req: ApiRequest):
    with req.cloud.db.session() as session:
        page = list_page(session, subnetpools.visible_to(req.ctx, sa.select(SubnetPool)),
                         RESOURCE, req.query, req.url("/v2.0/subnetpools"))
        views = subnetpools.views(session, page.rows)
    return list_body(req, "subnetpool", "subnetpools", page, views)


@routes.route("/v2.0/subnetpools/{subnetpool_id}", "GET")
def show_subnetpool(req: ApiRequest):
    with req.cloud.db.session() as session:
        _, view = pool_visible(req, session, req.path["subnetpool_id"])
    return {"subnetpool": shape(req, "subnetpool", view)}


@routes.route("/v2.0/subnetpools", "POST", status=201)
def create_subnetpool(req: ApiRequest):

    def create(body: dict) -> dict:
        values = values_to_create(req, body, "subnetpool", ATTRIBUTES)
        authorize(req, "create", "subnetpool", {**values, "tenant_id": values["project_id"]},
                  given_attributes(body, "subnetpool"))
        pool = subnetpools.create(session, req.cloud.config, values)
        return shape(req, "subnetpool", subnetpools.views(session, [pool])[0])

    with req.cloud.db.transaction() as session:
        return create_one_or_many(req, "subnetpool", "subnetpools", create)


@routes.route("/v2.0/subnetpools/{subnetpool_id}", "PUT")
def update_subnetpool(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        pool, view = pool_visible(req, session, req.path["subnetpool_id"], for_update=True)
        values = parse_body(req.body, "subnetpool", ATTRIBUTES, update=True)
        authorize(req, "update", "subnetpool", view, given_attributes(req.body, "subnetpool"))
        check_revision(req, pool)
        subnetpools.update(session, pool, values)
        bump_revision(pool)
        session.flush()
        view = subnetpools.views(session, [pool])[0]
    return {"subnetpool": shape(req, "subnetpool", view)}


@routes.route("/v2.0/subnetpools/{subnetpool_id}", "DELETE", status=204)
def delete_subnetpool(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        pool, view = pool_visible(req, session, req.path["subnetpool_id"], for_update=True)
        authorize(req, "delete", "subnetpool", view)
        check_revision(req, pool)
        subnetpools.delete(session, pool)
