"""Nova's deprecated proxies to the network service's security groups (until
2.35): /os-security-groups, /os-security-group-rules and a server's groups.

Nova shows a Neutron group in its own shape: only ingress rules, each with
``ip_protocol``, ``from_port``/``to_port`` (1-65535 or -1 when Neutron has no
range), ``ip_range`` and ``group``.  Everything is asked of the network API
as the caller, so Neutron's ownership and validation apply.
"""

from __future__ import annotations

import ipaddress
import uuid

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, NotFound
from stacklet.compute.api.common import require_version
from stacklet.compute.api.server_lookup import authorized_server
from stacklet.compute.neutron import Neutron

routes = RouteTable()

LAST_VERSION = "2.35"
_RULE = "os_compute_api:os-security-groups:"
_PORT_PROTOCOLS = ("tcp", "udp")


def _authorize(req: ApiRequest, action: str) -> Neutron:
    require_version(req, "2.1", LAST_VERSION)
    req.authorize(_RULE + action, {"project_id": req.ctx.project_id})
    return Neutron(req)


def _group_view(group: dict, names: dict[str, dict]) -> dict:
    return {"id": group["id"], "name": group["name"], "description": group["description"],
            "tenant_id": group["project_id"],
            "rules": [_rule_view(rule, names) for rule in group["security_group_rules"]
                      if rule["direction"] == "ingress"]}


def _rule_view(rule: dict, names: dict[str, dict]) -> dict:
    protocol = rule["protocol"]
    low, high = rule["port_range_min"], rule["port_range_max"]
    if protocol and low is None and high is None:
        low, high = (1, 65535) if protocol.lower() in _PORT_PROTOCOLS else (-1, -1)
    group = {}
    if rule["remote_group_id"]:
        remote = names.get(rule["remote_group_id"], {})
        group = {"name": remote.get("name"), "tenant_id": remote.get("project_id")}
    return {"id": rule["id"], "parent_group_id": rule["security_group_id"],
            "ip_protocol": protocol, "from_port": low, "to_port": high,
            "ip_range": {"cidr": rule["remote_ip_prefix"]} if rule["remote_ip_prefix"] else {},
            "group": group}


def _groups_by_id(groups: list[dict]) -> dict[str, dict]:
    return {group["id"]: group for group in groups}


def _find_group(neutron: Neutron, group_id: str) -> dict:
    try:
        return neutron.get(f"/security-groups/{group_id}")["security_group"]
    except NotFound:
        raise NotFound(f"Security group {group_id} not found.") from None


def _group_body(req: ApiRequest) -> dict:
    body = req.json_body("security_group")
    if not isinstance(body, dict):
        raise BadRequest("Invalid input: 'security_group' must be an object.")
    values = {}
    for key in ("name", "description"):
        value = body.get(key)
        if value is None:
            raise BadRequest(f"Security group {key} is required.")
        if not isinstance(value, str) or len(value) > 255:
            raise BadRequest(f"Security group {key} must be a string of at most "
                             "255 characters.")
        values[key] = value
    if not values["name"].strip():
        raise BadRequest("Security group name cannot be empty.")
    return values


@routes.route("/v2.1/os-security-groups", "GET")
def list_groups(req: ApiRequest):
    neutron = _authorize(req, "get")
    query = {} if req.ctx.is_admin and req.query.get("all_tenants") else \
        {"project_id": req.ctx.project_id}
    groups = neutron.get("/security-groups", **query)["security_groups"]
    names = _groups_by_id(groups)
    return {"security_groups": [_group_view(group, names) for group in groups]}


@routes.route("/v2.1/os-security-groups/{group_id}", "GET")
def show_group(req: ApiRequest):
    neutron = _authorize(req, "show")
    group = _find_group(neutron, req.path["group_id"])
    return {"security_group": _group_view(group, _groups_by_id([group]))}


@routes.route("/v2.1/os-security-groups", "POST")
def create_group(req: ApiRequest):
    neutron = _authorize(req, "create")
    group = neutron.post("/security-groups", {"security_group": _group_body(req)})
    group = group["security_group"]
    return {"security_group": _group_view(group, _groups_by_id([group]))}


@routes.route("/v2.1/os-security-groups/{group_id}", "PUT")
def update_group(req: ApiRequest):
    neutron = _authorize(req, "update")
    _find_group(neutron, req.path["group_id"])
    group = neutron.put(f"/security-groups/{req.path['group_id']}",
                        {"security_group": _group_body(req)})["security_group"]
    return {"security_group": _group_view(group, _groups_by_id([group]))}


