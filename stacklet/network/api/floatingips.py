"""/v2.0/floatingips: floating IPs and their association with ports."""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import floating_ips
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
from stacklet.network.api.networks import network_visible
from stacklet.network.api.ports import port_visible
from stacklet.network.attributes import (
    Attr,
    description_attr,
    ip_address,
    list_of,
    nullable,
    parse_body,
    project_attrs,
    string,
    uuid_string,
)
from stacklet.network.errors import FloatingIPNotFound
from stacklet.network.listing import Resource, list_page, standard_filters, standard_sort_keys
from stacklet.network.models import FloatingIP
from stacklet.network.standard import bump_revision

routes = RouteTable()

RESOURCE = Resource(
    "floatingip", "floatingips", FloatingIP,
    filters={**standard_filters(FloatingIP),
             "floating_ip_address": FloatingIP.floating_ip_address,
             "floating_network_id": FloatingIP.floating_network_id,
             "port_id": FloatingIP.fixed_port_id, "router_id": FloatingIP.router_id,
             "fixed_ip_address": FloatingIP.fixed_ip_address, "status": FloatingIP.status},
    sort_keys={**standard_sort_keys(FloatingIP),
               "floating_ip_address": FloatingIP.floating_ip_address,
               "floating_network_id": FloatingIP.floating_network_id,
               "port_id": FloatingIP.fixed_port_id, "router_id": FloatingIP.router_id,
               "fixed_ip_address": FloatingIP.fixed_ip_address, "status": FloatingIP.status})

ATTRIBUTES = {
    **project_attrs(),
    "floating_network_id": Attr(uuid_string, required=True),
    "floating_ip_address": Attr(ip_address),
    "subnet_id": Attr(nullable(uuid_string)),
    "port_id": Attr(nullable(uuid_string), put=True),
    "fixed_ip_address": Attr(nullable(ip_address), put=True),
    "description": description_attr(),
    "tags": Attr(list_of(string(255)), default=list),
}


def floatingip_visible(req: ApiRequest, session, floatingip_id: str, *,
                       for_update: bool = False):
    """The floating IP and its view, or 404 when the caller may not see it."""
    floatingip = floating_ips.get(session, floatingip_id, for_update=for_update)
    view = floating_ips.views(session, [floatingip])[0]
    if not can_get(req, "floatingip", view):
        raise FloatingIPNotFound(f"Floating IP {floatingip_id} could not be found")
    return floatingip, view


def _view(req: ApiRequest, session, floatingip: FloatingIP) -> dict:
    return shape(req, "floatingip", floating_ips.views(session, [floatingip])[0])


@routes.route("/v2.0/floatingips", "GET")
def list_floatingips(req: ApiRequest):
    with req.cloud.db.session() as session:
        page = list_page(session, floating_ips.visible_to(req.ctx, sa.select(FloatingIP)),
                         RESOURCE, req.query, req.url("/v2.0/floatingips"))
        views = floating_ips.views(session, page.rows)
    return list_body(req, "floatingip", "floatingips", page, views)


@routes.route("/v2.0/floatingips/{floatingip_id}", "GET")
def show_floatingip(req: ApiRequest):
    with req.cloud.db.session() as session:
        _, view = floatingip_visible(req, session, req.path["floatingip_id"])
    return {"floatingip": shape(req, "floatingip", view)}


@routes.route("/v2.0/floatingips", "POST", status=201)
def create_floatingip(req: ApiRequest):
    ctx = req.ctx

    def create(body: dict) -> dict:
        values = values_to_create(req, body, "floatingip", ATTRIBUTES)
        authorize(req, "create", "floatingip", {**values, "tenant_id": values["project_id"]},
                  given_attributes(body, "floatingip"))
        network, _ = network_visible(req, session, values["floating_network_id"])
        port = port_visible(req, session, values["port_id"])[0] if values.get("port_id") else None
        floatingip = floating_ips.create(session, req.cloud.config, ctx, values, network, port)
        return _view(req, session, floatingip)

    with req.cloud.db.transaction() as session:
        return create_one_or_many(req, "floatingip", "floatingips", create)


@routes.route("/v2.0/floatingips/{floatingip_id}", "PUT")
def update_floatingip(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        floatingip, view = floatingip_visible(req, session, req.path["floatingip_id"],
                                              for_update=True)
        values = parse_body(req.body, "floatingip", ATTRIBUTES, update=True)
        authorize(req, "update", "floatingip", view, given_attributes(req.body, "floatingip"))
        check_revision(req, floatingip)
        port = port_visible(req, session, values["port_id"])[0] if values.get("port_id") else None
        floating_ips.update(session, req.ctx, floatingip, values, port)
        bump_revision(floatingip)
        session.flush()
        return {"floatingip": _view(req, session, floatingip)}


@routes.route("/v2.0/floatingips/{floatingip_id}", "DELETE", status=204)
def delete_floatingip(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        floatingip, view = floatingip_visible(req, session, req.path["floatingip_id"],
                                              for_update=True)
        authorize(req, "delete", "floatingip", view)
        check_revision(req, floatingip)
        floating_ips.delete(session, floatingip)
