"""Two projects on one cloud: A, which owns one of every kind of resource, and B,
which must not see or touch any of them.

Each project lives in a domain of its own (so domain-level resources are
isolated too) and has a member and a reader.  ``build_world`` makes A's
resources through the APIs, as A's users (or the admin, for what only an admin
may make for A), and a few of B's own, from which B then tries to reference
A's by id.
"""

from __future__ import annotations

import dataclasses
import time
import uuid

from stacklet.network import agents
from tests.compute.test_keypairs import ssh_public_key
from tests.conftest import Api

COMPUTE_LATEST = {"OpenStack-API-Version": "compute latest"}
JSON_PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}
PASSWORD = "pass-word-1"

# Values of A's resources that have names rather than ids: unique, so that
# finding one in B's responses means it came from A.
SUFFIX = uuid.uuid4().hex[:8]
TAG = f"a-tag-{SUFFIX}"
META_KEY = f"a_key_{SUFFIX}"
KEYPAIR = f"a-keypair-{SUFFIX}"
NAMESPACE = f"a-namespace-{SUFFIX}"
METADEF_NAME = f"a_metadef_{SUFFIX}"


@dataclasses.dataclass
class Caller:
    """A user with a token (None: no token), and the project they act in."""

    api: Api
    name: str
    token: str | None
    user_id: str
    project_id: str
    domain_id: str

    def call(self, method: str, path: str, json=None, headers: dict | None = None,
             content: bytes | None = None):
        """One request; ``path`` starts with the service prefix (/compute/v2.1/...)."""
        headers = {**(COMPUTE_LATEST if path.startswith("/compute") else {}), **(headers or {})}
        if content is not None:
            return self.api.request(method, path, self.token, headers=headers, content=content)
        return self.api.request(method, path, self.token, json=json, headers=headers)

    def ok(self, method: str, path: str, json=None, expect: int | tuple = (200, 201, 202, 204),
           **kw) -> dict:
        """A request that must succeed; its JSON body ({} when empty)."""
        response = self.call(method, path, json, **kw)
        expected = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in expected, f"{method} {path}: {response.text}"
        return response.json() if response.content else {}


@dataclasses.dataclass
class World:
    admin: Caller
    a_member: Caller
    a_reader: Caller
    b_member: Caller
    b_reader: Caller
    # A's resources by kind: the values a path parameter of that kind takes.
    a: dict[str, list[str]]
    # Cloud-wide things (not any project's) that admin-only routes need an id of.
    cloud_wide: dict[str, list[str]]
    # B's own resources, from which B references A's.
    b: dict[str, str]
    # What A's member GETs to see A's resources (compared before and after B's tries).
    a_views: list[str]

    def secrets(self) -> set[str]:
        """Every id and unique name of A's: none may appear in what B is shown."""
        values = {value for values in self.a.values() for value in values}
        return {value for value in values if len(value) >= 8}


def _domain_persona(api: Api, admin: Caller, letter: str) -> tuple[str, str, Caller, Caller]:
    """A domain and a project in it, with a member and a reader; returns
    (domain id, project id, member, reader)."""
    domain = admin.ok("POST", "/identity/v3/domains", {"domain": {
        "name": f"dom-{letter}-{SUFFIX}"}})["domain"]["id"]
    project = admin.ok("POST", "/identity/v3/projects", {"project": {
        "name": f"proj-{letter}", "domain_id": domain}})["project"]["id"]
    callers = []
    for role in ("member", "reader"):
        name = f"{letter}-{role}"
        user = admin.ok("POST", "/identity/v3/users", {"user": {
            "name": name, "password": PASSWORD, "domain_id": domain}})["user"]["id"]
        role_id = admin.ok("GET", f"/identity/v3/roles?name={role}")["roles"][0]["id"]
        admin.ok("PUT", f"/identity/v3/projects/{project}/users/{user}/roles/{role_id}")
        token = api.token(name, PASSWORD, project=f"proj-{letter}",
                          user_domain=f"dom-{letter}-{SUFFIX}",
                          project_domain=f"dom-{letter}-{SUFFIX}")
        callers.append(Caller(api, f"{letter.upper()}'s {role}", token, user, project, domain))
    return domain, project, callers[0], callers[1]


