"""A server's security groups: the addSecurityGroup and removeSecurityGroup actions.

The server keeps the names it was given; the network service applies them to
its ports.
"""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import NotFound
from stacklet.common.validation import validate
from stacklet.compute import servers
from stacklet.compute.api.server_actions import action

# No routes of its own: the actions go through POST /servers/{id}/action.
routes = RouteTable()

_GROUP = {"type": "object", "properties": {"name": {"type": "string", "minLength": 1,
                                                    "maxLength": 255}},
          "required": ["name"], "additionalProperties": False}


def _change_groups(req: ApiRequest, value, change) -> None:
    name = validate(_GROUP, value)["name"]
    with req.cloud.db.transaction() as session:
        server = servers.get_server(session, req.ctx, req.path["server_id"])
        req.authorize("os_compute_api:os-security-groups:" + change.__name__,
                      servers.policy_target(server))
        groups = list(server.system_metadata.get("security_groups", []))
        server.system_metadata = {**server.system_metadata,
                                  "security_groups": change(req, server, groups, name)}


def add(req: ApiRequest, server, groups: list[str], name: str) -> list[str]:
    if not req.cloud.ports.security_group_exists(req.ctx, name):
        raise NotFound(f"Security group {name} not found.")
    return groups if name in groups else groups + [name]


def remove(req: ApiRequest, server, groups: list[str], name: str) -> list[str]:
    if name not in groups:
        raise NotFound(f"Security group {name} not associated with the instance {server.id}")
    return [group for group in groups if group != name]


@action("addSecurityGroup")
def add_security_group(req: ApiRequest, value):
    _change_groups(req, value, add)


@action("removeSecurityGroup")
def remove_security_group(req: ApiRequest, value):
    _change_groups(req, value, remove)
