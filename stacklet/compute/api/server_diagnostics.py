"""/servers/{server_id}/diagnostics: a running server's figures (admin)."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.compute import diagnostics
from stacklet.compute.api.server_lookup import authorized_server

routes = RouteTable()

STANDARD_FORM = "2.48"


@routes.route("/v2.1/servers/{server_id}/diagnostics", "GET")
def show_diagnostics(req: ApiRequest):
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, "os_compute_api:os-server-diagnostics")
        figures = diagnostics.server_diagnostics(req.cloud, server)
    if req.version.matches(STANDARD_FORM):
        return figures
    return diagnostics.libvirt_style(figures)