def _admin(api: Api) -> Caller:
    token = api.get("/identity/v3/auth/tokens", api.admin_token,
                    headers={"X-Subject-Token": api.admin_token}).json()["token"]
    return Caller(api, "admin", api.admin_token, token["user"]["id"], token["project"]["id"],
                  "default")


def build_world(api: Api) -> World:
    admin = _admin(api)
    a_domain, a_project, a_member, a_reader = _domain_persona(api, admin, "a")
    b_domain, b_project, b_member, b_reader = _domain_persona(api, admin, "b")
    a: dict[str, list[str]] = {"domain": [a_domain], "project": [a_project],
                               "user": [a_member.user_id], "tag": [TAG], "meta_key": [META_KEY]}
    cloud: dict[str, list[str]] = {}
    b: dict[str, str] = {"domain": b_domain, "project": b_project}
    _identity(admin, a_member, a_reader, a, cloud)
    _image(admin, a_member, a, cloud)
    _network(admin, a_member, b_member, a, b, cloud)
    _compute(admin, a_member, b_member, a, b, cloud)
    world = World(admin, a_member, a_reader, b_member, b_reader, a, cloud, b, [])
    world.a_views = a_views(world)
    return world


# -- identity ------------------------------------------------------------------------------

def _identity(admin: Caller, a_member: Caller, a_reader: Caller, a: dict, cloud: dict) -> None:
    v3 = "/identity/v3"
    project, user = a_member.project_id, a_member.user_id
    a["group"] = [admin.ok("POST", f"{v3}/groups", {"group": {
        "name": "a-group", "domain_id": a_member.domain_id}})["group"]["id"]]
    admin.ok("PUT", f"{v3}/groups/{a['group'][0]}/users/{user}")
    member_role = admin.ok("GET", f"{v3}/roles?name=member")["roles"][0]["id"]
    # A role of A's domain (a domain-specific role), implying the global member role.
    a_role = admin.ok("POST", f"{v3}/roles", {"role": {
        "name": f"a-role-{SUFFIX}", "domain_id": a_member.domain_id}})["role"]["id"]
    admin.ok("PUT", f"{v3}/roles/{a_role}/implies/{member_role}")
    a["role"], cloud["global_role"] = [a_role], [member_role]
    # A's grants of that role, one on every kind of target a grant route names.
    for actor in (f"users/{user}", f"groups/{a['group'][0]}"):
        for target in (f"projects/{project}", f"domains/{a_member.domain_id}"):
            admin.ok("PUT", f"{v3}/{target}/{actor}/roles/{a_role}")
            admin.ok("PUT", f"{v3}/OS-INHERIT/{target}/{actor}/roles/{a_role}"
                            "/inherited_to_projects")
    admin.ok("PUT", f"{v3}/projects/{project}/tags/{TAG}")
    admin.ok("PUT", f"{v3}/domains/{a_member.domain_id}/config", {"config": {
        "identity": {"driver": "sql"}, "ldap": {"url": "ldap://a.example"}}})
    a["config_group"], a["config_option"] = ["ldap"], ["url"]

    a["credential"] = [a_member.ok("POST", f"{v3}/credentials", {"credential": {
        "user_id": user, "project_id": project, "type": "ec2",
        "blob": '{"access": "a-access-%s", "secret": "s"}' % SUFFIX}})["credential"]["id"]]
    a["ec2_access"] = [a_member.ok("POST", f"{v3}/users/{user}/credentials/OS-EC2", {
        "tenant_id": project})["credential"]["access"]]
    app_cred = a_member.ok("POST", f"{v3}/users/{user}/application_credentials", {
        "application_credential": {"name": "a-app-cred", "access_rules": [
            {"service": "compute", "path": "/v2.1/servers", "method": "GET"}]}})
    a["app_cred"] = [app_cred["application_credential"]["id"]]
    a["access_rule"] = [app_cred["application_credential"]["access_rules"][0]["id"]]
    a["trust"] = [a_member.ok("POST", f"{v3}/OS-TRUST/trusts", {"trust": {
        "trustor_user_id": user, "trustee_user_id": a_reader.user_id, "project_id": project,
        "impersonation": False, "roles": [{"name": "member"}]}})["trust"]["id"]]

    # Cloud-wide: the catalog, limits, policy blobs, consumers.  B may not change
    # them; only the admin reads most of them.
    service = admin.ok("GET", f"{v3}/services?type=identity")["services"][0]["id"]
    cloud["service"] = [service]
    cloud["endpoint"] = [admin.ok("GET", f"{v3}/endpoints?service_id={service}")
                         ["endpoints"][0]["id"]]
    cloud["region"] = ["RegionOne"]
    cloud["registered_limit"] = [admin.ok("POST", f"{v3}/registered_limits", {
        "registered_limits": [{"service_id": service, "resource_name": "widgets",
                               "default_limit": 10}]})["registered_limits"][0]["id"]]
    a["limit"] = [admin.ok("POST", f"{v3}/limits", {"limits": [{
        "service_id": service, "project_id": project, "resource_name": "widgets",
        "resource_limit": 3}]})["limits"][0]["id"]]
    cloud["policy"] = [admin.ok("POST", f"{v3}/policies", {"policy": {
        "type": "application/json", "blob": "{}"}})["policy"]["id"]]
    cloud["consumer"] = [admin.ok("POST", f"{v3}/OS-OAUTH1/consumers", {"consumer": {
        "description": "c"}})["consumer"]["id"]]
    endpoint_group = admin.ok("POST", f"{v3}/OS-EP-FILTER/endpoint_groups", {"endpoint_group": {
        "name": "g", "filters": {"interface": "public"}}})["endpoint_group"]["id"]
    cloud["endpoint_group"] = [endpoint_group]
    admin.ok("PUT", f"{v3}/OS-EP-FILTER/endpoint_groups/{endpoint_group}/projects/{project}")
    admin.ok("PUT", f"{v3}/OS-EP-FILTER/projects/{project}/endpoints/{cloud['endpoint'][0]}")


