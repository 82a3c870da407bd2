"""/v2/schemas/metadefs/<name>: the JSON schemas of metadata definitions."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import NotFound
from stacklet.image.metadef_schemas import DOCUMENTS

routes = RouteTable()


@routes.route("/v2/schemas/metadefs/{name}", "GET")
def show_metadef_schema(req: ApiRequest):
    # Any authenticated caller may read them, as in Glance.
    req.ctx
    document = DOCUMENTS.get(req.path["name"])
    if document is None:
        raise NotFound(f"No metadefs schema named {req.path['name']!r}.")
    return document
