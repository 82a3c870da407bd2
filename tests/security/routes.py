"""Every declared route of every service, made concrete with project A's ids.

A route's path parameters are mapped to a kind of A's resource by the literal
segment they follow (``servers/{server_id}`` is a server, ``os-interface/{port_id}``
a port).  A parameter not in ``PARAMS`` fails the matrix, naming the route: a
new route needs a line here saying whose resource it addresses, which is the
point of deriving the matrix from the route tables.
"""

from __future__ import annotations

import dataclasses
import itertools
import re

from stacklet.common.api import DeclaredRoute
from stacklet.compute.api.server_actions import ACTIONS
from stacklet.network.api.tags import TAGGABLE
from stacklet.services import ServiceInfo
from tests.security.world import JSON_PATCH, META_KEY, NAMESPACE, OCTETS, World

# "<segment before>/{parameter}" → kind (or kinds) of A's resource (World.a) or of
# the cloud's (World.cloud_wide).
PARAMS = {
    # identity
    "domains/{domain_id}": "domain",
    "domains/{target_id}": "domain",
    "projects/{project_id}": "project",
    "projects/{target_id}": "project",
    "users/{user_id}": "user",
    "users/{actor_id}": "user",
    "groups/{group_id}": "group",
    "groups/{actor_id}": "group",
    "roles/{role_id}": ("role", "global_role"),
    "roles/{prior_role_id}": "role",
    "implies/{implied_role_id}": "global_role",
    "tags/{tag}": "tag",
    "config/{group}": "config_group",
    "{group}/{option}": "config_option",
    "regions/{region_id}": "region",
    "services/{service_id}": "service",
    "endpoints/{endpoint_id}": "endpoint",
    "credentials/{credential_id}": "credential",
    "OS-EC2/{access}": "ec2_access",
    "application_credentials/{app_cred_id}": "app_cred",
    "access_rules/{access_rule_id}": "access_rule",
    "policies/{policy_id}": "policy",
    "consumers/{consumer_id}": "consumer",
    "endpoint_groups/{group_id}": "endpoint_group",
    "trusts/{trust_id}": "trust",
    "registered_limits/{limit_id}": "registered_limit",
    "limits/{limit_id}": "limit",
    # image
    "images/{image_id}": "image",
    "members/{member_id}": "image_member",
    "tasks/{task_id}": "task",
    "namespaces/{namespace}": "namespace",
    "objects/{name}": "metadef_name",
    "properties/{name}": "metadef_name",
    "tags/{name}": "metadef_name",
    "resource_types/{name}": "resource_type",
    # compute
    "flavors/{flavor_id}": "flavor",
    "os-extra_specs/{key}": "extra_spec",
    "os-keypairs/{name}": "keypair",
    "os-quota-sets/{project_id}": "project",
    "os-quota-class-sets/{class_name}": "quota_class",
    "os-services/{service_id}": "compute_service",
    "os-hypervisors/{hypervisor_id}": "hypervisor",
    "os-hypervisors/{pattern}": "hypervisor_pattern",
    "os-simple-tenant-usage/{project_id}": "project",
    "os-aggregates/{aggregate_id}": "aggregate",
    "os-hosts/{host_name}": "host",
    "os-instance_usage_audit_log/{before_timestamp}": "audit_period",
    "os-networks/{network_id}": "network",
    "os-tenant-networks/{network_id}": "network",
    "servers/{server_id}": "server",
    "metadata/{key}": "meta_key",
    "ips/{network}": "network_label",
    "os-instance-actions/{request_id}": "instance_action",
    "os-server-groups/{group_id}": "server_group",
    "os-interface/{port_id}": "port",
    "os-volume_attachments/{volume_id}": "volume",
    "os-security-groups/{group_id}": "security_group",
    "os-security-group-rules/{rule_id}": "security_group_rule",
    "os-floating-ips/{floating_id}": "floatingip",
    "os-console-auth-tokens/{console_token}": "console_token",
    # network
    "networks/{network_id}": "network",
    "network-ip-availabilities/{network_id}": "network",
    "subnets/{subnet_id}": "subnet",
    "subnetpools/{subnetpool_id}": "subnetpool",
    "ports/{port_id}": "port",
    "security-groups/{group_id}": "security_group",
    "security-group-rules/{rule_id}": "security_group_rule",
    "routers/{router_id}": "router",
    "floatingips/{floatingip_id}": "floatingip",
    "quotas/{project_id}": "project",
    "agents/{agent_id}": "network_agent",
}

