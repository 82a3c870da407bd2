"""B may not reference A's resources by id: not in its own new resources, not in
changes to its own, not in actions, not in tokens.

Each case is one request of B's naming something of A's; B's member and B's
reader must both be refused (400, 403 or 404, as OpenStack answers), and after
all of them A sees its resources as they were.
"""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest

from tests.identity.test_ec2_tokens import _v4_header_signed
from tests.security.world import PASSWORD, SUFFIX, Caller, World, build_world, snapshot

pytestmark = pytest.mark.routes

REFUSED = (400, 403, 404)
NET, V21, IMG, V3 = "/network/v2.0", "/compute/v2.1", "/image/v2", "/identity/v3"
# Nova's proxies of floating IPs and security groups end at these microversions.
NOVA_2_1 = {"OpenStack-API-Version": "compute 2.1"}
NOVA_2_43 = {"OpenStack-API-Version": "compute 2.43"}


@dataclasses.dataclass
class Try:
    what: str                     # what B tries, in words
    method: str
    path: str
    body: object = None
    headers: dict = dataclasses.field(default_factory=dict)
    expect: tuple = REFUSED


def _ids(values: dict) -> SimpleNamespace:
    return SimpleNamespace(**{kind: ids[0] if isinstance(ids, list) else ids
                              for kind, ids in values.items()})


