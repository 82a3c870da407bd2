"""/v2/schemas/*: the JSON schemas of the image API's documents, which
clients (glanceclient, Horizon) read to know which attributes exist.

As in Glance they need a token, like every other /v2 call.  The metadata
definitions' schemas (/v2/schemas/metadefs/*) live with the metadefs API.
"""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import NotFound
from stacklet.image.schemas import PUBLISHED_SCHEMAS

routes = RouteTable()


@routes.route("/v2/schemas/{name}", "GET")
def show_schema(req: ApiRequest):
    req.ctx   # authenticates
    name = req.path["name"]
    if name not in PUBLISHED_SCHEMAS:
        raise NotFound(f"No schema named {name!r}: this cloud publishes "
                       f"{', '.join(PUBLISHED_SCHEMAS)} and metadefs/*.")
    return PUBLISHED_SCHEMAS[name]
