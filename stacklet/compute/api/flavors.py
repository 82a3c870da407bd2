"""/flavors: list, show, create, update (description, 2.55) and delete."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.common.pagination import paginate
from stacklet.common.validation import validate
from stacklet.compute import flavors
from stacklet.compute.api.common import (
    BOOLEAN,
    INT_MAX,
    as_bool,
    as_int,
    collection_links,
    page_request,
    query_flag,
    reject_unknown_query,
    require_version,
    resource_links,
)
from stacklet.compute.models import Flavor

routes = RouteTable()

def _count(minimum: int) -> dict:
    # Nova accepts numbers written as strings of digits too.
    return {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": minimum,
            "maximum": INT_MAX}


_NAME = {"type": "string", "minLength": 1, "maxLength": 255,
         "pattern": r"^(?! )[^\x00-\x1f]*(?<! )$"}

CREATE_SCHEMA = {
    "type": "object",
    "properties": {"flavor": {
        "type": "object",
        "properties": {
            "name": _NAME,
            "id": {"type": ["string", "number", "null"], "minLength": 1, "maxLength": 255,
                   "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"},
            "ram": _count(1), "vcpus": _count(1), "disk": _count(0), "swap": _count(0),
            "OS-FLV-EXT-DATA:ephemeral": _count(0),
            "rxtx_factor": {"type": ["number", "string"], "pattern": r"^[0-9.]+$",
                            "exclusiveMinimum": 0, "maximum": 3.40282e38},
            "os-flavor-access:is_public": BOOLEAN,
            "description": {"type": ["string", "null"], "maxLength": 65535},
        },
        "required": ["name", "ram", "vcpus", "disk"],
        "additionalProperties": False,
    }},
    "required": ["flavor"],
    "additionalProperties": False,
}

UPDATE_SCHEMA = {
    "type": "object",
    "properties": {"flavor": {
        "type": "object",
        "properties": {"description": {"type": ["string", "null"], "maxLength": 65535}},
        "required": ["description"],
        "additionalProperties": False,
    }},
    "required": ["flavor"],
    "additionalProperties": False,
}


def flavor_view(req: ApiRequest, flavor: Flavor, *, detail: bool = True) -> dict:
    view = {"id": flavor.id, "name": flavor.name}
    if detail:
        # Nova wrote an unset swap as "" until 2.75.
        swap = flavor.swap if flavor.swap or req.version.matches("2.75") else ""
        view.update({
            "ram": flavor.memory_mb, "disk": flavor.root_gb, "vcpus": flavor.vcpus,
            "swap": swap, "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": flavor.disabled,
            "os-flavor-access:is_public": flavor.is_public,
            "rxtx_factor": flavor.rxtx_factor,
        })
    if req.version.matches("2.55"):
        view["description"] = flavor.description
    if detail and req.version.matches("2.61") and req.allowed(
            "os_compute_api:os-flavor-extra-specs:index", {"project_id": req.ctx.project_id or ""}):
        view["extra_specs"] = {spec.key: spec.value for spec in flavor.extra_specs}
    view["links"] = resource_links(req, "flavors", flavor.id)
    return view


def _is_public_filter(req: ApiRequest) -> bool | None:
    """Nova's is_public query: public (and shared) by default; 'none' (or 'all')
    lists every flavor.  Only an admin chooses; others always get the default."""
    raw = req.query.get("is_public")
    if raw is None or not req.ctx.is_admin:
        return True
    if raw.strip().lower() in ("none", "all"):
        return None
    try:
        return query_flag(req, "is_public")
    except BadRequest:
        raise BadRequest(f"Invalid is_public filter [{raw}]") from None


def _minimum(req: ApiRequest, name: str) -> int | None:
    raw = req.query.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Invalid {name} filter [{raw}]") from None
    if value < 0:
        raise BadRequest(f"Invalid {name} filter [{raw}]")
    return value


def _listing(req: ApiRequest, *, detail: bool) -> dict:
    ctx = req.ctx   # any authenticated caller lists flavors; Nova has no policy for it
    if req.version.matches("2.75"):
        reject_unknown_query(req, {"is_public", "minRam", "minDisk", "sort_key", "sort_dir",
                                   "limit", "marker"})
    sort_key = req.query.get("sort_key", "flavorid")
    sort_dir = req.query.get("sort_dir", "asc")
    flavors.check_sort(sort_key, sort_dir)
    page = page_request(req)
    with req.cloud.db.session() as session:
        found = flavors.list_flavors(
            session, ctx, is_public=_is_public_filter(req),
            min_ram=_minimum(req, "minRam"), min_disk=_minimum(req, "minDisk"),
            sort_key=sort_key, sort_dir=sort_dir)
        shown, more = paginate(found, page, key=lambda flavor: flavor.id)
        body = {"flavors": [flavor_view(req, flavor, detail=detail) for flavor in shown]}
    links = collection_links(req, "/flavors" + ("/detail" if detail else ""), more,
                             shown[-1].id if shown else None)
    if links:
        body["flavors_links"] = links
    return body


@routes.route("/v2.1/flavors", "GET")
def list_flavors(req: ApiRequest):
    return _listing(req, detail=False)


@routes.route("/v2.1/flavors/detail", "GET")
def list_flavors_detail(req: ApiRequest):
    return _listing(req, detail=True)


@routes.route("/v2.1/flavors/{flavor_id}", "GET")
def show_flavor(req: ApiRequest):
    with req.cloud.db.session() as session:
        return {"flavor": flavor_view(
            req, flavors.get_flavor(session, req.path["flavor_id"], req.ctx))}


def _count_value(body: dict, field: str, minimum: int, *, optional: bool = False) -> int:
    # Nova takes any false value of an optional count (swap, ephemeral) as 0.
    return as_int((body.get(field) or 0) if optional else body[field], field, minimum)


def _rxtx_factor(body: dict) -> float:
    """rxtx_factor as a number: the schema lets a string of digits and dots through."""
    raw = body.get("rxtx_factor", 1.0)
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"Invalid input for field/attribute rxtx_factor. Value: {raw}. "
                         "rxtx_factor must be a number") from None
    if not 0 < value <= 3.40282e38:
        raise BadRequest(f"Invalid input for field/attribute rxtx_factor. Value: {raw}. "
                         "rxtx_factor must be > 0 and <= 3.40282e38")
    return value


@routes.route("/v2.1/flavors", "POST")
def create_flavor(req: ApiRequest):
    req.authorize("os_compute_api:os-flavor-manage:create")
    body = validate(CREATE_SCHEMA, req.json_body())["flavor"]
    if "description" in body:
        require_version(req, "2.55")
    values = {
        "id": None if body.get("id") is None else str(body["id"]),
        "name": body["name"], "memory_mb": _count_value(body, "ram", 1),
        "vcpus": _count_value(body, "vcpus", 1), "root_gb": _count_value(body, "disk", 0),
        "swap": _count_value(body, "swap", 0, optional=True),
        "ephemeral_gb": _count_value(body, "OS-FLV-EXT-DATA:ephemeral", 0, optional=True),
        "rxtx_factor": _rxtx_factor(body),
        "is_public": as_bool(body.get("os-flavor-access:is_public", True)),
        "description": body.get("description"),
    }
    with req.cloud.db.transaction() as session:
        return {"flavor": flavor_view(req, flavors.create_flavor(session, values))}


@routes.route("/v2.1/flavors/{flavor_id}", "PUT")
def update_flavor(req: ApiRequest):
    require_version(req, "2.55")
    req.authorize("os_compute_api:os-flavor-manage:update")
    description = validate(UPDATE_SCHEMA, req.json_body())["flavor"]["description"]
    with req.cloud.db.transaction() as session:
        flavor = flavors.get_flavor(session, req.path["flavor_id"], None)
        flavor.description = description
        session.flush()
        return {"flavor": flavor_view(req, flavor)}


@routes.route("/v2.1/flavors/{flavor_id}", "DELETE", status=202)
def delete_flavor(req: ApiRequest):
    req.authorize("os_compute_api:os-flavor-manage:delete")
    with req.cloud.db.transaction() as session:
        flavors.delete_flavor(session, req.path["flavor_id"])
