"""POST /servers/{id}/action: one handler per action, named by the body's key."""

from __future__ import annotations

from typing import Callable

from starlette.responses import JSONResponse, Response

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest, NotFound
from stacklet.common.validation import validate
from stacklet.compute import action_schemas, actions, servers
from stacklet.compute.agent import topic as agent_topic
from stacklet.compute.api import server_views
from stacklet.compute.api.common import as_bool
from stacklet.compute.api.servers import request_id, show_view
from stacklet.compute.conductor import TOPIC as CONDUCTOR_TOPIC

routes = RouteTable()

# action name → (handler, the microversion that introduced it)
ACTIONS: dict[str, tuple[Callable, str | None, str | None]] = {}


def action(name: str, since: str | None = None, until: str | None = None):
    """Register the handler of an action, which exists from microversion ``since``
    up to ``until`` (both included)."""
    def register(handler: Callable) -> Callable:
        ACTIONS[name] = (handler, since, until)
        return handler
    return register


@routes.route("/v2.1/servers/{server_id}/action", "POST", status=202)
def server_action(req: ApiRequest):
    body = req.json_body()
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body: an action is an object with one key, "
                         "the action's name.")
    name, value = next(iter(body.items()))
    if name not in ACTIONS:
        raise BadRequest(f"There is no such action: {name}")
    handler, since, until = ACTIONS[name]
    if since is not None and not req.version.matches(since):
        raise NotFound(f"The action {name} needs microversion {since} or later.")
    if until is not None and not req.version.matches("2.1", until):
        raise NotFound(f"The action {name} was removed after microversion {until}.")
    return handler(req, value)


def _act(req: ApiRequest, rule: str, start: Callable, *, wake: bool = True):
    """Find the server, check ``rule`` on it, and run ``start(session, ctx, server)``
    in one transaction; then wake the agent of the server's host."""
    with req.cloud.db.transaction() as session:
        server = servers.get_server(session, req.ctx, req.path["server_id"])
        ctx = req.authorize(rule, servers.policy_target(server))
        result = start(session, ctx, server)
        host = server.host
    if wake and host is not None:
        req.cloud.bus.cast(agent_topic(host), "run_tasks")
    return result


# -- power --------------------------------------------------------------------------------

@action("os-stop")
def stop(req: ApiRequest, value):
    _act(req, "os_compute_api:servers:stop",
         lambda session, ctx, server: actions.stop(session, ctx, server, request_id(req)))


@action("os-start")
def start(req: ApiRequest, value):
    _act(req, "os_compute_api:servers:start",
         lambda session, ctx, server: actions.start(session, ctx, server, request_id(req)))


@action("reboot")
def reboot(req: ApiRequest, value):
    hard = validate(action_schemas.REBOOT, value)["type"].upper() == "HARD"
    _act(req, "os_compute_api:servers:reboot",
         lambda session, ctx, server: actions.reboot(session, ctx, server, request_id(req),
                                                     hard))


def _simple(name: str, rule: str) -> None:
    @action(name)
    def handler(req: ApiRequest, value):
        _act(req, rule, lambda session, ctx, server: actions.simple_action(
            session, ctx, server, request_id(req), name))


for _name, _rule in (("pause", "os-pause-server:pause"), ("unpause", "os-pause-server:unpause"),
                     ("suspend", "os-suspend-server:suspend"),
                     ("resume", "os-suspend-server:resume"), ("unrescue", "os-unrescue"),
                     ("shelveOffload", "os-shelve:shelve_offload")):
    _simple(_name, f"os_compute_api:{_rule}")


# -- lock ------------------------------------------------------------------------------------

@action("lock")
def lock(req: ApiRequest, value):
    value = validate(action_schemas.lock_schema(req.version), value)
    reason = value.get("locked_reason") if isinstance(value, dict) and \
        req.version.matches("2.73") else None
    _act(req, "os_compute_api:os-lock-server:lock",
         lambda session, ctx, server: actions.lock(session, ctx, server, request_id(req),
                                                   reason), wake=False)


@action("unlock")
def unlock(req: ApiRequest, value):
    def start(session, ctx, server):
        if actions.locked_by_someone_else(ctx, server):
            req.authorize("os_compute_api:os-lock-server:unlock:unlock_override",
                          servers.policy_target(server))
        actions.unlock(session, ctx, server, request_id(req))
    _act(req, "os_compute_api:os-lock-server:unlock", start, wake=False)


