"""A server's security groups: the addSecurityGroup and removeSecurityGroup actions.

The server keeps the names it was given (its view shows them); the network
service applies them to its ports, which Nova updates through the network
API as the caller.
"""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import Conflict, NotFound
from stacklet.common.validation import validate
from stacklet.compute import servers
from stacklet.compute.api.server_actions import action
from stacklet.compute.models import Instance
from stacklet.compute.neutron import Neutron

# No routes of its own: the actions go through POST /servers/{id}/action.
routes = RouteTable()

_GROUP = {"type": "object", "properties": {"name": {"type": "string", "minLength": 1,
                                                    "maxLength": 255}},
          "required": ["name"], "additionalProperties": False}


def _group_ids(neutron: Neutron, project_id: str, names: list[str]) -> list[str]:
    """The ids of the project's groups of these names (or ids); 404 for a missing
    one, 409 for a name several groups share."""
    groups = neutron.get("/security-groups", project_id=project_id)["security_groups"]
    ids = []
    for name in names:
        if any(group["id"] == name for group in groups):
            ids.append(name)
            continue
        matching = [group["id"] for group in groups if group["name"] == name]
        if not matching:
            raise NotFound(f"Security group {name} not found.")
        if len(matching) > 1:
            raise Conflict(f"Multiple security groups found matching '{name}'. Use an ID "
                           "to be more specific.")
        ids.append(matching[0])
    return ids


def _change_groups(req: ApiRequest, value, change) -> None:
    name = validate(_GROUP, value)["name"]
    with req.cloud.db.session() as session:
        server = servers.get_server(session, req.ctx, req.path["server_id"])
        req.authorize("os_compute_api:os-security-groups:" + change.__name__,
                      servers.policy_target(server))
    names = change(server, list(server.system_metadata.get("security_groups", [])), name)
    neutron = Neutron(req)
    group_ids = _group_ids(neutron, server.project_id, names)
    for port in neutron.server_ports(server.id):
        neutron.put(f"/ports/{port['id']}", {"port": {"security_groups": group_ids}})
    with req.cloud.db.transaction() as session:
        row = session.get(Instance, server.id)
        row.system_metadata = {**row.system_metadata, "security_groups": names}


def add(server, groups: list[str], name: str) -> list[str]:
    return groups if name in groups else groups + [name]


def remove(server, groups: list[str], name: str) -> list[str]:
    if name not in groups:
        raise NotFound(f"Security group {name} not associated with the instance {server.id}")
    return [group for group in groups if group != name]


@action("addSecurityGroup")
def add_security_group(req: ApiRequest, value):
    _change_groups(req, value, add)


@action("removeSecurityGroup")
def remove_security_group(req: ApiRequest, value):
    _change_groups(req, value, remove)
