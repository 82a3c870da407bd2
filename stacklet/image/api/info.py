"""/v2/info/*: what this image service offers (import methods, stores) and a
project's quota usage."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.image import imports, quotas
from stacklet.image.store import BUFFER_SIZE

routes = RouteTable()


@routes.route("/v2/info/import", "GET")
def show_import_info(req: ApiRequest):
    req.ctx   # authenticates
    return {"import-methods": {"description": "Import methods available.", "type": "array",
                               "value": list(imports.METHODS)}}


def _stores() -> list[dict]:
    return [{"id": imports.STORE_ID, "description": imports.STORE_DESCRIPTION,
             "default": "true"}]


@routes.route("/v2/info/stores", "GET")
def list_stores(req: ApiRequest):
    req.ctx   # authenticates
    return {"stores": _stores()}


@routes.route("/v2/info/stores/detail", "GET")
def list_stores_detail(req: ApiRequest):
    req.authorize("stores_info_detail")
    stores = _stores()
    for store in stores:
        store.update({"type": "file", "weight": 0, "properties": {
            "data_dir": str(req.cloud.image_store.root), "chunk_size": BUFFER_SIZE,
            "thin_provisioning": False}})
    return {"stores": stores}


@routes.route("/v2/info/usage", "GET")
def show_usage(req: ApiRequest):
    ctx = req.ctx
    if ctx.project_id is None:
        raise BadRequest("Quota usage is counted per project: use a project-scoped token.")
    with req.cloud.db.session() as session:
        return {"usage": quotas.usage(session, req.cloud.config, ctx.project_id)}