# -- rebuild, resize, migrate -------------------------------------------------------------------

@action("rebuild")
def rebuild(req: ApiRequest, value):
    body = dict(validate(action_schemas.rebuild_schema(req.version), value))
    if "preserve_ephemeral" in body:
        body["preserve_ephemeral"] = as_bool(body["preserve_ephemeral"])

    def start(session, ctx, server):
        password = actions.rebuild(session, req.cloud, ctx, server, request_id(req), body)
        session.flush()
        view = show_view(req, session, server)
        # Rebuild shows key_name from 2.54.
        view = server_views.action_view(
            view, req.version, keep=("key_name",) if req.version.matches("2.54") else ())
        # Nova's rebuild answer shows user_data (2.57) for anyone, never the
        # admin-only OS-EXT-SRV-ATTR:user_data.
        view.pop("OS-EXT-SRV-ATTR:user_data", None)
        if req.version.matches("2.57"):
            view["user_data"] = server.user_data
        view["adminPass"] = password
        return {"server": view}
    return _act(req, "os_compute_api:servers:rebuild", start)


@action("resize")
def resize(req: ApiRequest, value):
    body = validate(action_schemas.RESIZE, value)
    _act(req, "os_compute_api:servers:resize",
         lambda session, ctx, server: actions.resize(
             session, req.cloud, ctx, server, request_id(req), str(body["flavorRef"]),
             body.get("OS-DCF:diskConfig")))


@action("confirmResize")
def confirm_resize(req: ApiRequest, value):
    _act(req, "os_compute_api:servers:confirm_resize",
         lambda session, ctx, server: actions.confirm_resize(session, ctx, server,
                                                             request_id(req)), wake=False)
    return Response(status_code=204)


@action("revertResize")
def revert_resize(req: ApiRequest, value):
    _act(req, "os_compute_api:servers:revert_resize",
         lambda session, ctx, server: actions.revert_resize(session, ctx, server,
                                                            request_id(req)))


@action("migrate")
def migrate(req: ApiRequest, value):
    value = validate(action_schemas.migrate_schema(req.version), value)
    host = value.get("host") if isinstance(value, dict) and req.version.matches("2.56") \
        else None
    _act(req, "os_compute_api:os-migrate-server:migrate",
         lambda session, ctx, server: actions.migrate(session, req.cloud, ctx, server,
                                                      request_id(req), host))


# -- images ----------------------------------------------------------------------------------

def _image_created(req: ApiRequest, image_id: str):
    if req.version.matches("2.45"):
        return JSONResponse({"image_id": image_id}, status_code=202)
    return Response(status_code=202,
                    headers={"Location": req.url(f"/v2.1/images/{image_id}")})


@action("createImage")
def create_image(req: ApiRequest, value):
    body = validate(action_schemas.CREATE_IMAGE, value)
    image_id = _act(req, "os_compute_api:servers:create_image",
                    lambda session, ctx, server: actions.create_snapshot(
                        session, req.cloud, ctx, server, request_id(req), body["name"],
                        body.get("metadata", {})))
    return _image_created(req, image_id)


@action("createBackup")
def create_backup(req: ApiRequest, value):
    body = validate(action_schemas.CREATE_BACKUP, value)
    image_id = _act(req, "os_compute_api:os-create-backup",
                    lambda session, ctx, server: actions.create_snapshot(
                        session, req.cloud, ctx, server, request_id(req), body["name"],
                        body.get("metadata", {}), backup_type=body["backup_type"],
                        rotation=int(body["rotation"])))
    return _image_created(req, image_id)


# -- rescue and shelve --------------------------------------------------------------------------

@action("rescue")
def rescue(req: ApiRequest, value):
    body = validate(action_schemas.RESCUE, value) or {}
    password = _act(req, "os_compute_api:os-rescue",
                    lambda session, ctx, server: actions.rescue(
                        session, ctx, server, request_id(req), body.get("adminPass"),
                        body.get("rescue_image_ref")))
    return JSONResponse({"adminPass": password}, status_code=200)


@action("shelve")
def shelve(req: ApiRequest, value):
    _act(req, "os_compute_api:os-shelve:shelve",
         lambda session, ctx, server: actions.shelve(session, req.cloud, ctx, server,
                                                     request_id(req)))