def tries(world: World) -> list[Try]:
    """Everything B tries with A's ids (``a``), often on B's own resources (``b``)."""
    a, b = _ids(world.a), _ids(world.b)
    external = world.cloud_wide["external_network"][0]
    shared_image = world.a["image"][1]

    def boot(**server) -> dict:
        return {"server": {"name": "b-vm", "imageRef": world.b["image"], "flavorRef": "1",
                           "networks": [{"uuid": b.network}], **server}}

    def password_auth(scope: dict) -> dict:
        return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "b-member", "domain": {"name": f"dom-b-{SUFFIX}"},
            "password": PASSWORD}}}, "scope": scope}}

    return [
        # -- network ------------------------------------------------------------------
        Try("a port on A's network", "POST", f"{NET}/ports",
            {"port": {"network_id": a.network}}),
        Try("a port with an address in A's subnet", "POST", f"{NET}/ports",
            {"port": {"network_id": b.network, "fixed_ips": [{"subnet_id": a.subnet}]}}),
        Try("a port in A's security group", "POST", f"{NET}/ports",
            {"port": {"network_id": b.network, "security_groups": [a.security_group]}}),
        Try("B's port into A's security group", "PUT", f"{NET}/ports/{b.port}",
            {"port": {"security_groups": [a.security_group]}}),
        Try("a port of B's bound to A's server", "POST", f"{NET}/ports",
            {"port": {"network_id": b.network, "device_id": a.server,
                      "device_owner": "compute:nova"}},
            # Neutron's DeviceIDNotOwnedByTenant (a reader: 403 before that);
            # A's server is unchanged (the snapshot).
            expect=REFUSED + (409,)),
        Try("a subnet on A's network", "POST", f"{NET}/subnets",
            {"subnet": {"network_id": a.network, "cidr": "10.9.0.0/24", "ip_version": 4}}),
        Try("a subnet from A's subnet pool", "POST", f"{NET}/subnets",
            {"subnet": {"network_id": b.network, "subnetpool_id": a.subnetpool,
                        "ip_version": 4}}),
        Try("A's subnet on B's router", "PUT", f"{NET}/routers/{b.router}/add_router_interface",
            {"subnet_id": a.subnet}),
        Try("A's port on B's router", "PUT", f"{NET}/routers/{b.router}/add_router_interface",
            {"port_id": a.port}),
        Try("A's subnet off B's router", "PUT",
            f"{NET}/routers/{b.router}/remove_router_interface", {"subnet_id": a.subnet}),
        Try("a router with its gateway on A's network", "POST", f"{NET}/routers",
            {"router": {"external_gateway_info": {"network_id": a.network}}}),
        Try("B's router's gateway on A's network", "PUT", f"{NET}/routers/{b.router}",
            {"router": {"external_gateway_info": {"network_id": a.network}}}),
        Try("a floating IP on A's port", "POST", f"{NET}/floatingips",
            {"floatingip": {"floating_network_id": external, "port_id": a.port}}),
        Try("B's floating IP onto A's port", "PUT", f"{NET}/floatingips/{b.floatingip}",
            {"floatingip": {"port_id": a.port}}),
        Try("a rule in A's security group", "POST", f"{NET}/security-group-rules",
            {"security_group_rule": {"security_group_id": a.security_group,
                                     "direction": "ingress"}}),
        Try("a rule of B's opening to A's security group", "POST",
            f"{NET}/security-group-rules",
            {"security_group_rule": {"security_group_id": b.security_group,
                                     "direction": "ingress",
                                     "remote_group_id": a.security_group}}),
        # Resources of B's made in A's name.
        Try("a network for A", "POST", f"{NET}/networks",
            {"network": {"name": "b-for-a", "project_id": a.project}}),
        Try("a network for A, by tenant_id", "POST", f"{NET}/networks",
            {"network": {"name": "b-for-a", "tenant_id": a.project}}),
        Try("a subnet for A", "POST", f"{NET}/subnets",
            {"subnet": {"network_id": b.network, "cidr": "10.8.0.0/24", "ip_version": 4,
                        "project_id": a.project}}),
        Try("a port for A", "POST", f"{NET}/ports",
            {"port": {"network_id": b.network, "project_id": a.project}}),
        Try("a security group for A", "POST", f"{NET}/security-groups",
            {"security_group": {"name": "b-for-a", "project_id": a.project}}),
        Try("a rule for A", "POST", f"{NET}/security-group-rules",
            {"security_group_rule": {"security_group_id": b.security_group,
                                     "direction": "ingress", "project_id": a.project}}),
        Try("a router for A", "POST", f"{NET}/routers",
            {"router": {"name": "b-for-a", "project_id": a.project}}),
        Try("a subnet pool for A", "POST", f"{NET}/subnetpools",
            {"subnetpool": {"name": "b-for-a", "prefixes": ["10.200.0.0/16"],
                            "project_id": a.project}}),
        Try("a floating IP for A", "POST", f"{NET}/floatingips",
            {"floatingip": {"floating_network_id": external, "project_id": a.project}}),
        Try("A's quota", "PUT", f"{NET}/quotas/{a.project}", {"quota": {"network": 1}}),

        # -- compute ------------------------------------------------------------------
        Try("a server of A's private image", "POST", f"{V21}/servers",
            boot(imageRef=a.image)),
        Try("a server of A's image, as a block device", "POST", f"{V21}/servers",
            boot(imageRef="", block_device_mapping_v2=[{
                "source_type": "image", "uuid": a.image, "destination_type": "local",
                "boot_index": 0}])),
        Try("a server of A's private flavor", "POST", f"{V21}/servers",
            boot(flavorRef=a.flavor)),
        Try("a server on A's network", "POST", f"{V21}/servers",
            boot(networks=[{"uuid": a.network}])),
        Try("a server on A's port", "POST", f"{V21}/servers",
            boot(networks=[{"port": a.port}])),
        Try("a server in A's security group", "POST", f"{V21}/servers",
            boot(security_groups=[{"name": a.security_group}])),
        Try("a server with A's keypair", "POST", f"{V21}/servers",
            boot(key_name=a.keypair)),
        Try("a server in A's server group", "POST", f"{V21}/servers",
            {**boot(), "os:scheduler_hints": {"group": a.server_group}}),
        Try("A's port onto B's server", "POST", f"{V21}/servers/{b.server}/os-interface",
            {"interfaceAttachment": {"port_id": a.port}}),
        Try("B's server onto A's network", "POST", f"{V21}/servers/{b.server}/os-interface",
            {"interfaceAttachment": {"net_id": a.network}}),
        Try("A's security group onto B's server", "POST", f"{V21}/servers/{b.server}/action",
            {"addSecurityGroup": {"name": a.security_group}}),
        Try("A's floating IP onto B's server", "POST", f"{V21}/servers/{b.server}/action",
            {"addFloatingIp": {"address": a.floating_address}}, NOVA_2_43),
        Try("B's server rebuilt from A's image", "POST", f"{V21}/servers/{b.server}/action",
            {"rebuild": {"imageRef": a.image}}),
        Try("B's server resized to A's flavor", "POST", f"{V21}/servers/{b.server}/action",
            {"resize": {"flavorRef": a.flavor}}),
        Try("a nova-network rule in A's security group", "POST",
            f"{V21}/os-security-group-rules",
            {"security_group_rule": {"parent_group_id": a.security_group,
                                     "ip_protocol": "tcp", "from_port": 1, "to_port": 2,
                                     "cidr": "0.0.0.0/0"}}, NOVA_2_1),
        Try("a nova-network rule of B's opening to A's group", "POST",
            f"{V21}/os-security-group-rules",
            {"security_group_rule": {"parent_group_id": b.security_group,
                                     "ip_protocol": "tcp", "from_port": 1, "to_port": 2,
                                     "group_id": a.security_group}}, NOVA_2_1),
        Try("an event on A's server", "POST", f"{V21}/os-server-external-events",
            {"events": [{"name": "network-changed", "server_uuid": a.server}]}),
        Try("A's keypair, by A's user id", "GET",
            f"{V21}/os-keypairs/{a.keypair}?user_id={a.user}"),
        Try("A's keypair deleted, by A's user id", "DELETE",
            f"{V21}/os-keypairs/{a.keypair}?user_id={a.user}"),
        Try("A's compute quota", "PUT", f"{V21}/os-quota-sets/{a.project}",
            {"quota_set": {"instances": 1}}),

        # -- image --------------------------------------------------------------------
        Try("an image owned by A", "POST", f"{IMG}/images",
            {"name": "b-for-a", "disk_format": "raw", "container_format": "bare",
             "owner": a.project}),
        Try("B's image given to A", "PATCH", f"{IMG}/images/{world.b['image']}",
            [{"op": "replace", "path": "/owner", "value": a.project}],
            {"Content-Type": "application/openstack-images-v2.1-json-patch"}),
        Try("B accepting A's image on its own behalf", "PUT",
            f"{IMG}/images/{shared_image}/members/{b.project}", {"status": "accepted"}),
        Try("B sharing A's image with B", "POST", f"{IMG}/images/{shared_image}/members",
            {"member": b.project}),

        # -- identity -----------------------------------------------------------------
        Try("a role for B on A's project", "PUT",
            f"{V3}/projects/{a.project}/users/{world.b_member.user_id}/roles/"
            f"{world.cloud_wide['global_role'][0]}"),
        Try("B into A's group", "PUT", f"{V3}/groups/{a.group}/users/{world.b_member.user_id}"),
        Try("a project in A's domain", "POST", f"{V3}/projects",
            {"project": {"name": "b-in-a", "domain_id": a.domain}}),
        Try("a user in A's domain", "POST", f"{V3}/users",
            {"user": {"name": "b-in-a", "domain_id": a.domain}}),
        Try("a credential for A's user", "POST", f"{V3}/credentials",
            {"credential": {"user_id": a.user, "type": "cert", "blob": "b"}}),
        Try("a trust from A's user", "POST", f"{V3}/OS-TRUST/trusts",
            {"trust": {"trustor_user_id": a.user, "trustee_user_id": world.b_member.user_id,
                       "project_id": a.project, "impersonation": False,
                       "roles": [{"name": "member"}]}}),
        Try("a trust of B's on A's project", "POST", f"{V3}/OS-TRUST/trusts",
            {"trust": {"trustor_user_id": world.b_member.user_id,
                       "trustee_user_id": world.b_reader.user_id, "project_id": a.project,
                       "impersonation": False, "roles": [{"name": "member"}]}}),
        Try("A's token validated", "GET", f"{V3}/auth/tokens",
            headers={"X-Subject-Token": world.a_member.token}),
        Try("A's token checked", "HEAD", f"{V3}/auth/tokens",
            headers={"X-Subject-Token": world.a_member.token}),
        Try("A's token revoked", "DELETE", f"{V3}/auth/tokens",
            headers={"X-Subject-Token": world.a_member.token}),
        Try("a token on A's project", "POST", f"{V3}/auth/tokens",
            password_auth({"project": {"id": a.project}}), expect=(401,)),
        Try("a token on A's domain", "POST", f"{V3}/auth/tokens",
            password_auth({"domain": {"id": a.domain}}), expect=(401,)),
        Try("a token through A's trust", "POST", f"{V3}/auth/tokens",
            {"auth": {"identity": {"methods": ["token"], "token": {"id": "{own token}"}},
                      "scope": {"OS-TRUST:trust": {"id": a.trust}}}}, expect=(401, 403, 404)),
    ]


