"""GET /os-console-auth-tokens/{token} (admin): what a console URL's token opens."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, NotFound
from stacklet.compute import consoles

routes = RouteTable()


@routes.route("/v2.1/os-console-auth-tokens/{console_token}", "GET")
def show_console_auth_token(req: ApiRequest):
    # Before 2.31 the API served only RDP tokens, which Nova no longer issues:
    # it refuses every request there.
    if not req.version.matches("2.31"):
        raise BadRequest("Console auth tokens can be shown from microversion 2.31 on.")
    req.authorize("os_compute_api:os-console-auth-tokens")
    with req.cloud.db.session() as session:
        row = consoles.valid_token(session, req.path["console_token"])
        if row is None:
            raise NotFound("Token not found")
        # The console is a unix socket on the host: there is no TCP port (0)
        # and no path to ask a hypervisor-side proxy for.
        return {"console": {"instance_uuid": row.instance_id, "host": row.host, "port": 0,
                            "internal_access_path": None}}
