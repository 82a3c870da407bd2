"""/v2.0/networks."""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import availability_zones, floating_ips, networks, routers
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
    integer,
    list_of,
    name_attr,
    nullable,
    parse_body,
    project_attrs,
    string,
)
from stacklet.network.errors import NetworkNotFound
from stacklet.network.listing import Resource, list_page, standard_filters, standard_sort_keys
from stacklet.network.models import Network, Segment
from stacklet.network.standard import bump_revision

routes = RouteTable()


def _segment_filter(attribute: str):
    column = {"provider:network_type": Segment.network_type,
              "provider:physical_network": Segment.physical_network,
              "provider:segmentation_id": Segment.segmentation_id}[attribute]

    def narrow(query, values):
        if attribute == "provider:segmentation_id":
            values = [int(v) for v in values if v.isdigit()]
        return query.where(sa.exists().where(Segment.network_id == Network.id,
                                             column.in_(values)))
    return narrow


RESOURCE = Resource(
    "network", "networks", Network,
    filters={**standard_filters(Network),
             "admin_state_up": Network.admin_state_up, "status": Network.status,
             "shared": Network.shared, "router:external": Network.router_external,
             "is_default": Network.is_default, "mtu": Network.mtu,
             "port_security_enabled": Network.port_security_enabled,
             **{name: _segment_filter(name) for name in
                ("provider:network_type", "provider:physical_network",
                 "provider:segmentation_id")}},
    sort_keys={**standard_sort_keys(Network), "status": Network.status,
               "admin_state_up": Network.admin_state_up, "shared": Network.shared,
               "mtu": Network.mtu})

ATTRIBUTES = {
    **project_attrs(),
    "name": name_attr(),
    "description": description_attr(),
    "admin_state_up": Attr(boolean, put=True, default=True),
    "shared": Attr(boolean, put=True, default=False),
    "router:external": Attr(boolean, put=True, default=False),
    "is_default": Attr(boolean, put=True, default=False),
    "mtu": Attr(nullable(integer(68)), put=True),
    "port_security_enabled": Attr(boolean, put=True, default=True),
    "provider:network_type": Attr(string(32), put=True),
    "provider:physical_network": Attr(nullable(string(64)), put=True),
    "provider:segmentation_id": Attr(nullable(integer(0)), put=True),
    "availability_zone_hints": Attr(availability_zones.hints, default=list),
    "dns_domain": Attr(string(255), put=True, default=""),
    "tags": Attr(list_of(string(255)), default=list),
}


def network_visible(req: ApiRequest, session, network_id: str, *, for_update: bool = False):
    """The network and its view, or 404 when the caller may not see it."""
    network = networks.get(session, network_id, for_update=for_update)
    view = networks.views(session, [network])[0]
    if not can_get(req, "network", view):
        raise NetworkNotFound(f"Network {network_id} could not be found.")
    return network, view


def network_to_hold(req: ApiRequest, session, network_id: str, project_id: str):
    """The network a new port or subnet of ``project_id`` goes on.

    As Neutron's network ownership check: a non-admin puts ports and subnets
    only on their project's networks and shared ones.  Another project's
    external network is visible to all, yet its addresses are taken through
    routers and floating IPs only; it answers 404, as one not seen does."""
    network, _ = network_visible(req, session, network_id)
    if not (req.ctx.is_admin or network.shared or network.project_id == project_id):
        raise NetworkNotFound(f"Network {network_id} could not be found.")
    return network


@routes.route("/v2.0/networks", "GET")
def list_networks(req: ApiRequest):
    ctx = req.ctx
    with req.cloud.db.session() as session:
        page = list_page(session, networks.visible_to(ctx, sa.select(Network)), RESOURCE,
                         req.query, req.url("/v2.0/networks"))
        views = networks.views(session, page.rows)
    return list_body(req, "network", "networks", page, views)


@routes.route("/v2.0/networks/{network_id}", "GET")
def show_network(req: ApiRequest):
    with req.cloud.db.session() as session:
        _, view = network_visible(req, session, req.path["network_id"])
    return {"network": shape(req, "network", view)}


@routes.route("/v2.0/networks", "POST", status=201)
def create_network(req: ApiRequest):
    config = req.cloud.config

    def create(body: dict) -> dict:
        values = values_to_create(req, body, "network", ATTRIBUTES)
        authorize(req, "create", "network", {**values, "tenant_id": values["project_id"]},
                  given_attributes(body, "network"))
        network = networks.create(session, config, values)
        return shape(req, "network", networks.views(session, [network])[0])

    with req.cloud.db.transaction() as session:
        return create_one_or_many(req, "network", "networks", create)


@routes.route("/v2.0/networks/{network_id}", "PUT")
def update_network(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        network, view = network_visible(req, session, req.path["network_id"], for_update=True)
        values = parse_body(req.body, "network", ATTRIBUTES, update=True)
        authorize(req, "update", "network", view, given_attributes(req.body, "network"))
        check_revision(req, network)
        if values.get("router:external") is False and network.router_external:
            routers.check_external_unused(session, network)
        networks.update(session, req.cloud.config, network, values)
        bump_revision(network)
        session.flush()
        view = networks.views(session, [network])[0]
    return {"network": shape(req, "network", view)}


@routes.route("/v2.0/networks/{network_id}", "DELETE", status=204)
def delete_network(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        network, view = network_visible(req, session, req.path["network_id"], for_update=True)
        authorize(req, "delete", "network", view)
        check_revision(req, network)
        floating_ips.delete_on_network(session, network.id)
        networks.delete(session, network)

