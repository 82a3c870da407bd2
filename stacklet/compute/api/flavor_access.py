"""Private flavors' access lists: /flavors/{id}/os-flavor-access and the
addTenantAccess / removeTenantAccess actions."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, NotFound
from stacklet.common.validation import validate
from stacklet.compute import flavors
from stacklet.compute.models import Flavor
from stacklet.compute.projects import verify_project_id

routes = RouteTable()

_TENANT = {"type": "object",
           "properties": {"tenant": {"type": "string", "minLength": 1, "maxLength": 255,
                                     "pattern": r"^[a-zA-Z0-9-]+$"}},
           "required": ["tenant"], "additionalProperties": False}
ACTION_SCHEMA = {"type": "object",
                 "properties": {"addTenantAccess": _TENANT, "removeTenantAccess": _TENANT},
                 "minProperties": 1, "maxProperties": 1, "additionalProperties": False}


def access_list(flavor: Flavor) -> dict:
    return {"flavor_access": [{"flavor_id": flavor.id, "tenant_id": access.project_id}
                              for access in flavor.projects]}


@routes.route("/v2.1/flavors/{flavor_id}/os-flavor-access", "GET")
def list_flavor_access(req: ApiRequest):
    req.authorize("os_compute_api:os-flavor-access")
    with req.cloud.db.session() as session:
        flavor = flavors.get_flavor(session, req.path["flavor_id"], None)
        if flavor.is_public:
            raise NotFound("Access list not available for public flavors.")
        return access_list(flavor)


@routes.route("/v2.1/flavors/{flavor_id}/action", "POST")
def flavor_action(req: ApiRequest):
    body = req.json_body()
    if not isinstance(body, dict) or not ({"addTenantAccess", "removeTenantAccess"} & set(body)):
        raise BadRequest("There is no such action: " + ", ".join(
            body if isinstance(body, dict) else []))
    validate(ACTION_SCHEMA, body)
    adding = "addTenantAccess" in body
    req.authorize("os_compute_api:os-flavor-access:" + (
        "add_tenant_access" if adding else "remove_tenant_access"))
    project_id = (body.get("addTenantAccess") or body.get("removeTenantAccess"))["tenant"]
    with req.cloud.db.transaction() as session:
        flavor = flavors.get_flavor(session, req.path["flavor_id"], None)
        if adding:
            verify_project_id(session, project_id)
            flavors.add_project_access(session, flavor, project_id)
        else:
            flavors.remove_project_access(session, flavor, project_id)
        return access_list(flavor)