# Neutron's tags routes name the collection in the path: each taggable
# collection, with A's resources of that collection.
COLLECTION_KINDS = {
    "networks": "network", "subnets": "subnet", "subnetpools": "subnetpool", "ports": "port",
    "routers": "router", "security-groups": "security_group", "floatingips": "floatingip",
}

# Routes B may legitimately use with these parameters: they address nothing of
# A's.  "<service> <METHOD> <path>" → why.
CROSS_PROJECT = {
    "identity GET /v3/domains/config/{group}/{option}/default":
        "Keystone's default domain configuration is the cloud's, readable by anyone",
    "identity GET /v3/domains/config/{group}/default": "the same, one group",
    "identity GET /v3/regions/{region_id}": "regions are cloud-wide, readable by anyone",
    "identity GET /v3/registered_limits/{limit_id}":
        "registered limits are the cloud's defaults, readable by anyone",
    "image GET /v2/schemas/{name}": "schemas describe the API, not anyone's data",
    "image GET /v2/schemas/metadefs/{name}": "the same, for metadefs",
    "compute GET /v2.1/extensions/{alias}": "extensions describe the API",
    "compute GET /v2.1/os-quota-sets/{project_id}/defaults":
        "the default quotas are the cloud's, the same for every project; Nova lets anyone "
        "read them",
    "network GET /v2.0/extensions/{alias}": "extensions describe the API",
}

# GET routes that answer nobody with their parameters (so the check that the
# substituted ids address something real is waived), and why.
NOTHING_TO_SHOW = {
    "compute GET /v2.1/servers/{server_id}/os-volume_attachments/{volume_id}":
        "no block storage yet: no server has a volume",
    "compute GET /v2.1/os-console-auth-tokens/{console_token}":
        "the fake driver offers no console, so no token exists to show",
    "compute GET /v2.1/os-hosts/{host_name}/reboot":
        "the fake driver has no host power management: 501 to the admin",
    "compute GET /v2.1/os-hosts/{host_name}/shutdown": "the same",
    "compute GET /v2.1/os-hosts/{host_name}/startup": "the same",
    "identity GET /v3/system/users/{actor_id}/roles/{role_id}":
        "a project's users hold no system role",
    "identity GET /v3/system/groups/{actor_id}/roles/{role_id}":
        "nor do its groups",
}

