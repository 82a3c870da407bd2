"""/flavors/{id}/os-extra_specs: a flavor's key/value specs."""

from __future__ import annotations

from starlette.responses import Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, NotFound
from stacklet.common.validation import validate
from stacklet.compute import flavors

routes = RouteTable()

_SPECS = {
    "type": "object",
    "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$": {
        # Nova takes numbers and booleans too, and stores them as text.
        "type": ["string", "number", "boolean"], "minLength": 0, "maxLength": 255}},
    "additionalProperties": False,
}
CREATE_SCHEMA = {"type": "object", "properties": {"extra_specs": _SPECS},
                 "required": ["extra_specs"], "additionalProperties": False}


def _as_text(value) -> str:
    return str(value)


def _target(req: ApiRequest) -> dict:
    return {"project_id": req.ctx.project_id or ""}


@routes.route("/v2.1/flavors/{flavor_id}/os-extra_specs", "GET")
def list_extra_specs(req: ApiRequest):
    req.authorize("os_compute_api:os-flavor-extra-specs:index", _target(req))
    with req.cloud.db.session() as session:
        flavor = flavors.get_flavor(session, req.path["flavor_id"], req.ctx)
        return {"extra_specs": {spec.key: spec.value for spec in flavor.extra_specs}}


@routes.route("/v2.1/flavors/{flavor_id}/os-extra_specs", "POST")
def create_extra_specs(req: ApiRequest):
    req.authorize("os_compute_api:os-flavor-extra-specs:create", _target(req))
    specs = validate(CREATE_SCHEMA, req.json_body())["extra_specs"]
    specs = {key: _as_text(value) for key, value in specs.items()}
    with req.cloud.db.transaction() as session:
        flavor = flavors.get_flavor(session, req.path["flavor_id"], None)
        flavors.set_extra_specs(session, flavor, specs)
    return {"extra_specs": specs}


@routes.route("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", "GET")
def show_extra_spec(req: ApiRequest):
    req.authorize("os_compute_api:os-flavor-extra-specs:show", _target(req))
    key = req.path["key"]
    with req.cloud.db.session() as session:
        flavor = flavors.get_flavor(session, req.path["flavor_id"], req.ctx)
        for spec in flavor.extra_specs:
            if spec.key == key:
                return {key: spec.value}
    raise NotFound(f"Flavor {flavor.id} has no extra specs with key {key}.")


@routes.route("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", "PUT")
def update_extra_spec(req: ApiRequest):
    req.authorize("os_compute_api:os-flavor-extra-specs:update", _target(req))
    key = req.path["key"]
    body = validate(_SPECS, req.json_body())
    if key not in body:
        raise BadRequest("Request body and URI mismatch")
    if len(body) > 1:
        raise BadRequest("Request body contains too many items")
    value = _as_text(body[key])
    with req.cloud.db.transaction() as session:
        flavor = flavors.get_flavor(session, req.path["flavor_id"], None)
        flavors.set_extra_specs(session, flavor, {key: value})
    return {key: value}


@routes.route("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", "DELETE")
def delete_extra_spec(req: ApiRequest):
    req.authorize("os_compute_api:os-flavor-extra-specs:delete", _target(req))
    with req.cloud.db.transaction() as session:
        flavor = flavors.get_flavor(session, req.path["flavor_id"], None)
        flavors.delete_extra_spec(session, flavor, req.path["key"])
    # Nova answers 200 with no body.
    return Response(status_code=200)