# -- image ---------------------------------------------------------------------------------

def _image(admin: Caller, a_member: Caller, a: dict, cloud: dict) -> None:
    v2 = "/image/v2"

    def image(**fields) -> str:
        image_id = a_member.ok("POST", f"{v2}/images", {
            "disk_format": "raw", "container_format": "bare", "tags": [TAG],
            META_KEY: "v", **fields})["id"]
        a_member.ok("PUT", f"{v2}/images/{image_id}/file", content=b"\0" * 4096,
                    headers=OCTETS)
        return image_id

    private = image(name="a-private")
    shared = image(name="a-shared", visibility="shared")
    # Shared with a third project: B is not a member.
    other = admin.ok("POST", "/identity/v3/projects", {"project": {
        "name": "proj-c", "domain_id": "default"}})["project"]["id"]
    a_member.ok("POST", f"{v2}/images/{shared}/members", {"member": other})
    a["image"] = [private, shared]
    a["image_member"] = [other]

    # An image imported through glance-direct: its import task is A's.
    staged = a_member.ok("POST", f"{v2}/images", {
        "name": "a-imported", "disk_format": "raw", "container_format": "bare"})["id"]
    a_member.ok("PUT", f"{v2}/images/{staged}/stage", content=b"\0" * 512, headers=OCTETS)
    a_member.ok("POST", f"{v2}/images/{staged}/import", {"method": {"name": "glance-direct"}})
    a["image"].append(staged)
    deadline = time.monotonic() + 10
    while not (tasks := a_member.ok("GET", f"{v2}/images/{staged}/tasks")["tasks"]):
        assert time.monotonic() < deadline, "the import made no task"
        time.sleep(0.05)
    a["task"] = [tasks[0]["id"]]

    # Only an admin makes metadef namespaces; this one is private to A.
    admin.ok("POST", f"{v2}/metadefs/namespaces", {
        "namespace": NAMESPACE, "visibility": "private", "owner": a_member.project_id})
    ns = f"{v2}/metadefs/namespaces/{NAMESPACE}"
    admin.ok("POST", f"{ns}/objects", {"name": METADEF_NAME, "properties": {}})
    admin.ok("POST", f"{ns}/properties", {"name": METADEF_NAME, "title": "t",
                                          "type": "string"})
    admin.ok("POST", f"{ns}/tags/{METADEF_NAME}")
    # Resource types are Glance's, shared by every namespace; the association is A's.
    admin.ok("POST", f"{ns}/resource_types", {"name": "OS::Glance::Image"})
    a["namespace"], a["metadef_name"] = [NAMESPACE], [METADEF_NAME]
    cloud["resource_type"] = ["OS::Glance::Image"]


