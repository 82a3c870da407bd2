"""The resources the route fuzzer works on: one of most kinds, made through the API
once per test, and the three personas it calls as.

Free-form names are a run of ``a`` then a character that stops a match, so
that a pattern filter such as ``(a+)+$`` meets the input that makes a
backtracking engine take exponential time.
"""

from __future__ import annotations

import dataclasses
import time

NAME = "a" * 30 + "-fuzz"


@dataclasses.dataclass(frozen=True)
class Persona:
    name: str
    token: str


def _ok(response, *expected: int) -> dict:
    assert response.status_code in (expected or (200, 201, 202, 204)), response.text
    return response.json() if response.content else {}


def seed(api) -> tuple[dict[str, str], list[Persona]]:
    """Create the resources; returns {kind: id} (kinds as field names say them:
    ``server``, ``flavor``, ``network``...) and the personas."""
    admin = api.admin_token
    me = api.get("/identity/v3/auth/tokens", admin,
                  headers={"X-Subject-Token": admin}).json()["token"]
    ids: dict[str, str] = {"user": me["user"]["id"], "project": me["project"]["id"],
                           "domain": "default", "tenant": me["project"]["id"]}

    def post(path: str, body, kind: str | None = None, key: str | None = None, **kw) -> dict:
        data = _ok(api.post(path, json=body, token=admin, **kw))
        if kind:
            ids[kind] = str(data[key or kind]["id"])
        return data

    # -- identity
    post("/identity/v3/domains", {"domain": {"name": NAME}}, "fuzzdomain", "domain")
    post("/identity/v3/groups", {"group": {"name": NAME}}, "group")
    post("/identity/v3/roles", {"role": {"name": NAME}}, "role")
    post("/identity/v3/regions", {"region": {"id": "fuzz-region"}}, "region")
    post("/identity/v3/services", {"service": {"type": "fuzz", "name": NAME}}, "service")
    post("/identity/v3/endpoints", {"endpoint": {
        "service_id": ids["service"], "interface": "public",
        "url": "http://example.com/fuzz"}}, "endpoint")
    post("/identity/v3/credentials", {"credential": {
        "type": "ec2", "user_id": ids["user"], "project_id": ids["project"],
        "blob": '{"access": "fuzz-access", "secret": "fuzz-secret"}'}}, "credential")
    post(f"/identity/v3/users/{ids['user']}/application_credentials",
         {"application_credential": {"name": NAME}}, "appcred", "application_credential")
    post("/identity/v3/policies", {"policy": {"blob": "{}", "type": "application/json"}},
         "policy")
    post("/identity/v3/registered_limits", {"registered_limits": [{
        "service_id": ids["service"], "resource_name": "fuzz", "default_limit": 5}]})
    post("/identity/v3/limits", {"limits": [{
        "service_id": ids["service"], "project_id": ids["project"], "resource_name": "fuzz",
        "resource_limit": 4}]})
    other = api.make_user(project="fuzz-other", role="member")
    reader = api.make_user(project="admin", role="reader")
    ids["trustee"] = other["id"]
    api.admin("PUT", f"/groups/{ids['group']}/users/{other['id']}", expect=204)

    # -- image
    image = post("/image/v2/images", {"name": NAME, "disk_format": "raw",
                                      "container_format": "bare", "tags": ["fuzz"]})
    ids["image"] = image["id"]
    _ok(api.put(f"/image/v2/images/{image['id']}/file", token=admin, content=b"\0" * 4096,
                headers={"Content-Type": "application/octet-stream"}), 204)
    shared = post("/image/v2/images", {"name": NAME, "visibility": "shared",
                                       "disk_format": "raw", "container_format": "bare"})
    post(f"/image/v2/images/{shared['id']}/members", {"member": other["project_id"]})
    post("/image/v2/metadefs/namespaces", {"namespace": "fuzz-ns"})
    post("/image/v2/metadefs/namespaces/fuzz-ns/objects", {"name": "fuzz-object"})
    post("/image/v2/metadefs/namespaces/fuzz-ns/properties",
         {"name": "fuzz-property", "title": "fuzz", "type": "string"})
    post("/image/v2/metadefs/namespaces/fuzz-ns/tags/fuzz-tag", None)

    # -- network
    net = "/network/v2.0"
    public = post(f"{net}/networks", {"network": {"name": NAME, "router:external": True}})
    post(f"{net}/subnets", {"subnet": {"network_id": public["network"]["id"], "ip_version": 4,
                                       "cidr": "172.24.4.0/24"}})
    post(f"{net}/networks", {"network": {"name": NAME}}, "network")
    post(f"{net}/subnets", {"subnet": {"name": NAME, "network_id": ids["network"],
                                       "ip_version": 4, "cidr": "10.0.0.0/24"}}, "subnet")
    post(f"{net}/ports", {"port": {"name": NAME, "network_id": ids["network"]}}, "port")
    post(f"{net}/routers", {"router": {"name": NAME, "external_gateway_info": {
        "network_id": public["network"]["id"]}}}, "router")
    _ok(api.put(f"{net}/routers/{ids['router']}/add_router_interface",
                json={"subnet_id": ids["subnet"]}, token=admin))
    post(f"{net}/security-groups", {"security_group": {"name": NAME}}, "securitygroup",
         "security_group")
    post(f"{net}/floatingips", {"floatingip": {
        "floating_network_id": public["network"]["id"]}}, "floatingip")
    post(f"{net}/subnetpools", {"subnetpool": {"name": NAME, "prefixes": ["10.99.0.0/16"]}},
         "subnetpool")

    # -- compute
    compute = "/compute/v2.1"
    post(f"{compute}/flavors", {"flavor": {"name": NAME, "ram": 64, "vcpus": 1, "disk": 1}},
         "flavor")
    post(f"{compute}/flavors/{ids['flavor']}/os-extra_specs",
         {"extra_specs": {"hw:cpu_policy": "shared"}})
    post(f"{compute}/os-keypairs", {"keypair": {"name": "fuzz-key"}})
    ids["keypair"] = ids["key"] = "fuzz-key"
    post(f"{compute}/os-server-groups",
         {"server_group": {"name": NAME, "policies": ["anti-affinity"]}}, "servergroup",
         "server_group")
    post(f"{compute}/os-aggregates", {"aggregate": {"name": NAME}}, "aggregate")
    server = post(f"{compute}/servers", {"server": {
        "name": NAME, "imageRef": ids["image"], "flavorRef": "1",
        "metadata": {"fuzz": "yes"}, "networks": [{"uuid": ids["network"]}]}},
        headers={"OpenStack-API-Version": "compute 2.52"}, key="server")
    ids["server"] = ids["instance"] = server["server"]["id"]
    deadline = time.monotonic() + 20
    while True:
        status = api.get(f"{compute}/servers/{ids['server']}", admin).json()["server"]["status"]
        if status == "ACTIVE":
            break
        assert status == "BUILD" and time.monotonic() < deadline, f"seed server is {status}"
        time.sleep(0.05)
    _ok(api.put(f"{compute}/servers/{ids['server']}/tags/fuzz", token=admin,
                headers={"OpenStack-API-Version": "compute 2.26"}))

    personas = [
        Persona("admin", admin),
        Persona("other-project member", api.token(other["name"], other["password"],
                                                  project="fuzz-other")),
        Persona("reader", api.token(reader["name"], reader["password"], project="admin")),
    ]
    return ids, personas
