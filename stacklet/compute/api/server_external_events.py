"""/os-server-external-events: other services' news about servers (admin or
service users)."""

from __future__ import annotations

import functools

from starlette.responses import JSONResponse

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.validation import validate
from stacklet.compute import external_events

routes = RouteTable()


@functools.cache
def _create_schema(names: tuple[str, ...]) -> dict:
    """One schema object per set of event names (validators are cached per schema)."""
    return {
        "type": "object", "required": ["events"], "additionalProperties": False,
        "properties": {"events": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object", "required": ["server_uuid", "name"],
                "additionalProperties": False,
                "properties": {
                    "server_uuid": {"type": "string", "format": "uuid"},
                    "name": {"type": "string",
                             "enum": list(names)},
                    "status": {"type": "string", "enum": list(external_events.STATUSES)},
                    "tag": {"type": "string", "maxLength": 255}}}}}}


def create_schema(version) -> dict:
    return _create_schema(tuple(external_events.event_names(version)))


@routes.route("/v2.1/os-server-external-events", "POST")
def create_events(req: ApiRequest):
    req.authorize("os_compute_api:os-server-external-events:create")
    body = validate(create_schema(req.version), req.json_body())
    with req.cloud.db.session() as session:
        events, all_delivered = external_events.deliver(session, body["events"])
    # 207 Multi-Status: some events failed; each says why in its code.
    return JSONResponse({"events": events}, status_code=200 if all_delivered else 207)