# A valid body for routes that check their body before finding the resource;
# without one B's request would answer 400 before reaching the isolation check.
# "<service> <METHOD> <path>" → body (callable on the world for ids).
BODIES = {
    "identity PATCH /v3/domains/{domain_id}": {"domain": {"description": "b-was-here"}},
    "identity PATCH /v3/projects/{project_id}": {"project": {"description": "b-was-here"}},
    "identity PUT /v3/projects/{project_id}/tags": {"tags": ["b-was-here"]},
    "identity PATCH /v3/users/{user_id}": {"user": {"description": "b-was-here"}},
    "identity POST /v3/users/{user_id}/password": {"user": {
        "password": "b-was-here", "original_password": "b-does-not-know"}},
    "identity PATCH /v3/groups/{group_id}": {"group": {"description": "b-was-here"}},
    "identity POST /v3/users/{user_id}/credentials/OS-EC2":
        lambda world: {"tenant_id": world.b["project"]},
    "identity POST /v3/users/{user_id}/application_credentials": {
        "application_credential": {"name": "b-was-here"}},
    "identity PATCH /v3/roles/{role_id}": {"role": {"name": "b-was-here"}},
    "identity PATCH /v3/credentials/{credential_id}": {"credential": {"blob": "b-was-here"}},
    "image PATCH /v2/images/{image_id}": [{"op": "replace", "path": "/name",
                                           "value": "b-was-here"}],
    # B sharing A's image with B.
    "image POST /v2/images/{image_id}/members": lambda world: {"member": world.b["project"]},
    "image PUT /v2/images/{image_id}/members/{member_id}": {"status": "accepted"},
    "image POST /v2/images/{image_id}/import": {"method": {"name": "glance-direct"}},
    "image PUT /v2/metadefs/namespaces/{namespace}": {"namespace": NAMESPACE,
                                                     "visibility": "public"},
    "image POST /v2/metadefs/namespaces/{namespace}/objects": {"name": "b-object"},
    "image PUT /v2/metadefs/namespaces/{namespace}/objects/{name}": {"name": "b-object"},
    "image POST /v2/metadefs/namespaces/{namespace}/properties": {
        "name": "b_property", "title": "t", "type": "string"},
    "image PUT /v2/metadefs/namespaces/{namespace}/properties/{name}": {
        "name": "b_property", "title": "t", "type": "string"},
    "image POST /v2/metadefs/namespaces/{namespace}/tags": {"tags": [{"name": "b-tag"}]},
    "image PUT /v2/metadefs/namespaces/{namespace}/tags/{name}": {"name": "b-tag"},
    "image POST /v2/metadefs/namespaces/{namespace}/resource_types": {
        "name": "OS::Nova::Server"},
    # B giving its own project A's private flavor.
    "compute POST /v2.1/flavors/{flavor_id}/action": lambda world: {
        "addTenantAccess": {"tenant": world.b["project"]}},
    "compute POST /v2.1/os-aggregates/{aggregate_id}/action": lambda world: {
        "add_host": {"host": world.cloud_wide["host"][0]}},
    "compute PUT /v2.1/flavors/{flavor_id}": {"flavor": {"description": "b-was-here"}},
    "compute POST /v2.1/flavors/{flavor_id}/os-extra_specs": {"extra_specs": {
        "hw:cpu_policy": "dedicated"}},
    "compute PUT /v2.1/flavors/{flavor_id}/os-extra_specs/{key}": {
        "hw:cpu_policy": "dedicated"},
    "compute PUT /v2.1/os-quota-sets/{project_id}": {"quota_set": {"instances": 1}},
    "compute PUT /v2.1/os-security-groups/{group_id}": {"security_group": {
        "name": "b-was-here", "description": "b"}},
    "compute POST /v2.1/servers/{server_id}/os-interface": lambda world: {
        "interfaceAttachment": {"net_id": world.b["network"]}},
    "compute PUT /v2.1/servers/{server_id}": {"server": {"name": "b-was-here"}},
    "compute POST /v2.1/servers/{server_id}/metadata": {"metadata": {META_KEY: "b"}},
    "compute PUT /v2.1/servers/{server_id}/metadata": {"metadata": {META_KEY: "b"}},
    "compute PUT /v2.1/servers/{server_id}/metadata/{key}": {"meta": {META_KEY: "b"}},
    "compute PUT /v2.1/servers/{server_id}/tags": {"tags": ["b-was-here"]},
    "compute POST /v2.1/servers/{server_id}/remote-consoles": {"remote_console": {
        "protocol": "vnc", "type": "novnc"}},
    "compute POST /v2.1/servers/{server_id}/os-volume_attachments": {
        "volumeAttachment": {"volumeId": "00000000-0000-4000-8000-000000000000"}},
    "compute PUT /v2.1/servers/{server_id}/os-volume_attachments/{volume_id}": {
        "volumeAttachment": {"volumeId": "00000000-0000-4000-8000-000000000000"}},
    "compute POST /v2.1/images/{image_id}/metadata": {"metadata": {META_KEY: "b"}},
    "compute PUT /v2.1/images/{image_id}/metadata": {"metadata": {META_KEY: "b"}},
    "compute PUT /v2.1/images/{image_id}/metadata/{key}": {"meta": {META_KEY: "b"}},
    "network PUT /v2.0/networks/{network_id}": {"network": {"name": "b-was-here"}},
    "network PUT /v2.0/subnets/{subnet_id}": {"subnet": {"name": "b-was-here"}},
    "network PUT /v2.0/subnetpools/{subnetpool_id}": {"subnetpool": {"name": "b-was-here"}},
    "network PUT /v2.0/ports/{port_id}": {"port": {"name": "b-was-here"}},
    "network PUT /v2.0/security-groups/{group_id}": {"security_group": {
        "name": "b-was-here"}},
    "network PUT /v2.0/routers/{router_id}": {"router": {"name": "b-was-here"}},
    "network PUT /v2.0/routers/{router_id}/add_router_interface": lambda world: {
        "subnet_id": world.b["subnet"]},
    "network PUT /v2.0/routers/{router_id}/remove_router_interface": lambda world: {
        "subnet_id": world.a["subnet"][0]},
    "network PUT /v2.0/routers/{router_id}/add_extraroutes": {"router": {"routes": [
        {"destination": "10.99.0.0/24", "nexthop": "10.0.0.99"}]}},
    "network PUT /v2.0/routers/{router_id}/remove_extraroutes": {"router": {"routes": [
        {"destination": "10.99.0.0/24", "nexthop": "10.0.0.99"}]}},
    "network PUT /v2.0/floatingips/{floatingip_id}": {"floatingip": {"port_id": None}},
    "network PUT /v2.0/quotas/{project_id}": {"quota": {"network": 1}},
    "network PUT /v2.0/agents/{agent_id}": {"agent": {"admin_state_up": False}},
    "network PUT /v2.0/{collection}/{resource_id}/tags": {"tags": ["b-was-here"]},
}