# -- network -------------------------------------------------------------------------------

def _network(admin: Caller, a_member: Caller, b_member: Caller, a: dict, b: dict,
             cloud: dict) -> None:
    v2 = "/network/v2.0"

    def create(caller: Caller, resource: str, collection: str, **attributes) -> dict:
        return caller.ok("POST", f"{v2}/{collection}", {resource: attributes})[resource]

    public = create(admin, "network", "networks", name="public", **{"router:external": True})
    create(admin, "subnet", "subnets", network_id=public["id"], cidr="172.24.4.0/24",
           ip_version=4)
    cloud["external_network"] = [public["id"]]

    pool = create(a_member, "subnetpool", "subnetpools", name="a-pool",
                  prefixes=["10.100.0.0/16"], default_prefixlen=24)
    network = create(a_member, "network", "networks", name="a-net")
    subnet = create(a_member, "subnet", "subnets", network_id=network["id"],
                    cidr="10.0.0.0/24", ip_version=4)
    pooled = create(a_member, "subnet", "subnets", network_id=network["id"],
                    subnetpool_id=pool["id"], ip_version=4)
    group = create(a_member, "security_group", "security-groups", name="a-sg")
    rule = create(a_member, "security_group_rule", "security-group-rules",
                  security_group_id=group["id"], direction="ingress", protocol="tcp",
                  port_range_min=22, port_range_max=22)
    port = create(a_member, "port", "ports", network_id=network["id"], name="a-port",
                  security_groups=[group["id"]])
    router = create(a_member, "router", "routers", name="a-router",
                    external_gateway_info={"network_id": public["id"]})
    a_member.ok("PUT", f"{v2}/routers/{router['id']}/add_router_interface",
                {"subnet_id": subnet["id"]})
    floating = create(a_member, "floatingip", "floatingips",
                      floating_network_id=public["id"], port_id=port["id"])
    a.update(network=[network["id"]], subnet=[subnet["id"], pooled["id"]],
             subnetpool=[pool["id"]], security_group=[group["id"]],
             security_group_rule=[rule["id"]], port=[port["id"]], router=[router["id"]],
             floatingip=[floating["id"]], floating_address=[floating["floating_ip_address"]])
    for collection, kind in (("networks", "network"), ("subnets", "subnet"),
                             ("subnetpools", "subnetpool"), ("ports", "port"),
                             ("routers", "router"), ("security-groups", "security_group"),
                             ("floatingips", "floatingip")):
        for resource_id in a[kind]:
            a_member.ok("PUT", f"{v2}/{collection}/{resource_id}/tags/{TAG}")
    admin.ok("PUT", f"{v2}/quotas/{a_member.project_id}", {"quota": {"network": 42}})
    with admin.api.cloud.db.transaction() as session:
        cloud["network_agent"] = [agents.report_state(
            session, "DHCP agent", "stacklet-dhcp-agent", "host1", "dhcp_agent", {}).id]

    # B's own network things, to reference A's from.
    b_network = create(b_member, "network", "networks", name="b-net")
    b_subnet = create(b_member, "subnet", "subnets", network_id=b_network["id"],
                      cidr="10.1.0.0/24", ip_version=4)
    b.update(network=b_network["id"], subnet=b_subnet["id"],
             port=create(b_member, "port", "ports", network_id=b_network["id"])["id"],
             router=create(b_member, "router", "routers", name="b-router")["id"],
             security_group=create(b_member, "security_group", "security-groups",
                                   name="b-sg")["id"],
             floatingip=create(b_member, "floatingip", "floatingips",
                               floating_network_id=public["id"])["id"])


