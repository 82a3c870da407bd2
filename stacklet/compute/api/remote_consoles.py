"""A server's remote consoles: POST /servers/{id}/remote-consoles (2.6) and the
console actions it replaced (os-getVNCConsole, os-getSerialConsole, ...,
until 2.5).  Each answers a URL the console proxy opens (consoles.py)."""

from __future__ import annotations

from starlette.responses import JSONResponse

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, NotFound
from stacklet.common.validation import validate
from stacklet.compute import action_schemas, consoles
from stacklet.compute.api.server_actions import action
from stacklet.compute.api.server_lookup import authorized_server
from stacklet.compute.subresource_schemas import remote_console_schema

routes = RouteTable()

RULE = "os_compute_api:os-remote-consoles"
LAST_LEGACY_VERSION = "2.5"


def _console_url(req: ApiRequest, protocol: str, console_type: str) -> str:
    with req.cloud.db.session() as session:
        server = authorized_server(req, session, RULE)
    if protocol == "rdp":
        # Nova names the protocol here: RDP went with its Hyper-V driver.
        raise BadRequest("Unavailable console type rdp.")
    return consoles.issue_url(req.cloud, server, protocol, console_type)


@routes.route("/v2.1/servers/{server_id}/remote-consoles", "POST")
def create_remote_console(req: ApiRequest):
    if not req.version.matches("2.6"):
        raise NotFound("The resource could not be found.")
    body = validate(remote_console_schema(req.version), req.json_body())["remote_console"]
    protocol, console_type = body["protocol"], body["type"]
    url = _console_url(req, protocol, console_type)
    return {"remote_console": {"protocol": protocol, "type": console_type, "url": url}}


def _legacy_console_action(name: str, protocol: str) -> None:
    @action(name, until=LAST_LEGACY_VERSION)
    def get_console(req: ApiRequest, value):
        console_type = validate(action_schemas.LEGACY_CONSOLES[name], value)["type"]
        url = _console_url(req, protocol, console_type)
        return JSONResponse({"console": {"type": console_type, "url": url}})


for _name, _protocol in (("os-getVNCConsole", "vnc"), ("os-getSPICEConsole", "spice"),
                         ("os-getSerialConsole", "serial")):
    _legacy_console_action(_name, _protocol)


@action("os-getRDPConsole", until=LAST_LEGACY_VERSION)
def get_rdp_console(req: ApiRequest, value):
    raise BadRequest("RDP consoles were only available with the Hyper-V driver, which Nova "
                     "removed.")
