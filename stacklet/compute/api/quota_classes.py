"""/os-quota-class-sets: quota classes; the 'default' class is every project's defaults."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.compute import quotas
from stacklet.compute.api.common import as_int
from stacklet.compute.api.quota_sets import limits_schema

routes = RouteTable()


def _shown(req: ApiRequest, values: dict) -> dict:
    return {name: values[name]
            for name in quotas.visible_resources(req.version, quota_class=True)}


@routes.route("/v2.1/os-quota-class-sets/{class_name}", "GET")
def show_quota_class_set(req: ApiRequest):
    class_name = req.path["class_name"]
    req.authorize("os_compute_api:os-quota-class-sets:show", {"quota_class": class_name})
    with req.cloud.db.session() as session:
        limits = quotas.class_limits(session, req.cloud.config, class_name)
    return {"quota_class_set": {"id": class_name, **_shown(req, limits)}}


@routes.route("/v2.1/os-quota-class-sets/{class_name}", "PUT")
def update_quota_class_set(req: ApiRequest):
    class_name = req.path["class_name"]
    req.authorize("os_compute_api:os-quota-class-sets:update", {"quota_class": class_name})
    schema = limits_schema("quota_class_set",
                           quotas.visible_resources(req.version, quota_class=True), force=False)
    body = validate(schema, req.json_body())["quota_class_set"]
    with req.cloud.db.transaction() as session:
        quotas.set_class_limits(session, class_name,
                                {name: as_int(value, name, -1) for name, value in body.items()})
        limits = quotas.class_limits(session, req.cloud.config, class_name)
    return {"quota_class_set": _shown(req, limits)}
