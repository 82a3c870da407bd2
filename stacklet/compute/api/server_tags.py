"""/servers/{id}/tags (2.26): a server's tags, all of them or one."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import NotFound
from stacklet.common.validation import validate
from stacklet.compute import server_tags
from stacklet.compute.api.server_lookup import authorized_server
from stacklet.compute.subresource_schemas import TAGS_SET

routes = RouteTable()

_RULE = "os_compute_api:os-server-tags:"
_COLLECTION = "/v2.1/servers/{server_id}/tags"
_ITEM = _COLLECTION + "/{tag}"


def _tagged_server(req: ApiRequest, session, action: str):
    _check_version(req)
    return authorized_server(req, session, _RULE + action)


def _check_version(req: ApiRequest) -> None:
    # Before 2.26 there is no such resource.
    if not req.version.matches("2.26"):
        raise NotFound("The resource could not be found.")


@routes.route(_COLLECTION, "GET")
def list_tags(req: ApiRequest):
    with req.cloud.db.session() as session:
        return {"tags": server_tags.names(_tagged_server(req, session, "index"))}


@routes.route(_COLLECTION, "PUT")
def replace_tags(req: ApiRequest):
    _check_version(req)
    tags = validate(TAGS_SET, req.json_body())["tags"]
    with req.cloud.db.transaction() as session:
        server = _tagged_server(req, session, "update_all")
        return {"tags": server_tags.replace(session, server, tags)}


@routes.route(_COLLECTION, "DELETE", status=204)
def delete_tags(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        server_tags.remove_all(_tagged_server(req, session, "delete_all"))


@routes.route(_ITEM, "GET", status=204)
def check_tag(req: ApiRequest):
    with req.cloud.db.session() as session:
        server_tags.check_exists(_tagged_server(req, session, "show"), req.path["tag"])


@routes.route(_ITEM, "PUT")
def add_tag(req: ApiRequest):
    tag = req.path["tag"]
    with req.cloud.db.transaction() as session:
        server = _tagged_server(req, session, "update")
        added = server_tags.add(server, tag)
    if not added:
        return Response(status_code=204)
    return Response(status_code=201, headers={
        "Location": req.url(f"/v2.1/servers/{server.id}/tags/{quote(tag)}")})


@routes.route(_ITEM, "DELETE", status=204)
def delete_tag(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        server_tags.remove(_tagged_server(req, session, "delete"), req.path["tag"])
