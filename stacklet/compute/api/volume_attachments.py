"""/servers/{id}/os-volume_attachments: a server's volumes.

This cloud has no block storage service yet, so no server has a volume and
no volume can be found to attach: the answers say exactly that, as Nova
would with an empty Cinder.
"""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import NotFound
from stacklet.common.validation import validate
from stacklet.compute import servers
from stacklet.compute.api.server_lookup import authorized_server
from stacklet.compute.subresource_schemas import volume_attach_schema

routes = RouteTable()

_RULE = "os_compute_api:os-volumes-attachments:"
_COLLECTION = "/v2.1/servers/{server_id}/os-volume_attachments"
_ITEM = _COLLECTION + "/{volume_id}"


@routes.route(_COLLECTION, "GET")
def list_volume_attachments(req: ApiRequest):
    with req.cloud.db.session() as session:
        authorized_server(req, session, _RULE + "index")
    return {"volumeAttachments": []}


@routes.route(_ITEM, "GET")
def show_volume_attachment(req: ApiRequest):
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "show")
    raise NotFound(f"Instance {server.id} is not attached to volume "
                   f"{req.path['volume_id']}")


@routes.route(_COLLECTION, "POST")
def attach_volume(req: ApiRequest):
    body = validate(volume_attach_schema(req.version), req.json_body())["volumeAttachment"]
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "create")
        servers.check_not_locked(req.ctx, server)
    raise NotFound(f"Volume {body['volumeId']} could not be found.")


@routes.route(_ITEM, "PUT")
def update_volume_attachment(req: ApiRequest):
    _volume_not_found(req, "update")


@routes.route(_ITEM, "DELETE")
def detach_volume(req: ApiRequest):
    _volume_not_found(req, "delete")


def _volume_not_found(req: ApiRequest, action: str) -> None:
    # Nova looks the attached volume up in Cinder first: here there is none.
    with req.cloud.db.session() as session:
        authorized_server(req, session, _RULE + action)
    raise NotFound(f"Volume {req.path['volume_id']} could not be found.")