# Bodies of each server action that checks its input before finding the server.
ACTION_BODIES = {
    "addFloatingIp": lambda world: {"address": world.a["floating_address"][0]},
    "removeFloatingIp": lambda world: {"address": world.a["floating_address"][0]},
    "addSecurityGroup": {"name": "default"},
    "addFixedIp": lambda world: {"networkId": world.a["network"][0]},
    "removeFixedIp": {"address": "10.0.0.3"},
    "removeSecurityGroup": lambda world: {"name": world.a["security_group"][0]},
    "changePassword": {"adminPass": "b-was-here"},
    "createBackup": {"name": "b", "backup_type": "daily", "rotation": 1},
    "createImage": {"name": "b"},
    "os-resetState": {"state": "error"},
    "reboot": {"type": "HARD"},
    "rebuild": lambda world: {"imageRef": world.a["image"][0]},
    "resize": {"flavorRef": "2"},
    "os-getVNCConsole": {"type": "novnc"},
    "os-getSerialConsole": {"type": "serial"},
    "os-getSPICEConsole": {"type": "spice-html5"},
    "os-getRDPConsole": {"type": "rdp-html5"},
}

# Routes (or server actions) whose answer to everyone, A and the admin
# included, is this status: it tells nothing of A's.
SAME_FOR_EVERYONE = {
    "image HEAD /v2/images/{image_id}/file": (405, "Glance refuses HEAD on image data"),
    "compute GET /v2.1/os-console-auth-tokens/{console_token}":
        (400, "the route exists from microversion 2.31 on (at latest: admin only, 403)"),
    "compute POST /v2.1/servers/{server_id}/action os-getRDPConsole":
        (400, "Nova refuses RDP consoles before looking at the server: their Hyper-V "
              "driver is gone"),
}