@action("unshelve")
def unshelve(req: ApiRequest, value):
    body = validate(action_schemas.unshelve_schema(req.version), value)
    if not (isinstance(body, dict) and req.version.matches("2.77")):
        body = {}
    host = body.get("host")

    def start(session, ctx, server):
        if host is not None:
            req.authorize("os_compute_api:os-shelve:unshelve_to_host",
                          servers.policy_target(server))
        return actions.unshelve(session, req.cloud.config, ctx, server, request_id(req),
                                zone=body.get("availability_zone"),
                                zone_given="availability_zone" in body, host=host)
    if _act(req, "os_compute_api:os-shelve:unshelve", start):
        req.cloud.bus.cast(CONDUCTOR_TOPIC, "schedule")


# -- fixed IPs (Nova's multinic, until 2.43) ------------------------------------------------------

def _unlocked_server(req: ApiRequest, rule: str):
    """The server, once ``rule`` allows the caller and it is not locked to them."""
    with req.cloud.db.session() as session:
        server = servers.get_server(session, req.ctx, req.path["server_id"])
        ctx = req.authorize(rule, servers.policy_target(server))
        servers.check_not_locked(ctx, server)
    return server


@action("addFixedIp", until="2.43")
def add_fixed_ip(req: ApiRequest, value):
    network_id = str(validate(action_schemas.ADD_FIXED_IP, value)["networkId"])
    server = _unlocked_server(req, "os_compute_api:os-multinic:add")
    req.cloud.ports.add_fixed_ip(req.ctx, server.id, network_id)


@action("removeFixedIp", until="2.43")
def remove_fixed_ip(req: ApiRequest, value):
    address = validate(action_schemas.REMOVE_FIXED_IP, value)["address"]
    server = _unlocked_server(req, "os_compute_api:os-multinic:remove")
    req.cloud.ports.remove_fixed_ip(server.id, address)


# -- console, password, crash dump, admin state -------------------------------------------------

@action("os-getConsoleOutput")
def console_output(req: ApiRequest, value):
    body = validate(action_schemas.CONSOLE_OUTPUT, value) or {}
    length = body.get("length")
    lines = None if length is None or int(length) < 0 else int(length)
    with req.cloud.db.session() as session:
        server = servers.get_server(session, req.ctx, req.path["server_id"])
        req.authorize("os_compute_api:os-console-output", servers.policy_target(server))
    return JSONResponse({"output": actions.console_output(req.cloud, server, lines)})


@action("changePassword")
def change_password(req: ApiRequest, value):
    body = validate(action_schemas.CHANGE_PASSWORD, value)
    action_id = _act(req, "os_compute_api:os-admin-password",
                     lambda session, ctx, server: actions.change_password(
                         session, ctx, server, request_id(req), body["adminPass"]))
    actions.check_password_set(req.cloud.db, req.path["server_id"], action_id)


@action("trigger_crash_dump", since="2.17")
def trigger_crash_dump(req: ApiRequest, value):
    _act(req, "os_compute_api:servers:trigger_crash_dump",
         lambda session, ctx, server: actions.trigger_crash_dump(session, ctx, server,
                                                                 request_id(req)))


@action("os-resetState")
def reset_state(req: ApiRequest, value):
    body = validate(action_schemas.RESET_STATE, value)
    _act(req, "os_compute_api:os-admin-actions:reset_state",
         lambda session, ctx, server: actions.reset_state(session, ctx, server,
                                                          request_id(req), body["state"]),
         wake=False)


@action("injectNetworkInfo")
def inject_network_info(req: ApiRequest, value):
    # Guests read their network from DHCP and the metadata service; there is
    # nothing to push into them, as with Nova's libvirt driver today.
    _act(req, "os_compute_api:os-admin-actions:inject_network_info",
         lambda session, ctx, server: None, wake=False)


@action("forceDelete")
def force_delete(req: ApiRequest, value):
    # With deferred delete off, Nova's forceDelete is a delete.
    with req.cloud.db.transaction() as session:
        server = servers.get_server(session, req.ctx, req.path["server_id"])
        ctx = req.authorize("os_compute_api:os-deferred-delete:force",
                            servers.policy_target(server))
        host = servers.request_delete(session, req.cloud, ctx, server, request_id(req))
    servers.after_delete_request(req.cloud, server, host)


@action("restore")
def restore(req: ApiRequest, value):
    _act(req, "os_compute_api:os-deferred-delete:restore",
         lambda session, ctx, server: actions.restore(session, ctx, server, request_id(req)),
         wake=False)
