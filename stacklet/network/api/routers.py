"""/v2.0/routers: routers, their gateway, interfaces and static routes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import routers
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
from stacklet.network.api.subnets import subnet_visible
from stacklet.network.attributes import (
    Attr,
    Invalid,
    boolean,
    cidr,
    description_attr,
    dictionary,
    ip_address,
    list_of,
    name_attr,
    nullable,
    parse_body,
    project_attrs,
    string,
    uuid_string,
)
from stacklet.network.errors import BadRequest, RouterNotFound
from stacklet.network.listing import Resource, list_page, standard_filters, standard_sort_keys
from stacklet.network.models import Network, Router
from stacklet.network.standard import bump_revision

routes = RouteTable()

RESOURCE = Resource(
    "router", "routers", Router,
    filters={**standard_filters(Router), "admin_state_up": Router.admin_state_up,
             "status": Router.status},
    sort_keys={**standard_sort_keys(Router), "admin_state_up": Router.admin_state_up,
               "status": Router.status})


def _keys_failed(expected: set[str], provided: dict) -> Invalid:
    return Invalid(f"Validation of dictionary's keys failed. Expected keys: {expected} "
                   f"Provided keys: {set(provided)}")


def _fixed_ip(value: Any) -> dict:
    item = dictionary(value)
    fixed_ip = {}
    if "subnet_id" in item:
        fixed_ip["subnet_id"] = uuid_string(item["subnet_id"])
    if "ip_address" in item:
        fixed_ip["ip_address"] = ip_address(item["ip_address"])
    return fixed_ip


def gateway_info(value: Any) -> dict | None:
    """external_gateway_info: null or {} clears the gateway; otherwise network_id
    is required, with optional enable_snat and external_fixed_ips."""
    if value is None or value == {}:
        return None
    info = dictionary(value)
    if "network_id" not in info:
        raise _keys_failed({"network_id"}, info)
    result = {"network_id": uuid_string(info["network_id"])}
    if "enable_snat" in info:
        result["enable_snat"] = boolean(info["enable_snat"])
    if info.get("external_fixed_ips") is not None:
        result["external_fixed_ips"] = list_of(_fixed_ip, unique=True)(
            info["external_fixed_ips"])
    return result


def _route(value: Any) -> dict:
    route = dictionary(value)
    if set(route) != {"destination", "nexthop"}:
        raise _keys_failed({"destination", "nexthop"}, route)
    return {"destination": cidr(route["destination"]), "nexthop": ip_address(route["nexthop"])}


def route_list(value: Any) -> list[dict]:
    """routes: a list of {destination, nexthop}; null is the empty list."""
    return [] if value is None else list_of(_route, unique=True)(value)


ATTRIBUTES = {
    **project_attrs(),
    "name": name_attr(),
    "description": description_attr(),
    "admin_state_up": Attr(boolean, put=True, default=True),
    "external_gateway_info": Attr(gateway_info, put=True, default=None),
    "routes": Attr(route_list, post=False, put=True),
    "distributed": Attr(boolean, put=True),
    "ha": Attr(boolean, put=True),
    "availability_zone_hints": Attr(list_of(string(255)), default=list),
    "flavor_id": Attr(nullable(uuid_string)),
    "tags": Attr(list_of(string(255)), default=list),
}
ROUTES_BODY = {"routes": Attr(route_list, put=True, required=True)}


def router_visible(req: ApiRequest, session, router_id: str, *, for_update: bool = False):
    """The router and its view, or 404 when the caller may not see it."""
    router = routers.get(session, router_id, for_update=for_update)
    view = routers.views(session, [router])[0]
    if not can_get(req, "router", view):
        raise RouterNotFound(f"Router {router_id} could not be found.")
    return router, view


def _gateway_network(req: ApiRequest, session, values: dict) -> Network | None:
    info = values.get("external_gateway_info")
    if not info:
        return None
    network, _ = network_visible(req, session, info["network_id"])
    return network


def _view(req: ApiRequest, session, router: Router) -> dict:
    return shape(req, "router", routers.views(session, [router])[0])


@routes.route("/v2.0/routers", "GET")
def list_routers(req: ApiRequest):
    with req.cloud.db.session() as session:
        page = list_page(session, routers.visible_to(req.ctx, sa.select(Router)), RESOURCE,
                         req.query, req.url("/v2.0/routers"))
        views = routers.views(session, page.rows)
    return list_body(req, "router", "routers", page, views)


@routes.route("/v2.0/routers/{router_id}", "GET")
def show_router(req: ApiRequest):
    with req.cloud.db.session() as session:
        _, view = router_visible(req, session, req.path["router_id"])
    return {"router": shape(req, "router", view)}


@routes.route("/v2.0/routers", "POST", status=201)
def create_router(req: ApiRequest):

    def create(body: dict) -> dict:
        values = values_to_create(req, body, "router", ATTRIBUTES)
        if values.get("flavor_id"):
            raise BadRequest("Router flavors are not supported.")
        authorize(req, "create", "router", {**values, "tenant_id": values["project_id"]},
                  given_attributes(body, "router"))
        network = _gateway_network(req, session, values)
        router = routers.create(session, req.cloud.config, values, network)
        return _view(req, session, router)

    with req.cloud.db.transaction() as session:
        return create_one_or_many(req, "router", "routers", create)


@routes.route("/v2.0/routers/{router_id}", "PUT")
def update_router(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        router, view = router_visible(req, session, req.path["router_id"], for_update=True)
        values = parse_body(req.body, "router", ATTRIBUTES, update=True)
        authorize(req, "update", "router", view, given_attributes(req.body, "router"))
        check_revision(req, router)
        network = _gateway_network(req, session, values)
        routers.update(session, req.cloud.config, router, values, network)
        bump_revision(router)
        session.flush()
        return {"router": _view(req, session, router)}


@routes.route("/v2.0/routers/{router_id}", "DELETE", status=204)
def delete_router(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        router, view = router_visible(req, session, req.path["router_id"], for_update=True)
        authorize(req, "delete", "router", view)
        check_revision(req, router)
        routers.delete(session, router)


# -- interfaces --------------------------------------------------------------------------

def _interface_request(body: Any, *, removal: bool) -> tuple[str | None, str | None]:
    """(port_id, subnet_id) of an add/remove_router_interface body, checked as Neutron
    does: one of them (both only when removing), each a UUID."""
    body = body if isinstance(body, dict) else {}
    if "port_id" not in body and "subnet_id" not in body:
        raise routers.router_error("Either subnet_id or port_id must be specified")
    for key in ("port_id", "subnet_id"):
        if key in body:
            try:
                uuid_string(body[key])
            except Invalid as exc:
                raise routers.router_error(str(exc)) from None
    if not removal and "port_id" in body and "subnet_id" in body:
        raise routers.router_error("Cannot specify both subnet-id and port-id")
    return body.get("port_id"), body.get("subnet_id")


@routes.route("/v2.0/routers/{router_id}/add_router_interface", "PUT")
def add_router_interface(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        router, view = router_visible(req, session, req.path["router_id"], for_update=True)
        authorize(req, "add", "router_interface", view)
        port_id, subnet_id = _interface_request(req.body, removal=False)
        if port_id:
            port, _, _ = port_visible(req, session, port_id)
            info = routers.add_interface_port(session, req.cloud.config, router, port)
        else:
            subnet, _, _ = subnet_visible(req, session, subnet_id)
            info = routers.add_interface_on_subnet(session, req.cloud.config, req.ctx, router,
                                                   subnet)
        bump_revision(router)
        return info


@routes.route("/v2.0/routers/{router_id}/remove_router_interface", "PUT")
def remove_router_interface(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        router, view = router_visible(req, session, req.path["router_id"], for_update=True)
        authorize(req, "remove", "router_interface", view)
        port_id, subnet_id = _interface_request(req.body, removal=True)
        if port_id:
            info = routers.remove_interface_port(session, router, port_id, subnet_id)
        else:
            subnet, _, _ = subnet_visible(req, session, subnet_id)
            info = routers.remove_interface_on_subnet(session, req.cloud.config, router,
                                                      subnet)
        bump_revision(router)
        return info


# -- extraroute-atomic ---------------------------------------------------------------

def _change_routes(req: ApiRequest, action: str, change) -> dict:
    with req.cloud.db.transaction() as session:
        router, view = router_visible(req, session, req.path["router_id"], for_update=True)
        authorize(req, action, "extraroutes", view)
        values = parse_body(req.body, "router", ROUTES_BODY)
        change(session, router, values["routes"])
        bump_revision(router)
        session.flush()
        return {"router": _view(req, session, router)}


@routes.route("/v2.0/routers/{router_id}/add_extraroutes", "PUT")
def add_extraroutes(req: ApiRequest):
    return _change_routes(req, "add", routers.add_routes)


@routes.route("/v2.0/routers/{router_id}/remove_extraroutes", "PUT")
def remove_extraroutes(req: ApiRequest):
    return _change_routes(req, "remove", routers.remove_routes)