def same_for_everyone(cell: "Cell") -> tuple[int, ...]:
    """The status a cell answers everyone, if it is one of SAME_FOR_EVERYONE."""
    action = f" {next(iter(cell.body))}" if cell.route.endswith("/action") and \
        isinstance(cell.body, dict) and cell.body else ""
    for key in (cell.route + action, cell.route):
        if key in SAME_FOR_EVERYONE:
            return SAME_FOR_EVERYONE[key][:1]
    return ()

MUTATING = ("POST", "PUT", "PATCH", "DELETE")
PARAMETER = re.compile(r"^\{(\w+)(?::\w+)?\}$")


@dataclasses.dataclass
class Cell:
    """One request of the matrix: a route made concrete."""

    route: str                # "<service> <METHOD> <path template>", for messages
    method: str
    path: str                 # with the listener prefix
    body: object = None
    headers: dict = dataclasses.field(default_factory=dict)
    content: bytes | None = None


def route_key(info: ServiceInfo, method: str, path: str) -> str:
    return f"{info.type} {method} {path}"


def substitutions(route: str, path: str, world: World) -> list[dict[str, str]]:
    """Every assignment of A's ids to the path's parameters."""
    segments = path.strip("/").split("/")
    choices: list[tuple[str, list[str]]] = []
    for index, segment in enumerate(segments):
        match = PARAMETER.match(segment)
        if not match:
            continue
        name = match.group(1)
        if name == "collection":
            missing = set(TAGGABLE) - set(COLLECTION_KINDS)
            assert not missing, f"{route}: taggable collections {missing} have no kind " \
                "in COLLECTION_KINDS (tests/security/routes.py)"
            choices.append((name, sorted(TAGGABLE)))
            continue
        if name == "resource_id" and segments[index - 1] == "{collection}":
            choices.append((name, []))   # filled in per collection below
            continue
        key = f"{segments[index - 1]}/{segment}"
        assert key in PARAMS, (
            f"{route}: the parameter {segment} (after '{segments[index - 1]}') is not "
            "mapped to a kind of resource; add it to PARAMS in tests/security/routes.py")
        kinds = PARAMS[key] if isinstance(PARAMS[key], tuple) else (PARAMS[key],)
        values = []
        for kind in kinds:
            assert kind in world.a or kind in world.cloud_wide, \
                f"{route}: the world has no {kind} (tests/security/world.py)"
            values += world.a.get(kind) or world.cloud_wide[kind]
        choices.append((name, values))
    result = []
    names = [name for name, _ in choices]
    for combination in itertools.product(*[values or [None] for _, values in choices]):
        assignment = dict(zip(names, combination))
        if "resource_id" in assignment:
            for resource_id in world.a[COLLECTION_KINDS[assignment["collection"]]]:
                result.append({**assignment, "resource_id": resource_id})
        else:
            result.append(assignment)
    return result


def fill(path: str, assignment: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: assignment[m.group(1)], path)


def cells(info: ServiceInfo, declared: DeclaredRoute, method: str, world: World) -> list[Cell]:
    """B's requests on one route and method, with A's ids in the path."""
    route = route_key(info, method, declared.path)
    result = []
    for assignment in substitutions(route, declared.path, world):
        path = info.prefix + fill(declared.path, assignment)
        for body in bodies(route, method, world):
            cell = Cell(route, method, path, body)
            if declared.stream_body:
                cell.body, cell.content, cell.headers = None, b"\0" * 512, dict(OCTETS)
            elif info.type == "image" and method == "PATCH":
                cell.headers = dict(JSON_PATCH)
            result.append(cell)
    return result


def bodies(route: str, method: str, world: World) -> list[object]:
    if route == "compute POST /v2.1/servers/{server_id}/action":
        return [{name: _value(ACTION_BODIES.get(name), world)} for name in sorted(ACTIONS)]
    if route in BODIES:
        return [_value(BODIES[route], world)]
    return [{} if method in ("POST", "PUT", "PATCH") else None]


def _value(value, world: World):
    return value(world) if callable(value) else value


def has_parameters(path: str) -> bool:
    return "{" in path
