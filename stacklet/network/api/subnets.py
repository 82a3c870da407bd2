"""/v2.0/subnets."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import networks, subnets
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
from stacklet.network.api.networks import network_to_hold
from stacklet.network.api.subnetpools import pool_visible
from stacklet.network.attributes import (
    Attr,
    Invalid,
    boolean,
    cidr,
    description_attr,
    integer,
    ip_address,
    list_of,
    name_attr,
    nullable,
    one_of,
    parse_body,
    project_attrs,
    string,
    uuid_string,
)
from stacklet.network.errors import SubnetNotFound
from stacklet.network.listing import Resource, list_page, standard_filters, standard_sort_keys
from stacklet.network.models import Network, Subnet
from stacklet.network.standard import bump_revision

routes = RouteTable()


def _host_route(value: Any) -> dict:
    if not isinstance(value, dict) or set(value) != {"destination", "nexthop"}:
        raise Invalid(f"'{value}' is not a valid host route: destination and nexthop are "
                      "required")
    return {"destination": cidr(value["destination"]), "nexthop": ip_address(value["nexthop"])}


def _pool(value: Any) -> dict:
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise Invalid(f"'{value}' is not a valid allocation pool: start and end are required")
    return {"start": ip_address(value["start"]), "end": ip_address(value["end"])}


IPV6_MODE = nullable(one_of(*subnets.IPV6_MODES))

ATTRIBUTES = {
    **project_attrs(),
    "name": name_attr(),
    "description": description_attr(),
    "network_id": Attr(uuid_string, required=True),
    "ip_version": Attr(one_of(4, 6), required=True),
    "cidr": Attr(nullable(cidr)),
    "prefixlen": Attr(nullable(integer(0, 128))),
    "subnetpool_id": Attr(nullable(uuid_string)),
    "use_default_subnetpool": Attr(boolean, default=False),
    "gateway_ip": Attr(nullable(ip_address), put=True),
    "allocation_pools": Attr(nullable(list_of(_pool)), put=True),
    "dns_nameservers": Attr(nullable(list_of(ip_address)), put=True),
    "host_routes": Attr(nullable(list_of(_host_route)), put=True),
    "enable_dhcp": Attr(boolean, put=True, default=True),
    "ipv6_ra_mode": Attr(IPV6_MODE),
    "ipv6_address_mode": Attr(IPV6_MODE),
    "segment_id": Attr(nullable(uuid_string), put=True),
    "service_types": Attr(nullable(list_of(string(255))), put=True),
    "dns_publish_fixed_ip": Attr(boolean, put=True, default=False),
    "tags": Attr(list_of(string(255)), default=list),
}

RESOURCE = Resource(
    "subnet", "subnets", Subnet,
    filters={**standard_filters(Subnet),
             "network_id": Subnet.network_id, "ip_version": Subnet.ip_version,
             "cidr": Subnet.cidr, "gateway_ip": Subnet.gateway_ip,
             "enable_dhcp": Subnet.enable_dhcp, "ipv6_ra_mode": Subnet.ipv6_ra_mode,
             "ipv6_address_mode": Subnet.ipv6_address_mode,
             "subnetpool_id": Subnet.subnetpool_id, "segment_id": Subnet.segment_id},
    sort_keys={**standard_sort_keys(Subnet), "network_id": Subnet.network_id,
               "ip_version": Subnet.ip_version, "cidr": Subnet.cidr,
               "gateway_ip": Subnet.gateway_ip, "enable_dhcp": Subnet.enable_dhcp})


def subnet_visible(req: ApiRequest, session, subnet_id: str, *, for_update: bool = False):
    """The subnet, its view and policy target; 404 when the caller may not see it."""
    subnet = subnets.get(session, subnet_id, for_update=for_update)
    view = subnets.views(session, [subnet])[0]
    target = subnets.policy_target(view, networks.get(session, subnet.network_id))
    if not can_get(req, "subnet", target):
        raise SubnetNotFound(f"Subnet {subnet_id} could not be found.")
    return subnet, view, target


@routes.route("/v2.0/subnets", "GET")
def list_subnets(req: ApiRequest):
    with req.cloud.db.session() as session:
        page = list_page(session, subnets.visible_to(req.ctx, sa.select(Subnet)), RESOURCE,
                         req.query, req.url("/v2.0/subnets"))
        views = subnets.views(session, page.rows)
        owners = {network.id: network for network in session.scalars(
            sa.select(Network).where(Network.id.in_({s.network_id for s in page.rows})))}
    targets = [subnets.policy_target(view, owners[view["network_id"]]) for view in views]
    return list_body(req, "subnet", "subnets", page, views, targets)


@routes.route("/v2.0/subnets/{subnet_id}", "GET")
def show_subnet(req: ApiRequest):
    with req.cloud.db.session() as session:
        _, view, target = subnet_visible(req, session, req.path["subnet_id"])
    return {"subnet": shape(req, "subnet", view, target)}


@routes.route("/v2.0/subnets", "POST", status=201)
def create_subnet(req: ApiRequest):
    config = req.cloud.config

    def create(body: dict) -> dict:
        values = values_to_create(req, body, "subnet", ATTRIBUTES)
        network = network_to_hold(req, session, values["network_id"], values["project_id"])
        target = subnets.policy_target({**values, "tenant_id": values["project_id"]},
                                       network)
        authorize(req, "create", "subnet", target, given_attributes(body, "subnet"))
        if values.get("subnetpool_id"):
            # Prefixes come only from a pool the caller may see: its own, or a shared one.
            pool_visible(req, session, values["subnetpool_id"])
        subnet = subnets.create(session, config, network, values)
        view = subnets.views(session, [subnet])[0]
        return shape(req, "subnet", view, subnets.policy_target(view, network))

    with req.cloud.db.transaction() as session:
        return create_one_or_many(req, "subnet", "subnets", create)


@routes.route("/v2.0/subnets/{subnet_id}", "PUT")
def update_subnet(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        subnet, _, target = subnet_visible(req, session, req.path["subnet_id"],
                                           for_update=True)
        values = parse_body(req.body, "subnet", ATTRIBUTES, update=True)
        authorize(req, "update", "subnet", target, given_attributes(req.body, "subnet"))
        check_revision(req, subnet)
        subnets.update(session, subnet, values)
        bump_revision(subnet)
        session.flush()
        view = subnets.views(session, [subnet])[0]
        target = subnets.policy_target(view, networks.get(session, subnet.network_id))
    return {"subnet": shape(req, "subnet", view, target)}


@routes.route("/v2.0/subnets/{subnet_id}", "DELETE", status=204)
def delete_subnet(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        subnet, _, target = subnet_visible(req, session, req.path["subnet_id"],
                                           for_update=True)
        authorize(req, "delete", "subnet", target)
        check_revision(req, subnet)
        subnets.delete(session, subnet)
