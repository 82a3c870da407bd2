"""/servers/{id}/metadata: a server's metadata, all of it or one key."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.common.validation import validate
from stacklet.compute import server_metadata
from stacklet.compute.api.server_lookup import authorized_server
from stacklet.compute.subresource_schemas import METADATA_ITEM, METADATA_SET

routes = RouteTable()

_RULE = "os_compute_api:server-metadata:"
_COLLECTION = "/v2.1/servers/{server_id}/metadata"
_ITEM = _COLLECTION + "/{key}"


@routes.route(_COLLECTION, "GET")
def list_metadata(req: ApiRequest):
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "index")
        return {"metadata": server_metadata.as_dict(server)}


@routes.route(_COLLECTION, "POST")
def merge_metadata(req: ApiRequest):
    # Nova answers 200 here, not 201, for compatibility.
    return _set(req, "create", replace=False)


@routes.route(_COLLECTION, "PUT")
def replace_metadata(req: ApiRequest):
    return _set(req, "update_all", replace=True)


def _set(req: ApiRequest, action: str, *, replace: bool) -> dict:
    items = validate(METADATA_SET, req.json_body())["metadata"]
    with req.cloud.db.transaction() as session:
        server = authorized_server(req, session, _RULE + action)
        metadata = server_metadata.set_items(session, req.cloud.config, req.ctx, server,
                                             items, replace=replace)
    return {"metadata": metadata}


@routes.route(_ITEM, "GET")
def show_metadata_item(req: ApiRequest):
    key = req.path["key"]
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "show")
        return {"meta": {key: server_metadata.get_item(server, key)}}


@routes.route(_ITEM, "PUT")
def set_metadata_item(req: ApiRequest):
    item = validate(METADATA_ITEM, req.json_body())["meta"]
    if req.path["key"] not in item:
        raise BadRequest("Request body and URI mismatch")
    with req.cloud.db.transaction() as session:
        server = authorized_server(req, session, _RULE + "update")
        server_metadata.set_items(session, req.cloud.config, req.ctx, server, item,
                                  replace=False)
    return {"meta": item}


@routes.route(_ITEM, "DELETE", status=204)
def delete_metadata_item(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        server = authorized_server(req, session, _RULE + "delete")
        server_metadata.delete_item(req.ctx, server, req.path["key"])
