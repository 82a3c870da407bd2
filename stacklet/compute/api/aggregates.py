"""/os-aggregates: host aggregates, their hosts and metadata (admin only)."""

from __future__ import annotations

from starlette.responses import Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.common.validation import validate
from stacklet.compute import aggregates
from stacklet.compute.api.common import nova_time, require_version
from stacklet.compute.models import Aggregate

routes = RouteTable()

_RULE = "os_compute_api:os-aggregates:"
_ITEM = "/v2.1/os-aggregates/{aggregate_id}"

# Nova's names: no leading or trailing blanks.
_NAME = {"type": "string", "minLength": 1, "maxLength": 255,
         "pattern": r"^(?!\s)[\s\S]*(?<!\s)$"}
_ZONE = {"type": ["string", "null"], "minLength": 1, "maxLength": 255}

CREATE_SCHEMA = {
    "type": "object", "required": ["aggregate"], "additionalProperties": False,
    "properties": {"aggregate": {
        "type": "object", "required": ["name"], "additionalProperties": False,
        "properties": {"name": _NAME, "availability_zone": _ZONE}}}}

UPDATE_SCHEMA = {
    "type": "object", "required": ["aggregate"], "additionalProperties": False,
    "properties": {"aggregate": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "properties": {"name": _NAME, "availability_zone": _ZONE}}}}

_HOST = {"type": "object", "required": ["host"], "additionalProperties": False,
         "properties": {"host": {"type": "string", "minLength": 1, "maxLength": 255}}}

ACTION_SCHEMAS = {
    "add_host": _HOST,
    "remove_host": _HOST,
    "set_metadata": {
        "type": "object", "required": ["metadata"], "additionalProperties": False,
        "properties": {"metadata": {
            "type": "object", "minProperties": 1, "additionalProperties": False,
            "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {
                "type": ["string", "null"], "maxLength": 255}}}}},
}

CACHE_SCHEMA = {
    "type": "object", "required": ["cache"], "additionalProperties": False,
    "properties": {"cache": {
        "type": "array", "minItems": 1,
        "items": {"type": "object", "required": ["id"], "additionalProperties": False,
                  "properties": {"id": {"type": "string", "format": "uuid"}}}}}}


def _view(req: ApiRequest, aggregate: Aggregate, *, full: bool = True) -> dict:
    view = {"id": aggregate.id, "name": aggregate.name,
            "availability_zone": aggregates.zone_of(aggregate),
            "created_at": nova_time(aggregate.created_at),
            "updated_at": nova_time(aggregate.updated_at),
            "deleted": False, "deleted_at": None}
    if full:
        view["hosts"] = [member.host for member in aggregate.hosts]
        view["metadata"] = aggregates.metadata_of(aggregate)
    if req.version.matches("2.41"):
        view["uuid"] = aggregate.uuid
    return view


@routes.route("/v2.1/os-aggregates", "GET")
def list_aggregates(req: ApiRequest):
    req.authorize(_RULE + "index")
    with req.cloud.db.session() as session:
        return {"aggregates": [_view(req, aggregate)
                               for aggregate in aggregates.list_aggregates(session)]}


@routes.route("/v2.1/os-aggregates", "POST")
def create_aggregate(req: ApiRequest):
    req.authorize(_RULE + "create")
    body = validate(CREATE_SCHEMA, req.json_body())["aggregate"]
    with req.cloud.db.transaction() as session:
        aggregate = aggregates.create_aggregate(session, body["name"],
                                                body.get("availability_zone"))
        # Nova's create answer has neither hosts nor metadata.
        return {"aggregate": _view(req, aggregate, full=False)}


@routes.route(_ITEM, "GET")
def show_aggregate(req: ApiRequest):
    req.authorize(_RULE + "show")
    with req.cloud.db.session() as session:
        aggregate = aggregates.get_aggregate(session, req.path["aggregate_id"])
        return {"aggregate": _view(req, aggregate)}


@routes.route(_ITEM, "PUT")
def update_aggregate(req: ApiRequest):
    req.authorize(_RULE + "update")
    body = validate(UPDATE_SCHEMA, req.json_body())["aggregate"]
    with req.cloud.db.transaction() as session:
        aggregate = aggregates.get_aggregate(session, req.path["aggregate_id"])
        aggregates.update_aggregate(session, aggregate, name=body.get("name"),
                                    zone=body.get("availability_zone"),
                                    zone_given="availability_zone" in body)
        session.flush()
        return {"aggregate": _view(req, aggregate)}


@routes.route(_ITEM, "DELETE")
def delete_aggregate(req: ApiRequest):
    req.authorize(_RULE + "delete")
    with req.cloud.db.transaction() as session:
        aggregates.delete_aggregate(
            session, aggregates.get_aggregate(session, req.path["aggregate_id"]))
    return Response(status_code=200)


@routes.route(_ITEM + "/action", "POST")
def aggregate_action(req: ApiRequest):
    body = req.json_body()
    action = next(iter(body), None) if isinstance(body, dict) and len(body) == 1 else None
    if action not in ACTION_SCHEMAS:
        raise BadRequest("Invalid input: the action must be one of add_host, remove_host "
                         "or set_metadata.")
    req.authorize(_RULE + action)
    args = validate(ACTION_SCHEMAS[action], body[action])
    with req.cloud.db.transaction() as session:
        aggregate = aggregates.get_aggregate(session, req.path["aggregate_id"])
        if action == "add_host":
            aggregates.add_host(session, req.cloud.config, aggregate, args["host"])
        elif action == "remove_host":
            aggregates.remove_host(session, req.cloud.config, aggregate, args["host"])
        else:
            aggregates.set_metadata(session, aggregate, args["metadata"])
        session.flush()
        return {"aggregate": _view(req, aggregate)}


@routes.route(_ITEM + "/images", "POST", status=202)
def cache_images(req: ApiRequest):
    """Pre-cache images on the aggregate's hosts (2.81).  Accepted and done at once:
    the fake driver has no image cache, and the QEMU driver reads images from the
    image store as it boots them."""
    require_version(req, "2.81")
    req.authorize("compute:aggregates:images")
    body = validate(CACHE_SCHEMA, req.json_body())
    image_ids = [item["id"] for item in body["cache"]]
    if len(set(image_ids)) != len(image_ids):
        raise BadRequest("Duplicate images in request")
    with req.cloud.db.session() as session:
        aggregates.get_aggregate(session, req.path["aggregate_id"])
    return None
