"""/os-services: compute, conductor and scheduler services; enabling, disabling,
forcing down and deleting them."""

from __future__ import annotations

from starlette.responses import Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.common.validation import validate
from stacklet.compute import hostinfo
from stacklet.compute.api.common import BOOLEAN, as_bool, check_uuid, nova_time
from stacklet.compute.models import ComputeService

routes = RouteTable()

_HOST_BINARY = {"host": {"type": "string", "minLength": 1, "maxLength": 255},
                "binary": {"type": "string", "minLength": 1, "maxLength": 255}}
_REASON = {"type": "string", "minLength": 1, "maxLength": 255}
# The bodies of the actions before 2.53, by action.
_ACTION_SCHEMAS = {
    "enable": {"type": "object", "properties": _HOST_BINARY,
               "required": ["host", "binary"], "additionalProperties": False},
    "disable": {"type": "object", "properties": _HOST_BINARY,
                "required": ["host", "binary"], "additionalProperties": False},
    "disable-log-reason": {"type": "object",
                           "properties": {**_HOST_BINARY, "disabled_reason": _REASON},
                           "required": ["host", "binary", "disabled_reason"],
                           "additionalProperties": False},
    "force-down": {"type": "object",
                   "properties": {**_HOST_BINARY, "forced_down": BOOLEAN},
                   "required": ["host", "binary", "forced_down"],
                   "additionalProperties": False},
}
UPDATE_SCHEMA = {"type": "object",
                 "properties": {"status": {"type": "string", "enum": ["enabled", "disabled"]},
                                "disabled_reason": _REASON,
                                "forced_down": BOOLEAN},
                 "additionalProperties": False}


def service_view(req: ApiRequest, service: ComputeService, states: hostinfo.HostStates,
                 zones: hostinfo.Zones) -> dict:
    view = {
        "id": service.id if req.version.matches("2.53") else service.pk,
        "binary": service.binary, "host": service.host,
        "zone": zones.of_service(service),
        "status": "disabled" if service.disabled else "enabled",
        "state": states.state(service),
        "updated_at": nova_time(hostinfo.last_heartbeat(service)),
        "disabled_reason": service.disabled_reason,
    }
    if req.version.matches("2.11"):
        view["forced_down"] = service.forced_down
    return view


@routes.route("/v2.1/os-services", "GET")
def list_services(req: ApiRequest):
    req.authorize("os_compute_api:os-services:list")
    states = hostinfo.HostStates(req.cloud.config)
    with req.cloud.db.session() as session:
        found = hostinfo.list_services(session, host=req.query.get("host"),
                                       binary=req.query.get("binary"))
        zones = hostinfo.Zones(session, req.cloud.config)
        return {"services": [service_view(req, service, states, zones) for service in found]}


@routes.route("/v2.1/os-services/{service_id}", "PUT")
def update_service(req: ApiRequest):
    req.authorize("os_compute_api:os-services:update")
    if req.version.matches("2.53"):
        return _update_by_uuid(req)
    return _legacy_action(req, req.path["service_id"])


def _update_by_uuid(req: ApiRequest) -> dict:
    service_id = req.path["service_id"]
    check_uuid(service_id)
    body = validate(UPDATE_SCHEMA, req.json_body())
    if "status" not in body and "forced_down" not in body:
        raise BadRequest("No updates were requested. Fields 'status' or 'forced_down' "
                         "should be specified.")
    if "disabled_reason" in body and body.get("status") != "disabled":
        raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid."
                         if body.get("status") == "enabled" else
                         "'disabled_reason' is only allowed with status 'disabled'.")
    states = hostinfo.HostStates(req.cloud.config)
    with req.cloud.db.transaction() as session:
        service = hostinfo.get_service(session, service_id, by_uuid=True)
        hostinfo.check_updatable(service)
        disabled = None if "status" not in body else body["status"] == "disabled"
        hostinfo.set_status(service, disabled=disabled, reason=body.get("disabled_reason"),
                            forced_down=None if "forced_down" not in body
                            else as_bool(body["forced_down"]))
        session.flush()
        zones = hostinfo.Zones(session, req.cloud.config)
        return {"service": service_view(req, service, states, zones)}


def _legacy_action(req: ApiRequest, action: str) -> dict:
    """The actions before 2.53, which name the service by host and binary."""
    schema = _ACTION_SCHEMAS.get(action)
    if schema is None or (action == "force-down" and not req.version.matches("2.11")):
        raise BadRequest("Unknown action")
    body = validate(schema, req.json_body())
    with req.cloud.db.transaction() as session:
        service = hostinfo.find_by_host_binary(session, body["host"], body["binary"])
        hostinfo.check_updatable(service)
        if action == "force-down":
            hostinfo.set_status(service, forced_down=as_bool(body["forced_down"]))
            return {"service": {"host": service.host, "binary": service.binary,
                                "forced_down": service.forced_down}}
        hostinfo.set_status(service, disabled=action != "enable",
                            reason=body.get("disabled_reason"))
        view = {"host": service.host, "binary": service.binary,
                "status": "disabled" if service.disabled else "enabled"}
        if action == "disable-log-reason":
            view["disabled_reason"] = service.disabled_reason
        return {"service": view}


@routes.route("/v2.1/os-services/{service_id}", "DELETE")
def delete_service(req: ApiRequest):
    req.authorize("os_compute_api:os-services:delete")
    service_id = req.path["service_id"]
    by_uuid = req.version.matches("2.53")
    if by_uuid:
        check_uuid(service_id)
    with req.cloud.db.transaction() as session:
        hostinfo.delete_service(session, hostinfo.get_service(session, service_id,
                                                              by_uuid=by_uuid))
    return Response(status_code=204)
