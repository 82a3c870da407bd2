"""/os-keypairs: a user's key pairs (an admin's for any user from 2.10)."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.pagination import paginate
from stacklet.common.validation import validate
from stacklet.compute import keypairs
from stacklet.compute.api.common import collection_links, nova_time, page_request
from stacklet.compute.models import KeyPair

routes = RouteTable()

# No whitespace at either end; before 2.92 letters, digits, space, '_' and '-',
# and from 2.92 '@' and '.' too.
NAME_BEFORE_292 = r"^(?! )[a-zA-Z0-9 _-]+(?<! )$"
NAME_FROM_292 = r"^(?! )[a-zA-Z0-9 _@.-]+(?<! )$"


def _create_schema(req: ApiRequest) -> dict:
    properties = {
        "name": {"type": "string", "minLength": 1, "maxLength": 255,
                 "pattern": NAME_FROM_292 if req.version.matches("2.92") else NAME_BEFORE_292},
        "public_key": {"type": "string"},
    }
    required = ["name"]
    if req.version.matches("2.2"):
        properties["type"] = {"type": "string", "enum": [keypairs.SSH, keypairs.X509]}
    if req.version.matches("2.10"):
        properties["user_id"] = {"type": "string", "minLength": 1, "maxLength": 255}
    if req.version.matches("2.92"):
        # Nova no longer generates keys: the private half never crosses the API.
        required.append("public_key")
    return {"type": "object",
            "properties": {"keypair": {"type": "object", "properties": properties,
                                       "required": required, "additionalProperties": False}},
            "required": ["keypair"], "additionalProperties": False}


def _target_user(req: ApiRequest, requested: str | None = None) -> str:
    """Whose key pairs: the caller's, or from 2.10 the user an admin names."""
    if req.version.matches("2.10"):
        requested = requested or req.query.get("user_id")
    else:
        requested = None
    return requested or req.ctx.user_id


def _authorize(req: ApiRequest, action: str, user_id: str) -> None:
    req.authorize(f"os_compute_api:os-keypairs:{action}",
                  {"user_id": user_id, "project_id": req.ctx.project_id or ""})


def keypair_view(req: ApiRequest, keypair: KeyPair, *, detail: bool = False) -> dict:
    view = {"name": keypair.name, "public_key": keypair.public_key,
            "fingerprint": keypair.fingerprint}
    if req.version.matches("2.2"):
        view["type"] = keypair.type
    if detail:
        view.update(user_id=keypair.user_id, id=keypair.id,
                    created_at=nova_time(keypair.created_at),
                    deleted=False, deleted_at=None, updated_at=None)
    return view


@routes.route("/v2.1/os-keypairs", "POST")
def create_keypair(req: ApiRequest):
    body = validate(_create_schema(req), req.json_body())["keypair"]
    user_id = _target_user(req, body.get("user_id"))
    _authorize(req, "create", user_id)
    with req.cloud.db.transaction() as session:
        keypair, private_key = keypairs.create_keypair(
            session, req.cloud.config, user_id=user_id, project_id=req.ctx.project_id or "",
            name=body["name"], key_type=body.get("type", keypairs.SSH),
            public_key=body.get("public_key"))
        view = keypair_view(req, keypair)
    view["user_id"] = user_id
    if private_key is not None:
        view["private_key"] = private_key
    return JSONResponse({"keypair": view},
                        status_code=201 if req.version.matches("2.2") else 200)


@routes.route("/v2.1/os-keypairs", "GET")
def list_keypairs(req: ApiRequest):
    user_id = _target_user(req)
    _authorize(req, "index", user_id)
    paged = req.version.matches("2.35")
    with req.cloud.db.session() as session:
        found = keypairs.list_keypairs(session, user_id)
    if paged:
        found, more = paginate(found, page_request(req), key=lambda keypair: keypair.name)
    body = {"keypairs": [{"keypair": keypair_view(req, keypair)} for keypair in found]}
    if paged:
        links = collection_links(req, "/os-keypairs", more, found[-1].name if found else None)
        if links:
            body["keypairs_links"] = links
    return body


@routes.route("/v2.1/os-keypairs/{name}", "GET")
def show_keypair(req: ApiRequest):
    user_id = _target_user(req)
    _authorize(req, "show", user_id)
    with req.cloud.db.session() as session:
        keypair = keypairs.get_keypair(session, user_id, req.path["name"])
        return {"keypair": keypair_view(req, keypair, detail=True)}


@routes.route("/v2.1/os-keypairs/{name}", "DELETE")
def delete_keypair(req: ApiRequest):
    user_id = _target_user(req)
    _authorize(req, "delete", user_id)
    with req.cloud.db.transaction() as session:
        session.delete(keypairs.get_keypair(session, user_id, req.path["name"]))
    return Response(status_code=204 if req.version.matches("2.2") else 202)
