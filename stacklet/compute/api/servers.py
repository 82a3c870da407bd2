"""/servers: create, list, show, update, delete."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from starlette.responses import JSONResponse

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.patterns import user_pattern
from stacklet.common.validation import validate
from stacklet.compute import hostinfo, server_schemas, servers
from stacklet.compute.api import common, server_views
from stacklet.compute.conductor import TOPIC as CONDUCTOR_TOPIC
from stacklet.compute.models import ComputeService, ServerGroupMember

routes = RouteTable()

def request_id(req: ApiRequest) -> str:
    return req.http.scope["state"]["request_id"]


@routes.route("/v2.1/servers", "POST", status=202)
def create_server(req: ApiRequest):
    body = validate(server_schemas.create_schema(req.version), req.json_body())
    server_body = dict(body["server"])
    for field in ("min_count", "max_count"):
        if field in server_body:
            server_body[field] = common.as_int(server_body[field], field, 1)
    if "config_drive" in server_body:
        server_body["config_drive"] = common.as_bool(server_body["config_drive"])
    for hints in ("os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"):
        if hints in body:
            server_body[hints] = body[hints]
    ctx = req.authorize("os_compute_api:servers:create", {
        "project_id": req.ctx.project_id, "user_id": req.ctx.user_id})
    if isinstance(server_body.get("networks"), list) and server_body["networks"]:
        req.authorize("os_compute_api:servers:create:attach_network",
                      {"project_id": ctx.project_id})
    admin_pass = server_body.get("adminPass") or secrets.token_urlsafe(9)
    server_body["adminPass"] = admin_pass
    with req.cloud.db.transaction() as session:
        created = servers.create_servers(session, req.cloud, ctx, server_body,
                                         request_id(req))
    req.cloud.bus.cast(CONDUCTOR_TOPIC, "schedule")
    if common.as_bool(server_body.get("return_reservation_id", False)):
        return JSONResponse({"reservation_id": created[0].reservation_id}, status_code=202)
    first = created[0]
    view = {"id": first.id, "links": common.resource_links(req, "servers", first.id),
            "OS-DCF:diskConfig": first.disk_config,
            "security_groups": [{"name": name}
                                for name in first.system_metadata["security_groups"]],
            "adminPass": admin_pass}
    return JSONResponse({"server": view}, status_code=202,
                        headers={"Location": req.url(f"/v2.1/servers/{first.id}")})


@routes.route("/v2.1/servers", "GET")
def list_servers(req: ApiRequest):
    return _list(req, detailed=False)


@routes.route("/v2.1/servers/detail", "GET")
def list_servers_detail(req: ApiRequest):
    return _list(req, detailed=True)


def _list(req: ApiRequest, *, detailed: bool):
    kind = "detail" if detailed else "index"
    ctx = req.authorize(f"os_compute_api:servers:{kind}", {"project_id": req.ctx.project_id})
    all_tenants = "all_tenants" in req.query and req.query["all_tenants"].lower() not in (
        "false", "0", "off", "no")
    if all_tenants:
        req.authorize(f"os_compute_api:servers:{kind}:get_all_tenants", {})
    is_admin = req.allowed("os_compute_api:servers:allow_all_filters", {})
    statement = servers.list_query(ctx, req.query, all_tenants=all_tenants,
                                   admin_filters=is_admin,
                                   newer_filters=req.version.matches("2.83"))
    page = common.page_request(req)
    with req.cloud.db.session() as session:
        rows, more = servers.page(session, statement, marker=page.marker, limit=page.limit,
                                  name_pattern=req.query.get("name"))
        if detailed:
            for server in rows:
                if server.vm_state in ("error", "deleted"):
                    server.faults  # noqa: B018 (loaded while the session is open)
            statuses = _host_statuses(req, session, rows)
    addresses = req.cloud.ports.addresses([server.id for server in rows])
    rows = _filter_by_ip(req, rows, addresses)
    if detailed:
        groups = req.cloud.ports.security_group_names([server.id for server in rows])
        views = [server_views.detail(req, server, addresses.get(server.id, {}),
                                     security_groups=_port_groups(server.id, addresses,
                                                                  groups),
                                     host_status=statuses.get(server.host))
                 for server in rows]
    else:
        views = [server_views.summary(req, server) for server in rows]
    result = {"servers": views}
    next_page = common.collection_links(req, "/servers/detail" if detailed else "/servers",
                                        more, rows[-1].id if rows else None)
    if next_page:
        result["servers_links"] = next_page
    return result


def _filter_by_ip(req: ApiRequest, rows, addresses: dict) -> list:
    patterns = [req.query.get(name) for name in ("ip", "ip6") if req.query.get(name)]
    if not patterns:
        return rows
    matchers = [user_pattern(pattern, "ip filter") for pattern in patterns]

    def matches(server) -> bool:
        ips = [entry["addr"] for network in addresses.get(server.id, {}).values()
               for entry in network]
        return all(any(m.search(ip) for ip in ips) for m in matchers)
    return [server for server in rows if matches(server)]


def _host_statuses(req: ApiRequest, session, rows) -> dict:
    """Nova's host_status (2.16) of each server's host, for those allowed to see it."""
    if not (req.version.matches("2.16")
            and req.allowed("os_compute_api:servers:show:host_status", {})):
        return {}
    wanted = {server.host for server in rows if server.host}
    services = {service.host: service for service in session.scalars(
        sa.select(ComputeService).where(ComputeService.binary == hostinfo.COMPUTE_BINARY,
                                        ComputeService.host.in_(wanted)))}
    host_states = hostinfo.HostStates(req.cloud.config)

    def status(host: str) -> str:
        service = services.get(host)
        if service is None:
            return "UNKNOWN"
        if not host_states.is_up(service):
            return "DOWN"
        return "MAINTENANCE" if service.disabled else "UP"
    return {None: ""} | {host: status(host) for host in wanted}


def show_view(req: ApiRequest, session, server) -> dict:
    """The detailed view of one server (show, update, rebuild answer it)."""
    groups = None
    if req.version.matches("2.71"):
        groups = list(session.scalars(sa.select(ServerGroupMember.group_id)
                                      .filter_by(instance_id=server.id)))
    server.faults  # noqa: B018 (loaded while the session is open)
    statuses = _host_statuses(req, session, [server])
    addresses = req.cloud.ports.addresses([server.id])
    security_groups = _port_groups(server.id, addresses,
                                   req.cloud.ports.security_group_names([server.id]))
    return server_views.detail(req, server, addresses.get(server.id, {}),
                               security_groups=security_groups,
                               host_status=statuses.get(server.host), groups=groups)


def _port_groups(server_id: str, addresses: dict, groups: dict) -> list[str] | None:
    """The groups on the server's ports; None when it has no ports (yet)."""
    return groups.get(server_id, []) if server_id in addresses else None