# -- compute -------------------------------------------------------------------------------

def _compute(admin: Caller, a_member: Caller, b_member: Caller, a: dict, b: dict,
             cloud: dict) -> None:
    v21 = "/compute/v2.1"
    # A private flavor only project A may use.
    flavor = admin.ok("POST", f"{v21}/flavors", {"flavor": {
        "name": f"a-flavor-{SUFFIX}", "ram": 512, "vcpus": 1, "disk": 1,
        "os-flavor-access:is_public": False}})["flavor"]["id"]
    admin.ok("POST", f"{v21}/flavors/{flavor}/action", {"addTenantAccess": {
        "tenant": a_member.project_id}})
    admin.ok("POST", f"{v21}/flavors/{flavor}/os-extra_specs", {"extra_specs": {
        "hw:cpu_policy": "shared"}})
    a["flavor"], a["extra_spec"] = [flavor], ["hw:cpu_policy"]
    a_member.ok("POST", f"{v21}/os-keypairs", {"keypair": {
        "name": KEYPAIR, "public_key": ssh_public_key()}})
    a["keypair"] = [KEYPAIR]
    a["server_group"] = [a_member.ok("POST", f"{v21}/os-server-groups", {"server_group": {
        "name": "a-group", "policy": "anti-affinity"}})["server_group"]["id"]]

    server = a_member.ok("POST", f"{v21}/servers", {"server": {
        "name": "a-server", "imageRef": a["image"][0], "flavorRef": flavor,
        "key_name": KEYPAIR, "networks": [{"uuid": a["network"][0]}],
        "security_groups": [{"name": a["security_group"][0]}],
        "metadata": {META_KEY: "v"}, "tags": [TAG]},
        "os:scheduler_hints": {"group": a["server_group"][0]}})["server"]["id"]
    _wait_active(a_member, server)
    a["server"] = [server]
    a["instance_action"] = [a_member.ok("GET", f"{v21}/servers/{server}/os-instance-actions")
                            ["instanceActions"][0]["request_id"]]
    # The port Nova made for the server on A's network.
    a["port"].append(a_member.ok("GET", f"{v21}/servers/{server}/os-interface")
                     ["interfaceAttachments"][0]["port_id"])
    a["network_label"] = ["a-net"]
    a["volume"] = [str(uuid.uuid4())]   # no block storage yet: any volume id will do
    # The fake driver offers no console (501), so no real token exists for A's
    # server; the route is admin-only and answers B before looking anyway.
    a["console_token"] = ["a" * 64]
    admin.ok("PUT", f"{v21}/os-quota-sets/{a_member.project_id}", {"quota_set": {
        "instances": 9}})

    host = admin.ok("GET", f"{v21}/os-hypervisors/detail")["hypervisors"][0]
    # Hypervisors are numbered before microversion 2.53, named by uuid since.
    numbered = admin.ok("GET", f"{v21}/os-hypervisors", headers={
        "OpenStack-API-Version": "compute 2.1"})["hypervisors"][0]["id"]
    cloud.update(hypervisor=[host["id"], str(numbered)], host=[host["service"]["host"]],
                 hypervisor_pattern=[host["hypervisor_hostname"]],
                 compute_service=[admin.ok("GET", f"{v21}/os-services?binary=nova-compute")
                                  ["services"][0]["id"]],
                 aggregate=[str(admin.ok("POST", f"{v21}/os-aggregates", {"aggregate": {
                     "name": "agg"}})["aggregate"]["id"])],
                 quota_class=["default"], audit_period=["2030-01-01 00:00:00"])

    b["image"] = _b_image(b_member)
    b_server = b_member.ok("POST", f"{v21}/servers", {"server": {
        "name": "b-server", "imageRef": b["image"], "flavorRef": "1",
        "networks": [{"uuid": b["network"]}]}})["server"]["id"]
    _wait_active(b_member, b_server)
    b["server"] = b_server


