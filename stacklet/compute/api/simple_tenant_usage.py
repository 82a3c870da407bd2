"""/os-simple-tenant-usage: server hours and resource-hours per project in a period."""

from __future__ import annotations

import datetime

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.common.pagination import paginate
from stacklet.compute import usage
from stacklet.compute.api.common import collection_links, nova_time, page_request, query_flag
from stacklet.db import utcnow

routes = RouteTable()

_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def _parse_time(req: ApiRequest, name: str, now: datetime.datetime) -> datetime.datetime:
    raw = req.query.get(name)
    if raw is None:
        return now
    for layout in _TIME_FORMATS:
        try:
            return datetime.datetime.strptime(raw, layout)
        except ValueError:
            continue
    raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. "
                     "It is not a valid datetime (expected e.g. 2030-01-31T12:00:00).")


def _period(req: ApiRequest, now: datetime.datetime) -> tuple[datetime.datetime,
                                                               datetime.datetime]:
    start, stop = _parse_time(req, "start", now), _parse_time(req, "end", now)
    if start > stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end "
                         "time.")
    return start, stop


def _server_view(server: usage.ServerUsage) -> dict:
    instance = server.instance
    return {
        "instance_id": instance.id, "name": instance.display_name, "hours": server.hours,
        "memory_mb": instance.memory_mb, "local_gb": server.local_gb,
        "vcpus": instance.vcpus, "tenant_id": instance.project_id,
        "flavor": (instance.flavor or {}).get("name"),
        "started_at": nova_time(instance.launched_at),
        "ended_at": nova_time(instance.terminated_at),
        "state": "terminated" if instance.deleted else instance.vm_state,
        "uptime": server.uptime,
    }


def _project_view(project: usage.ProjectUsage, start, stop, *, detailed: bool) -> dict:
    view = {
        "tenant_id": project.project_id,
        "total_local_gb_usage": project.total(lambda s: s.local_gb),
        "total_vcpus_usage": project.total(lambda s: s.instance.vcpus),
        "total_memory_mb_usage": project.total(lambda s: s.instance.memory_mb),
        "total_hours": project.total(lambda s: 1),
        "start": start.isoformat(), "stop": stop.isoformat(),
    }
    if detailed:
        view["server_usages"] = [_server_view(server) for server in project.servers]
    return view


def _usage(req: ApiRequest, project_id: str | None):
    """The period's usage, and the links to the next page (servers page from 2.40)."""
    now = utcnow()
    start, stop = _period(req, now)
    with req.cloud.db.session() as session:
        servers = usage.servers_in_period(session, start, stop, project_id)
    links: list = []
    if req.version.matches("2.40"):
        servers, more = paginate(servers, page_request(req), key=lambda instance: instance.id)
        path = "/os-simple-tenant-usage" + (f"/{project_id}" if project_id else "")
        links = collection_links(req, path, more, servers[-1].id if servers else None)
    return usage.usage_by_project(servers, start, stop, now), start, stop, links


@routes.route("/v2.1/os-simple-tenant-usage", "GET")
def list_usage(req: ApiRequest):
    req.authorize("os_compute_api:os-simple-tenant-usage:list")
    detailed = query_flag(req, "detailed")
    projects, start, stop, links = _usage(req, None)
    body = {"tenant_usages": [_project_view(project, start, stop, detailed=detailed)
                              for project in projects]}
    if links:
        body["tenant_usages_links"] = links
    return body


@routes.route("/v2.1/os-simple-tenant-usage/{project_id}", "GET")
def show_usage(req: ApiRequest):
    project_id = req.path["project_id"]
    req.authorize("os_compute_api:os-simple-tenant-usage:show", {"project_id": project_id})
    projects, start, stop, links = _usage(req, project_id)
    # A project without servers in the period has an empty usage, as in Nova.
    body = {"tenant_usage": _project_view(projects[0], start, stop, detailed=True)
            if projects else {}}
    if links:
        body["tenant_usage_links"] = links
    return body
