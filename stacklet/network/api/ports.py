"""/v2.0/ports."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import devices, networks, ports
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
from stacklet.network.attributes import (
    Attr,
    Invalid,
    boolean,
    description_attr,
    dictionary,
    ip_address,
    ip_prefix,
    list_of,
    mac_address,
    name_attr,
    nullable,
    one_of,
    parse_body,
    project_attrs,
    string,
    uuid_string,
)
from stacklet.network.errors import BadRequest, PortNotFound
from stacklet.network.listing import Resource, list_page, standard_filters, standard_sort_keys
from stacklet.network.models import IPAllocation, Network, Port, PortSecurityGroup

routes = RouteTable()

VNIC_TYPES = ("normal", "direct", "macvtap", "baremetal", "direct-physical",
              "virtio-forwarder", "smart-nic", "vdpa", "remote-managed")


def _fixed_ip(value: Any) -> dict:
    if not isinstance(value, dict) or not value or set(value) - {"subnet_id", "ip_address"}:
        raise Invalid(f"'{value}' is not a valid fixed IP: give subnet_id and/or ip_address")
    result = {}
    if value.get("subnet_id") is not None:
        result["subnet_id"] = uuid_string(value["subnet_id"])
    if value.get("ip_address") is not None:
        result["ip_address"] = ip_address(value["ip_address"])
    if not result:
        raise Invalid(f"'{value}' is not a valid fixed IP: give subnet_id and/or ip_address")
    return result


_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _dns_name(value: Any) -> str:
    """A host name or a fully qualified name (ending in a dot), or "" for none."""
    text = string(255)(value)
    labels = text[:-1].split(".") if text.endswith(".") else text.split(".")
    if text and not all(_DNS_LABEL.match(label) for label in labels):
        raise Invalid(f"'{value}' is not a valid DNS name")
    return text.lower()


def _address_pair(value: Any) -> dict:
    if not isinstance(value, dict) or "ip_address" not in value or \
            set(value) - {"ip_address", "mac_address"}:
        raise Invalid(f"'{value}' is not a valid address pair: ip_address is required, "
                      "mac_address optional")
    address = value["ip_address"]
    pair = {"ip_address": ip_prefix(address) if isinstance(address, str) and "/" in address
            else ip_address(address)}
    if value.get("mac_address") is not None:
        pair["mac_address"] = mac_address(value["mac_address"])
    return pair


def _dhcp_option(value: Any) -> dict:
    if not isinstance(value, dict) or "opt_name" not in value or \
            set(value) - {"opt_name", "opt_value", "ip_version"}:
        raise Invalid(f"'{value}' is not a valid DHCP option: opt_name and opt_value are "
                      "required")
    return {"opt_name": string(255)(value["opt_name"]),
            "opt_value": nullable(string(255))(value.get("opt_value")),
            "ip_version": one_of(4, 6)(value.get("ip_version", 4))}


ATTRIBUTES = {
    **project_attrs(),
    "name": name_attr(),
    "description": description_attr(),
    "network_id": Attr(uuid_string, required=True),
    "admin_state_up": Attr(boolean, put=True, default=True),
    "mac_address": Attr(mac_address, put=True),
    "fixed_ips": Attr(nullable(list_of(_fixed_ip)), put=True),
    "device_id": Attr(string(255), put=True, default=""),
    "device_owner": Attr(string(255), put=True, default=""),
    "security_groups": Attr(nullable(list_of(uuid_string)), put=True),
    "port_security_enabled": Attr(nullable(boolean), put=True),
    "allowed_address_pairs": Attr(nullable(list_of(_address_pair)), put=True),
    "extra_dhcp_opts": Attr(nullable(list_of(_dhcp_option)), put=True),
    "binding:host_id": Attr(nullable(string(255)), put=True),
    "binding:vnic_type": Attr(one_of(*VNIC_TYPES), put=True),
    "binding:profile": Attr(nullable(dictionary), put=True),
    "dns_name": Attr(_dns_name, put=True, default=""),
    "tags": Attr(list_of(string(255)), default=list),
}


def _fixed_ips_filter(query, values: list[str]):
    """Neutron's ``fixed_ips=ip_address=X`` / ``fixed_ips=subnet_id=Y`` /
    ``fixed_ips=ip_address_substr=Z`` (ip-substring-filtering): ports with an
    address matching every given part."""
    conditions = {"ip_address": [], "subnet_id": [], "ip_address_substr": []}
    for value in values:
        key, _, wanted = value.partition("=")
        if key not in conditions or not wanted:
            raise BadRequest(f"Invalid fixed_ips filter '{value}': expected ip_address=<ip>, "
                             "ip_address_substr=<text> or subnet_id=<id>")
        conditions[key].append(wanted)
    match = sa.exists().where(IPAllocation.port_id == Port.id)
    for part in conditions["ip_address_substr"]:
        match = match.where(IPAllocation.ip_address.contains(part, autoescape=True))
    if conditions["ip_address"]:
        match = match.where(IPAllocation.ip_address.in_(conditions["ip_address"]))
    if conditions["subnet_id"]:
        match = match.where(IPAllocation.subnet_id.in_(conditions["subnet_id"]))
    return query.where(match)


def _security_groups_filter(query, values: list[str]):
    return query.where(sa.exists().where(PortSecurityGroup.port_id == Port.id,
                                         PortSecurityGroup.security_group_id.in_(values)))


RESOURCE = Resource(
    "port", "ports", Port,
    filters={**standard_filters(Port), "dns_name": Port.dns_name,
             "network_id": Port.network_id, "mac_address": Port.mac_address,
             "device_id": Port.device_id, "device_owner": Port.device_owner,
             "status": Port.status, "admin_state_up": Port.admin_state_up,
             "port_security_enabled": Port.port_security_enabled,
             "binding:host_id": Port.binding_host_id,
             "binding:vnic_type": Port.binding_vnic_type,
             "fixed_ips": _fixed_ips_filter, "security_groups": _security_groups_filter},
    sort_keys={**standard_sort_keys(Port), "network_id": Port.network_id,
               "mac_address": Port.mac_address, "device_id": Port.device_id,
               "device_owner": Port.device_owner, "status": Port.status,
               "admin_state_up": Port.admin_state_up})


def _attribute_rules(body) -> dict:
    """The attributes set, with fixed_ips as the union of the keys of its entries, so
    ``create_port:fixed_ips:ip_address`` and ``...:subnet_id`` are checked."""
    given = given_attributes(body, "port")
    if isinstance(given.get("fixed_ips"), list):
        given["fixed_ips"] = {key: True for entry in given["fixed_ips"]
                              if isinstance(entry, dict) for key in entry}
    return given


def _dns_domain(req: ApiRequest) -> str:
    return req.cloud.config.get("network", "dns_domain")


def port_visible(req: ApiRequest, session, port_id: str, *, for_update: bool = False):
    """The port, its view and its policy target; 404 when the caller may not see it."""
    port = ports.get(session, port_id, for_update=for_update)
    view = ports.views(session, [port], _dns_domain(req))[0]
    target = ports.policy_target(view, networks.get(session, port.network_id))
    if not can_get(req, "port", target):
        raise PortNotFound(f"Port {port_id} could not be found.")
    return port, view, target


@routes.route("/v2.0/ports", "GET")
def list_ports(req: ApiRequest):
    with req.cloud.db.session() as session:
        page = list_page(session, ports.visible_to(req.ctx, sa.select(Port)), RESOURCE,
                         req.query, req.url("/v2.0/ports"))
        views = ports.views(session, page.rows, _dns_domain(req))
        owners = {network.id: network for network in session.scalars(
            sa.select(Network).where(
                Network.id.in_({port.network_id for port in page.rows})))}
    targets = [ports.policy_target(view, owners[view["network_id"]]) for view in views]
    return list_body(req, "port", "ports", page, views, targets)


@routes.route("/v2.0/ports/{port_id}", "GET")
def show_port(req: ApiRequest):
    with req.cloud.db.session() as session:
        _, view, target = port_visible(req, session, req.path["port_id"])
    return {"port": shape(req, "port", view, target)}


@routes.route("/v2.0/ports", "POST", status=201)
def create_port(req: ApiRequest):
    config = req.cloud.config

    def create(body: dict) -> dict:
        values = values_to_create(req, body, "port", ATTRIBUTES)
        network = network_to_hold(req, session, values["network_id"], values["project_id"])
        target = ports.policy_target({**values, "tenant_id": values["project_id"]}, network)
        authorize(req, "create", "port", target, _attribute_rules(body))
        devices.check_named_device(session, req.ctx, values)
        port = ports.create_port(session, config, values)
        view = ports.views(session, [port], _dns_domain(req))[0]
        return shape(req, "port", view, ports.policy_target(view, network))

    with req.cloud.db.transaction() as session:
        return create_one_or_many(req, "port", "ports", create)


@routes.route("/v2.0/ports/{port_id}", "PUT")
def update_port(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        port, _, target = port_visible(req, session, req.path["port_id"], for_update=True)
        values = parse_body(req.body, "port", ATTRIBUTES, update=True)
        authorize(req, "update", "port", target, _attribute_rules(req.body))
        devices.check_named_device(session, req.ctx, values, port)
        check_revision(req, port)
        ports.update_port(session, req.cloud.config, port, values)
        view = ports.views(session, [port], _dns_domain(req))[0]
        target = ports.policy_target(view, networks.get(session, port.network_id))
    return {"port": shape(req, "port", view, target)}


@routes.route("/v2.0/ports/{port_id}", "DELETE", status=204)
def delete_port(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        port, _, target = port_visible(req, session, req.path["port_id"], for_update=True)
        authorize(req, "delete", "port", target)
        check_revision(req, port)
        ports.check_user_may_delete(session, port)
        ports.delete_port(session, port)