def _run(persona: Caller, attempt: Try):
    body = attempt.body
    # A token-method authentication names the caller's own token.
    if isinstance(body, dict) and "{own token}" in json.dumps(body):
        body = json.loads(json.dumps(body).replace("{own token}", persona.token))
    return persona.call(attempt.method, attempt.path, body, headers=attempt.headers)


def test_b_cannot_reference_a_resources(api, record_property):
    """Every try is refused, and A's resources are as they were."""
    world = build_world(api)
    before = snapshot(world)
    attempts = tries(world)
    problems = []
    for persona in (world.b_reader, world.b_member):
        for attempt in attempts:
            response = _run(persona, attempt)
            if response.status_code not in attempt.expect:
                problems.append(f"{persona.name}: {attempt.what}: {attempt.method} "
                                f"{attempt.path} -> {response.status_code} "
                                f"{response.text[:300]}")
    after = snapshot(world)
    problems += [f"A's {path} changed:\n  before {json.dumps(before[path])}\n"
                 f"  after  {json.dumps(after[path])}" for path in before
                 if before[path] != after[path]]
    record_property("coverage", f"isolation references: {len(attempts)} tries x 2 personas")
    assert not problems, f"{len(problems)} references to A's resources allowed:\n" + \
        "\n".join(problems)


def test_b_ec2_credential_naming_a_project_gives_no_token_there(api):
    """Keystone lets a user store an EC2 credential naming any project; what matters
    is that signing with it gives no token on a project the user has no role on."""
    a_user = api.make_user(project="ec2-a")
    b_user = api.make_user(project="ec2-b")
    token = api.token(b_user["name"], b_user["password"], project="ec2-b")
    signed = {}
    for project in ("ec2-a", "ec2-b"):
        project_id = a_user["project_id"] if project == "ec2-a" else b_user["project_id"]
        created = api.post(f"/identity/v3/users/{b_user['id']}/credentials/OS-EC2",
                           {"tenant_id": project_id}, token)
        assert created.status_code == 201, created.text
        credential = created.json()["credential"]
        signed[project] = api.post("/identity/v3/ec2tokens", {"credentials": _v4_header_signed(
            credential["access"], credential["secret"])})
    assert signed["ec2-b"].status_code == 200, signed["ec2-b"].text
    assert signed["ec2-a"].status_code == 401
