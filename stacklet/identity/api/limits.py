"""/v3/registered_limits and /v3/limits: unified limits."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.identity import limits, schemas
from stacklet.identity.api.views import collection, update_body
from stacklet.identity.models import Limit, RegisteredLimit

routes = RouteTable()

_FILTERS = ("service_id", "region_id", "resource_name", "project_id", "domain_id")


def registered_limit_view(req: ApiRequest, row: RegisteredLimit) -> dict:
    return {"id": row.id, "service_id": row.service_id, "region_id": row.region_id,
            "resource_name": row.resource_name, "default_limit": row.default_limit,
            "description": row.description,
            "links": {"self": req.url(f"/v3/registered_limits/{row.id}")}}


def limit_view(req: ApiRequest, limit: Limit, registered: RegisteredLimit) -> dict:
    return {"id": limit.id, "project_id": limit.project_id, "domain_id": limit.domain_id,
            "service_id": registered.service_id, "region_id": registered.region_id,
            "resource_name": registered.resource_name, "resource_limit": limit.resource_limit,
            "description": limit.description,
            "links": {"self": req.url(f"/v3/limits/{limit.id}")}}


def _filters(req: ApiRequest) -> dict:
    return {name: req.query[name] for name in _FILTERS if name in req.query}


@routes.route("/v3/registered_limits", "GET")
def list_registered_limits(req: ApiRequest):
    req.authorize("identity:list_registered_limits")
    with req.cloud.db.session() as session:
        rows = limits.list_registered(session, _filters(req))
        return collection(req, "registered_limits", (registered_limit_view(req, r) for r in rows))


@routes.route("/v3/registered_limits", "POST", status=201)
def create_registered_limits(req: ApiRequest):
    req.authorize("identity:create_registered_limits")
    items = validate(schemas.registered_limits_create, req.json_body())["registered_limits"]
    with req.cloud.db.transaction() as session:
        rows = limits.create_registered(session, items)
        return {"registered_limits": [registered_limit_view(req, r) for r in rows]}


@routes.route("/v3/registered_limits/{limit_id}", "GET")
def show_registered_limit(req: ApiRequest):
    req.authorize("identity:get_registered_limit")
    with req.cloud.db.session() as session:
        return {"registered_limit": registered_limit_view(
            req, limits.get_registered(session, req.path["limit_id"]))}


@routes.route("/v3/registered_limits/{limit_id}", "PATCH")
def update_registered_limit(req: ApiRequest):
    req.authorize("identity:update_registered_limit")
    changes = update_body(req, schemas.registered_limit_update, "registered_limit",
                          req.path["limit_id"])
    with req.cloud.db.transaction() as session:
        return {"registered_limit": registered_limit_view(
            req, limits.update_registered(session, req.path["limit_id"], changes))}


@routes.route("/v3/registered_limits/{limit_id}", "DELETE", status=204)
def delete_registered_limit(req: ApiRequest):
    req.authorize("identity:delete_registered_limit")
    with req.cloud.db.transaction() as session:
        limits.delete_registered(session, req.path["limit_id"])


@routes.route("/v3/limits/model", "GET")
def show_limit_model(req: ApiRequest):
    req.authorize("identity:get_limit_model")
    return {"model": limits.MODEL}


@routes.route("/v3/limits", "GET")
def list_limits(req: ApiRequest):
    ctx = req.ctx
    filters = _filters(req)
    if not req.cloud.policy.allowed(ctx, "identity:list_limits"):
        # As in Keystone, anyone else lists only the limits of their project.
        filters["project_id"] = ctx.project_id or "-"
        filters.pop("domain_id", None)
    with req.cloud.db.session() as session:
        rows = limits.list_limits(session, filters)
        return collection(req, "limits", (limit_view(req, *row) for row in rows))


@routes.route("/v3/limits", "POST", status=201)
def create_limits(req: ApiRequest):
    req.authorize("identity:create_limits")
    items = validate(schemas.limits_create, req.json_body())["limits"]
    with req.cloud.db.transaction() as session:
        return {"limits": [limit_view(req, *row) for row in limits.create_limits(session, items)]}


@routes.route("/v3/limits/{limit_id}", "GET")
def show_limit(req: ApiRequest):
    req.ctx
    with req.cloud.db.session() as session:
        limit, registered = limits.get_limit(session, req.path["limit_id"])
        req.authorize("identity:get_limit", {"target.limit.project_id": limit.project_id})
        return {"limit": limit_view(req, limit, registered)}


@routes.route("/v3/limits/{limit_id}", "PATCH")
def update_limit(req: ApiRequest):
    req.authorize("identity:update_limit")
    changes = update_body(req, schemas.limit_update, "limit", req.path["limit_id"])
    with req.cloud.db.transaction() as session:
        return {"limit": limit_view(req, *limits.update_limit(session, req.path["limit_id"],
                                                             changes))}


@routes.route("/v3/limits/{limit_id}", "DELETE", status=204)
def delete_limit(req: ApiRequest):
    req.authorize("identity:delete_limit")
    with req.cloud.db.transaction() as session:
        limits.delete_limit(session, req.path["limit_id"])