@routes.route("/v2.1/servers/{server_id}", "GET")
def show_server(req: ApiRequest):
    with req.cloud.db.session() as session:
        server = servers.get_server(session, req.ctx, req.path["server_id"])
        req.authorize("os_compute_api:servers:show", servers.policy_target(server))
        return {"server": show_view(req, session, server)}


@routes.route("/v2.1/servers/{server_id}", "PUT")
def update_server(req: ApiRequest):
    body = validate(server_schemas.update_schema(req.version), req.json_body())
    with req.cloud.db.transaction() as session:
        server = servers.get_server(session, req.ctx, req.path["server_id"])
        req.authorize("os_compute_api:servers:update", servers.policy_target(server))
        servers.update_server(server, body["server"])
        session.flush()
        return {"server": server_views.action_view(show_view(req, session, server),
                                                   req.version)}


@routes.route("/v2.1/servers/{server_id}", "DELETE", status=204)
def delete_server(req: ApiRequest):
    with req.cloud.db.transaction() as session:
        server = servers.get_server(session, req.ctx, req.path["server_id"])
        req.authorize("os_compute_api:servers:delete", servers.policy_target(server))
        host = servers.request_delete(session, req.cloud, req.ctx, server, request_id(req))
    servers.after_delete_request(req.cloud, server, host)
    return None
