"""/servers/{id}/os-instance-actions: what was done to a server, and its events."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.common.pagination import PageRequest, next_link, parse_page_request
from stacklet.common.timeutils import isotime, parse_isotime
from stacklet.compute import instance_actions
from stacklet.compute.api.server_lookup import authorized_server
from stacklet.compute.api.server_views import hashed_host
from stacklet.compute.models import InstanceAction, InstanceActionEvent

routes = RouteTable()

_RULE = "os_compute_api:os-instance-actions:"
_COLLECTION = "/v2.1/servers/{server_id}/os-instance-actions"
MAX_LIMIT = 1000


def _server(req: ApiRequest, session, action: str):
    # From 2.21 the actions of a deleted server can still be read.
    return authorized_server(req, session, _RULE + action,
                             deleted_ok=req.version.matches("2.21"))


@routes.route(_COLLECTION, "GET")
def list_actions(req: ApiRequest):
    paged = req.version.matches("2.58")
    page = parse_page_request(req.query, MAX_LIMIT) if paged else PageRequest(None, None)
    since, before = _change_window(req) if paged else (None, None)
    with req.cloud.db.session() as session:
        server = _server(req, session, "list")
        rows, more = instance_actions.list_actions(session, server.id, page,
                                                   changed_since=since, changed_before=before)
        result = {"instanceActions": [_action_view(req, row) for row in rows]}
    if paged and more and rows:
        result["links"] = [{"rel": "next", "href": next_link(
            req.url(f"/v2.1/servers/{server.id}/os-instance-actions"), req.query,
            rows[-1].request_id)}]
    return result


def _change_window(req: ApiRequest):
    since = before = None
    if "changes-since" in req.query:
        since = parse_isotime(req.query["changes-since"], "changes-since")
    if req.version.matches("2.66") and "changes-before" in req.query:
        before = parse_isotime(req.query["changes-before"], "changes-before")
        if since is not None and before < since:
            raise BadRequest("The value of changes-since must be less than or equal to "
                             "changes-before.")
    return since, before


@routes.route(_COLLECTION + "/{request_id}", "GET")
def show_action(req: ApiRequest):
    with req.cloud.db.session() as session:
        server = _server(req, session, "show")
        action = instance_actions.get_action(session, server.id, req.path["request_id"])
        view = _action_view(req, action)
        target = {"project_id": server.project_id}
        # Everything about events for those the events policy allows; from 2.51
        # everyone else sees them too, without tracebacks.
        full_events = req.allowed(_RULE + "events", target)
        if full_events or req.version.matches("2.51"):
            show_details = req.version.matches("2.84") and req.allowed(
                _RULE + "events:details", target)
            view["events"] = [
                _event_view(req, event, action.project_id or server.project_id,
                            full=full_events, show_details=show_details)
                for event in action.events]
    return {"instanceAction": view}


def _action_view(req: ApiRequest, action: InstanceAction) -> dict:
    view = {"action": action.action, "instance_uuid": action.instance_id,
            "request_id": action.request_id, "user_id": action.user_id,
            "project_id": action.project_id, "start_time": isotime(action.start_time),
            "message": action.message}
    if req.version.matches("2.58"):
        view["updated_at"] = isotime(action.updated_at)
    return view


def _event_view(req: ApiRequest, event: InstanceActionEvent, project_id: str, *,
                full: bool, show_details: bool) -> dict:
    view = {"event": event.event, "start_time": isotime(event.start_time),
            "finish_time": isotime(event.finish_time), "result": event.result}
    if full:
        view["traceback"] = event.traceback
    if req.version.matches("2.62"):
        if full:
            view["host"] = event.host or ""
        view["hostId"] = hashed_host(project_id, event.host)
    if show_details:
        view["details"] = event.details
    return view