def _b_image(b_member: Caller) -> str:
    image_id = b_member.ok("POST", "/image/v2/images", {
        "name": "b-image", "disk_format": "raw", "container_format": "bare"})["id"]
    b_member.ok("PUT", f"/image/v2/images/{image_id}/file", content=b"\0" * 4096,
                headers=OCTETS)
    return image_id


def _wait_active(caller: Caller, server_id: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        server = caller.ok("GET", f"/compute/v2.1/servers/{server_id}")["server"]
        if server["status"] == "ACTIVE" and server["OS-EXT-STS:task_state"] is None:
            return
        assert server["status"] != "ERROR", server
        assert time.monotonic() < deadline, f"server {server_id} stayed {server['status']}"
        time.sleep(0.05)


# -- what A sees of its own ----------------------------------------------------------------

def a_views(world: World) -> list[str]:
    """The GETs that show A's resources to A (by A's member, or the admin for what
    only the admin reads): B's tries must leave every answer as it was."""
    a = world.a
    v3, img, v21, net = "/identity/v3", "/image/v2", "/compute/v2.1", "/network/v2.0"
    user, project = a["user"][0], a["project"][0]
    views = [
        f"{v3}/projects/{project}", f"{v3}/users/{user}", f"{v3}/domains/{a['domain'][0]}",
        f"{v3}/credentials/{a['credential'][0]}",
        f"{v3}/users/{user}/credentials/OS-EC2/{a['ec2_access'][0]}",
        f"{v3}/users/{user}/application_credentials/{a['app_cred'][0]}",
        f"{v3}/users/{user}/access_rules", f"{v3}/OS-TRUST/trusts/{a['trust'][0]}",
        f"{v3}/users/{user}/groups", f"{v3}/auth/projects",
        f"{img}/images/{a['image'][1]}/members",
        f"{v21}/servers/{a['server'][0]}", f"{v21}/servers/{a['server'][0]}/os-interface",
        f"{v21}/os-keypairs/{KEYPAIR}", f"{v21}/os-server-groups/{a['server_group'][0]}",
        f"{v21}/flavors/{a['flavor'][0]}/os-extra_specs",
        f"{v21}/os-quota-sets/{project}", f"{net}/quotas/{project}",
    ]
    views += [f"{img}/images/{image}" for image in a["image"]]
    for collection, kind in (("networks", "network"), ("subnets", "subnet"),
                             ("subnetpools", "subnetpool"), ("ports", "port"),
                             ("routers", "router"), ("security-groups", "security_group"),
                             ("security-group-rules", "security_group_rule"),
                             ("floatingips", "floatingip")):
        views += [f"{net}/{collection}/{resource_id}" for resource_id in a[kind]]
    admin_views = [
        f"{v3}/groups/{a['group'][0]}", f"{v3}/roles/{a['role'][0]}",
        f"{v3}/roles/{a['role'][0]}/implies", f"{v3}/domains/{a['domain'][0]}/config",
        f"{v3}/limits/{a['limit'][0]}", f"{v3}/role_assignments?scope.project.id={project}",
        f"{img}/tasks/{a['task'][0]}", f"{img}/metadefs/namespaces/{NAMESPACE}",
        f"{v21}/flavors/{a['flavor'][0]}/os-flavor-access",
    ]
    return [("member", view) for view in views] + [("admin", view) for view in admin_views]


def snapshot(world: World) -> dict[str, object]:
    """What A (and the admin, for A's admin-made resources) sees of A's resources."""
    seen = {}
    for who, path in world.a_views:
        caller = world.a_member if who == "member" else world.admin
        response = caller.call("GET", path)
        assert response.status_code == 200, f"{path}: {response.text}"
        seen[path] = response.json()
    return seen
