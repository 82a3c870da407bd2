"""/v2.0/quotas: per-project limits (quotas) and what is used of them (quota_details).

A project member reads their own project's quotas; reading another project's,
listing, changing and resetting them is an admin's.
"""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.network import quotas
from stacklet.network.api.common import authorize
from stacklet.network.attributes import Attr, boolean, integer, parse_body

routes = RouteTable()

DB_INTEGER_MAX = 2 ** 31 - 1
ATTRIBUTES = {
    **{resource: Attr(integer(-1, DB_INTEGER_MAX), post=False, put=True)
       for resource in quotas.DEFAULTS},
    # Whether to refuse a limit below what the project uses (quota-check-limit);
    # "force" says not to, which is also what happens when neither is given.
    "check_limit": Attr(boolean, post=False, put=True),
    "force": Attr(boolean, post=False, put=True),
}


def _authorize_read(req: ApiRequest, project_id: str) -> None:
    if project_id != req.ctx.project_id:
        authorize(req, "get", "quota", {"project_id": project_id, "tenant_id": project_id})


@routes.route("/v2.0/quotas", "GET")
def list_quotas(req: ApiRequest):
    authorize(req, "get", "quota", {})
    with req.cloud.db.session() as session:
        listed = [{**quotas.limits(session, req.cloud.config, project_id),
                   "project_id": project_id, "tenant_id": project_id}
                  for project_id in quotas.projects_with_limits(session)]
    return {"quotas": listed}


@routes.route("/v2.0/quotas/{project_id}", "GET")
def show_quota(req: ApiRequest):
    project_id = req.path["project_id"]
    _authorize_read(req, project_id)
    with req.cloud.db.session() as session:
        return {"quota": quotas.limits(session, req.cloud.config, project_id)}


@routes.route("/v2.0/quotas/{project_id}/default", "GET")
def show_default_quota(req: ApiRequest):
    project_id = req.path["project_id"]
    _authorize_read(req, project_id)
    return {"quota": {**quotas.default_limits(req.cloud.config), "project_id": project_id,
                      "tenant_id": project_id}}


@routes.route("/v2.0/quotas/{project_id}/details", "GET")
@routes.route("/v2.0/quotas/{project_id}/details.json", "GET")
def show_quota_details(req: ApiRequest):
    project_id = req.path["project_id"]
    _authorize_read(req, project_id)
    with req.cloud.db.session() as session:
        limits = quotas.limits(session, req.cloud.config, project_id)
        used = quotas.usages(session, project_id)
    # Stacklet counts inside the creating transaction, so nothing is ever reserved.
    return {"quota": {resource: {"limit": limit, "used": used[resource], "reserved": 0}
                      for resource, limit in limits.items()}}


@routes.route("/v2.0/quotas/{project_id}", "PUT")
def update_quota(req: ApiRequest):
    project_id = req.path["project_id"]
    target = {"project_id": project_id, "tenant_id": project_id}
    authorize(req, "update", "quota", target)
    values = parse_body(req.body, "quota", ATTRIBUTES, update=True)
    check_limit = values.pop("check_limit", False) and not values.pop("force", False)
    values.pop("force", None)
    with req.cloud.db.transaction() as session:
        if check_limit:
            quotas.check_not_below_usage(session, project_id, values)
        quotas.set_limits(session, project_id, values)
        return {"quota": quotas.limits(session, req.cloud.config, project_id)}


@routes.route("/v2.0/quotas/{project_id}", "DELETE", status=204)
def delete_quota(req: ApiRequest):
    project_id = req.path["project_id"]
    authorize(req, "delete", "quota", {"project_id": project_id, "tenant_id": project_id})
    with req.cloud.db.transaction() as session:
        quotas.reset(session, project_id)
