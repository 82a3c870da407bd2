"""/os-server-groups: create, list, show and delete server groups."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.common.validation import validate
from stacklet.compute import server_groups
from stacklet.compute.models import ServerGroup
from stacklet.compute.subresource_schemas import group_create_schema

routes = RouteTable()

_RULE = "os_compute_api:os-server-groups:"
MAX_LIMIT = 1000


@routes.route("/v2.1/os-server-groups", "POST")
def create_group(req: ApiRequest):
    body = validate(group_create_schema(req.version), req.json_body())["server_group"]
    ctx = req.authorize(_RULE + "create", {"project_id": req.ctx.project_id})
    if req.version.matches("2.64"):
        policy, rules = body["policy"], body.get("rules", {})
    else:
        policy, rules = body["policies"][0], {}
    with req.cloud.db.transaction() as session:
        group = server_groups.create_group(session, req.cloud.config, ctx, body["name"],
                                           policy, rules)
        return {"server_group": _view(req, group, [])}


@routes.route("/v2.1/os-server-groups", "GET")
def list_groups(req: ApiRequest):
    ctx = req.authorize(_RULE + "index", {"project_id": req.ctx.project_id})
    unknown = set(req.query) - {"all_projects", "limit", "offset"}
    if unknown and req.version.matches("2.75"):
        raise BadRequest("Invalid input for query parameters: additional properties are "
                         f"not allowed ({', '.join(sorted(unknown))}).")
    project_id = ctx.project_id
    # Nova quietly shows a non-admin their own groups when they ask for all.
    if "all_projects" in req.query and ctx.is_admin:
        req.authorize(_RULE + "index:all_projects", {"project_id": ctx.project_id})
        project_id = None
    limit = _non_negative(req, "limit")
    limit = MAX_LIMIT if limit is None else min(limit, MAX_LIMIT)
    offset = _non_negative(req, "offset") or 0
    with req.cloud.db.session() as session:
        groups = server_groups.list_groups(session, project_id, limit=limit, offset=offset)
        members = server_groups.live_members(session, groups)
        return {"server_groups": [_view(req, group, members[group.id]) for group in groups]}


def _non_negative(req: ApiRequest, name: str) -> int | None:
    if name not in req.query:
        return None
    text = req.query[name]
    if not text.isdigit():
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {text}. "
                         f"'{text}' is not a non-negative integer.")
    return int(text)


@routes.route("/v2.1/os-server-groups/{group_id}", "GET")
def show_group(req: ApiRequest):
    with req.cloud.db.session() as session:
        group = server_groups.get_group(session, req.ctx, req.path["group_id"])
        req.authorize(_RULE + "show", {"project_id": group.project_id})
        members = server_groups.live_members(session, [group])[group.id]
        return {"server_group": _view(req, group, members)}


@routes.route("/v2.1/os-server-groups/{group_id}", "DELETE", status=204)
def delete_group(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        group = server_groups.get_group(session, req.ctx, req.path["group_id"])
        req.authorize(_RULE + "delete", {"project_id": group.project_id})
        session.delete(group)


def _view(req: ApiRequest, group: ServerGroup, members: list[str]) -> dict:
    view = {"id": group.id, "name": group.name, "members": members}
    if req.version.matches("2.64"):
        view.update(policy=group.policy, rules=group.rules or {})
    else:
        # Before 2.64 the one policy was a list, beside metadata nobody ever used.
        view.update(policies=[group.policy], metadata={})
    if req.version.matches("2.13"):
        view.update(project_id=group.project_id, user_id=group.user_id)
    return view
