"""/os-quota-sets: a project's (or a user's) compute quotas, their defaults and usage."""

from __future__ import annotations

from starlette.responses import Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.compute import quotas
from stacklet.compute.api.common import BOOLEAN, as_bool, as_int
from stacklet.compute.projects import verify_project_id

routes = RouteTable()

_LIMIT = {"type": ["integer", "string"], "pattern": r"^-?[0-9]+$", "minimum": -1,
          "maximum": 2**31 - 1}


def limits_schema(key: str, resources: list[str], *, force: bool) -> dict:
    """A quota (class) set update: limits of the resources shown at this version."""
    properties = {name: _LIMIT for name in resources}
    if force:
        properties["force"] = BOOLEAN
    return {"type": "object",
            "properties": {key: {"type": "object", "properties": properties,
                                 "additionalProperties": False}},
            "required": [key], "additionalProperties": False}


def _authorize(req: ApiRequest, action: str) -> str:
    project_id = req.path["project_id"]
    req.authorize(f"os_compute_api:os-quota-sets:{action}", {"project_id": project_id})
    return project_id


def _user(req: ApiRequest) -> str | None:
    return req.query.get("user_id") or None


def _shown(req: ApiRequest, values: dict) -> dict:
    return {name: values[name] for name in quotas.visible_resources(req.version)}


@routes.route("/v2.1/os-quota-sets/{project_id}", "GET")
def show_quota_set(req: ApiRequest):
    project_id = _authorize(req, "show")
    with req.cloud.db.session() as session:
        limits = quotas.get_limits(session, req.cloud.config, project_id, _user(req))
    return {"quota_set": {"id": project_id, **_shown(req, limits)}}


@routes.route("/v2.1/os-quota-sets/{project_id}/detail", "GET")
def show_quota_set_detail(req: ApiRequest):
    project_id = _authorize(req, "detail")
    user_id = _user(req)
    with req.cloud.db.session() as session:
        limits = quotas.get_limits(session, req.cloud.config, project_id, user_id)
        usage = quotas.get_usage(session, project_id, user_id)
    details = {name: {"limit": limits[name], "in_use": usage[name], "reserved": 0}
               for name in quotas.visible_resources(req.version)}
    return {"quota_set": {"id": project_id, **details}}


@routes.route("/v2.1/os-quota-sets/{project_id}/defaults", "GET")
def show_quota_defaults(req: ApiRequest):
    project_id = _authorize(req, "defaults")
    with req.cloud.db.session() as session:
        defaults = quotas.class_limits(session, req.cloud.config)
    return {"quota_set": {"id": project_id, **_shown(req, defaults)}}


@routes.route("/v2.1/os-quota-sets/{project_id}", "PUT")
def update_quota_set(req: ApiRequest):
    project_id = _authorize(req, "update")
    user_id = _user(req)
    schema = limits_schema("quota_set", quotas.visible_resources(req.version), force=True)
    body = dict(validate(schema, req.json_body())["quota_set"])
    force = as_bool(body.pop("force", False))
    changes = {name: as_int(value, name, -1) for name, value in body.items()}
    with req.cloud.db.transaction() as session:
        verify_project_id(session, project_id)
        quotas.update_limits(session, req.cloud.config, project_id, user_id, changes, force)
        limits = quotas.get_limits(session, req.cloud.config, project_id, user_id)
    return {"quota_set": _shown(req, limits)}


@routes.route("/v2.1/os-quota-sets/{project_id}", "DELETE")
def delete_quota_set(req: ApiRequest):
    project_id = _authorize(req, "delete")
    with req.cloud.db.transaction() as session:
        quotas.delete_limits(session, project_id, _user(req))
    return Response(status_code=202)