@routes.route("/v2.1/os-security-groups/{group_id}", "DELETE", status=202)
def delete_group(req: ApiRequest):
    neutron = _authorize(req, "delete")
    _find_group(neutron, req.path["group_id"])
    neutron.delete(f"/security-groups/{req.path['group_id']}")


# -- rules -----------------------------------------------------------------------------

def _port(value, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid {name}: '{value}' is not an integer.") from None


def _check_group_id(value, key: str) -> None:
    """Neutron's groups have uuids: anything else is a bad request, as in Nova."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise BadRequest(f"Invalid {key}: {value} is not a security group id.") from None


def _neutron_rule(body: dict, parent: dict) -> dict:
    """Nova's rule arguments as a Neutron ingress rule, checked as Nova checks them."""
    protocol = body.get("ip_protocol")
    group_id = body.get("group_id")
    cidr = body.get("cidr")
    if group_id and cidr:
        raise BadRequest("Give either a source group or a CIDR, not both.")
    low, high = _port(body.get("from_port"), "from_port"), _port(body.get("to_port"),
                                                                 "to_port")
    rule = {"security_group_id": parent["id"], "direction": "ingress"}
    if protocol is not None:
        protocol = str(protocol).lower()
        if protocol not in ("tcp", "udp", "icmp"):
            raise BadRequest(f"Invalid IP protocol {protocol}.")
        if low is None or high is None:
            raise BadRequest("Both from_port and to_port are required with a protocol.")
        if protocol in _PORT_PROTOCOLS:
            if not (1 <= low <= 65535 and 1 <= high <= 65535) or low > high:
                raise BadRequest(f"Invalid port range {low}:{high}. Valid TCP/UDP ports "
                                 "are 1-65535 and from_port must be <= to_port.")
            rule.update(port_range_min=low, port_range_max=high)
        else:
            if not (-1 <= low <= 255 and -1 <= high <= 255):
                raise BadRequest(f"Invalid ICMP type or code {low}:{high}: they are -1 to "
                                 "255.")
            if low != -1:
                rule["port_range_min"] = low
                if high != -1:
                    rule["port_range_max"] = high
        rule["protocol"] = protocol
    elif low is not None or high is not None:
        raise BadRequest("A port range needs an IP protocol.")
    if group_id:
        rule["remote_group_id"] = group_id
        rule["ethertype"] = "IPv4"
    else:
        cidr = cidr or "0.0.0.0/0"
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise BadRequest(f"Invalid CIDR {cidr}.") from None
        # Kept as written: Nova and Neutron show the CIDR the user gave.
        rule["remote_ip_prefix"] = cidr
        rule["ethertype"] = f"IPv{network.version}"
    return rule


@routes.route("/v2.1/os-security-group-rules", "POST")
def create_rule(req: ApiRequest):
    neutron = _authorize(req, "rule:create")
    body = req.json_body("security_group_rule")
    if not isinstance(body, dict) or not body.get("parent_group_id"):
        raise BadRequest("Invalid input: 'parent_group_id' is required.")
    for key in ("parent_group_id", "group_id"):
        if body.get(key):
            _check_group_id(body[key], key)
    parent = _find_group(neutron, body["parent_group_id"])
    if body.get("group_id"):
        _find_group(neutron, body["group_id"])
    rule = neutron.post("/security-group-rules",
                        {"security_group_rule": _neutron_rule(body, parent)})
    rule = rule["security_group_rule"]
    names = {parent["id"]: parent}
    if rule["remote_group_id"] and rule["remote_group_id"] not in names:
        names[rule["remote_group_id"]] = _find_group(neutron, rule["remote_group_id"])
    return {"security_group_rule": _rule_view(rule, names)}


@routes.route("/v2.1/os-security-group-rules/{rule_id}", "DELETE", status=202)
def delete_rule(req: ApiRequest):
    neutron = _authorize(req, "rule:delete")
    try:
        neutron.delete(f"/security-group-rules/{req.path['rule_id']}")
    except NotFound:
        raise NotFound(f"Security group rule {req.path['rule_id']} not found.") from None


# -- a server's groups -------------------------------------------------------------------

@routes.route("/v2.1/servers/{server_id}/os-security-groups", "GET")
def list_server_groups(req: ApiRequest):
    require_version(req, "2.1", LAST_VERSION)
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "list")
    neutron = Neutron(req)
    group_ids = list(dict.fromkeys(group_id for port in neutron.server_ports(server.id)
                                   for group_id in port["security_groups"]))
    # As Nova: the groups the caller can see; a port an admin plugged in may be
    # on groups of another project.
    visible = _groups_by_id(neutron.get("/security-groups", id=group_ids)["security_groups"]
                            if group_ids else [])
    return {"security_groups": [_group_view(visible[group_id], visible)
                                for group_id in group_ids if group_id in visible]}
