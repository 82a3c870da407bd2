"""/servers/{id}/os-server-password: the password a guest posted, encrypted with
its keypair's public key, to the metadata service; an admin or the owner
reads or clears it."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.compute.api.server_lookup import authorized_server
from stacklet.compute.metadata import PASSWORD_KEY
from stacklet.compute.models import Instance

routes = RouteTable()

_RULE = "os_compute_api:os-server-password:"


@routes.route("/v2.1/servers/{server_id}/os-server-password", "GET")
def show_password(req: ApiRequest):
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, _RULE + "show")
    return {"password": server.system_metadata.get(PASSWORD_KEY, "")}


@routes.route("/v2.1/servers/{server_id}/os-server-password", "DELETE", status=204)
def clear_password(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        server = authorized_server(req, session, _RULE + "clear")
        row = session.get(Instance, server.id)
        row.system_metadata = {key: value for key, value in row.system_metadata.items()
                               if key != PASSWORD_KEY}
