"""Server actions, the API side: which states each action starts from, and
what it writes for the agent (or the conductor) to carry out.

Every action that hands work to a host starts through ``begin``: it checks
the server is not locked and in a state the action allows, records the
instance action, and writes the new task_state with one conditional UPDATE
(its WHERE repeats the state check), so of two concurrent actions only one
starts; the other gets Nova's 409.  The tasks themselves are in
stacklet.compute.action_tasks.
"""

from __future__ import annotations

import secrets
import time

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.common.context import RequestContext
from stacklet.common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    RequestEntityTooLarge,
)
from stacklet.compute import flavors, hostinfo, keypairs, quotas, scheduler, servers, states
from stacklet.compute.driver import NotSupported, local_driver
from stacklet.compute.models import (
    Instance,
    InstanceAction,
    InstanceFault,
    InstanceMetadata,
    Migration,
)
from stacklet.db import utcnow
from stacklet.image import images as image_service
from stacklet.image.models import Image

# The task_states a hard reboot may interrupt (Nova's ALLOW_REBOOT).
HARD_REBOOT_TASKS = (None, states.REBOOTING, states.REBOOTING_HARD, states.RESUMING,
                     states.UNPAUSING, states.PAUSING, states.SUSPENDING)
HARD_REBOOT_VM_STATES = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED,
                         states.ERROR)
SNAPSHOT_VM_STATES = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)
SHELVE_VM_STATES = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)
# Seconds changePassword waits for the agent (Nova's API waits on an RPC call).
PASSWORD_TIMEOUT = 30.0


def begin(session: orm.Session, ctx: RequestContext, server: Instance, action: str,
          request_id: str, *, vm_states, task_states=(None,), task_state: str | None,
          pending: dict | None = None, **values) -> InstanceAction:
    """Start ``action`` on the server: 409 when it is locked or not in one of
    ``vm_states`` / ``task_states``; else record the instance action and
    write ``task_state`` (with ``pending`` parameters and any other column
    ``values``) in one conditional UPDATE, which a concurrent action that
    got there first makes match nothing (409 too)."""
    servers.check_not_locked(ctx, server)
    servers.check_state(action, server, vm_states, task_states)
    record = servers.record_action(session, ctx, server, action, request_id)
    named = [task for task in task_states if task is not None]
    allowed = [Instance.task_state.in_(named)] if named else []
    if None in task_states:
        allowed.append(Instance.task_state.is_(None))
    conditions = [Instance.id == server.id, Instance.vm_state.in_(list(vm_states)),
                  Instance.deleted.is_(False), sa.or_(*allowed)]
    result = session.execute(
        sa.update(Instance).where(*conditions)
        .values(task_state=task_state, pending={**(pending or {}), "action_id": record.id},
                updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(f"Cannot '{action}' instance {server.id}: another action changed "
                       "its state meanwhile. Retry when it is done.")
    session.refresh(server)
    return record


# -- power ----------------------------------------------------------------------------

def stop(session, ctx, server, request_id) -> None:
    begin(session, ctx, server, "stop", request_id, vm_states=(states.ACTIVE, states.ERROR),
          task_state=states.POWERING_OFF, progress=0)


def start(session, ctx, server, request_id) -> None:
    begin(session, ctx, server, "start", request_id, vm_states=(states.STOPPED,),
          task_state=states.POWERING_ON)


def reboot(session, ctx, server, request_id, hard: bool) -> None:
    if hard:
        begin(session, ctx, server, "reboot", request_id, vm_states=HARD_REBOOT_VM_STATES,
              task_states=HARD_REBOOT_TASKS, task_state=states.REBOOTING_HARD,
              pending={"hard": True})
        return
    servers.check_not_locked(ctx, server)
    servers.check_state("reboot", server, (states.ACTIVE,))
    if server.power_state != states.RUNNING:
        raise servers.invalid_state("reboot", server, "power_state", server.power_state)
    begin(session, ctx, server, "reboot", request_id, vm_states=(states.ACTIVE,),
          task_state=states.REBOOTING, pending={"hard": False})


# Actions that take the server from one vm_state to another through one task.
SIMPLE_ACTIONS = {
    "pause": ((states.ACTIVE,), states.PAUSING),
    "unpause": ((states.PAUSED,), states.UNPAUSING),
    "suspend": ((states.ACTIVE,), states.SUSPENDING),
    "resume": ((states.SUSPENDED,), states.RESUMING),
    "unrescue": ((states.RESCUED,), states.UNRESCUING),
    "shelveOffload": ((states.SHELVED,), states.SHELVING_OFFLOADING),
}


def simple_action(session, ctx, server, request_id, action: str) -> None:
    vm_states, task_state = SIMPLE_ACTIONS[action]
    begin(session, ctx, server, action, request_id, vm_states=vm_states,
          task_state=task_state)


# -- lock ------------------------------------------------------------------------------

def lock(session, ctx, server, request_id, reason: str | None) -> None:
    servers.record_action(session, ctx, server, "lock", request_id).finish_time = utcnow()
    server.locked = True
    # Nova remembers whether the owner or an admin of another project locked it.
    server.locked_by = "owner" if server.project_id == ctx.project_id else "admin"
    server.locked_reason = reason
    server.updated_at = utcnow()


def locked_by_someone_else(ctx, server) -> bool:
    """Whether unlocking needs the unlock_override rule (Nova's is_expected_locked_by)."""
    expected = "owner" if server.project_id == ctx.project_id else "admin"
    return bool(server.locked_by) and server.locked_by != expected


def unlock(session, ctx, server, request_id) -> None:
    servers.record_action(session, ctx, server, "unlock", request_id).finish_time = utcnow()
    server.locked, server.locked_by, server.locked_reason = False, None, None
    server.updated_at = utcnow()


# -- rebuild ---------------------------------------------------------------------------

def rebuild(session, cloud, ctx, server, request_id, body: dict) -> str:
    """Rebuild the server from an image, with the new attributes in ``body``;
    returns the admin password the rebuilt server gets."""
    servers.check_not_locked(ctx, server)
    servers.check_state("rebuild", server, (states.ACTIVE, states.STOPPED, states.ERROR))
    image = image_from_ref(session, ctx, body["imageRef"])
    servers.check_image_fits(image, server.flavor["ram"], server.flavor["disk"])
    if "metadata" in body:
        quotas.check(session, server.project_id, server.user_id, "metadata_items",
                     len(body["metadata"]), config=cloud.config, used=0)
    values = {"image_ref": image.id}
    if "key_name" in body:
        values["key_name"], values["key_data"] = None, None
        if body["key_name"] is not None:
            keypair = keypairs.find_keypair(session, ctx.user_id, body["key_name"])
            if keypair is None:
                raise BadRequest("Invalid key_name provided.")
            values["key_name"], values["key_data"] = keypair.name, keypair.public_key
    if "user_data" in body:
        if body["user_data"] is not None:
            servers._check_base64(body["user_data"], "user_data")
        values["user_data"] = body["user_data"]
    for field, column in (("name", "display_name"), ("description", "display_description"),
                          ("hostname", "hostname"), ("OS-DCF:diskConfig", "disk_config")):
        if field in body:
            values[column] = body[field]
    for field, column in (("accessIPv4", "access_ip_v4"), ("accessIPv6", "access_ip_v6")):
        if field in body:
            values[column] = servers.normalized_ip(body[field])
    password = body.get("adminPass") or secrets.token_urlsafe(9)
    values["admin_password"] = password
    system_metadata = dict(server.system_metadata)
    system_metadata["image_properties"] = servers._image_properties(image)
    values["system_metadata"] = system_metadata
    begin(session, ctx, server, "rebuild", request_id,
          vm_states=(states.ACTIVE, states.STOPPED, states.ERROR),
          task_state=states.REBUILDING,
          pending={"preserve_ephemeral": bool(body.get("preserve_ephemeral", False)),
                   "was_stopped": server.vm_state == states.STOPPED},
          **values)
    if "metadata" in body:
        server.metadata_items = [InstanceMetadata(key=key, value=value)
                                 for key, value in body["metadata"].items()]
    return password


def image_from_ref(session, ctx, image_ref: str) -> Image:
    """The active image an imageRef (id or URL) names; 400 otherwise, as on create."""
    image_id = image_ref.rstrip("/").rsplit("/", 1)[-1]
    image = session.get(Image, image_id) if servers._is_uuid_like(image_id) else None
    if image is None or not image_service.can_see(ctx, image):
        raise BadRequest(f"Image {image_id} could not be found.")
    if image.status != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    return image


# -- resize and cold migration --------------------------------------------------------------

def resize(session, cloud, ctx, server, request_id, flavor_ref: str,
           disk_config: str | None) -> None:
    servers.check_not_locked(ctx, server)
    servers.check_state("resize", server, (states.ACTIVE, states.STOPPED))
    flavor = flavors.find_flavor(session, flavor_ref, ctx)
    if flavor is None:
        raise BadRequest("Unable to locate requested flavor.")
    if flavor.id == server.flavor["id"]:
        raise BadRequest("When resizing, instances must change flavor!")
    if flavor.root_gb == 0 and server.root_gb and server.image_ref:
        raise Forbidden("Resize to zero disk flavor is not allowed.")
    if flavor.root_gb and flavor.root_gb < server.root_gb:
        raise BadRequest("Resize error: Unable to resize disk down.")
    for resource, delta in (("cores", flavor.vcpus - server.vcpus),
                            ("ram", flavor.memory_mb - server.memory_mb)):
        if delta > 0:
            quotas.check(session, server.project_id, server.user_id, resource, delta,
                         config=cloud.config)
    new_flavor = flavors.flavor_snapshot(flavor)
    _move(session, cloud, ctx, server, request_id, "resize", new_flavor,
          migration_type="resize", ignore_hosts=[],
          values={"disk_config": disk_config} if disk_config else {})


def migrate(session, cloud, ctx, server, request_id, host: str | None) -> None:
    """An admin's cold migration: a resize to the same flavor on another host."""
    servers.check_not_locked(ctx, server)
    servers.check_state("migrate", server, (states.ACTIVE, states.STOPPED))
    if host is not None:
        if host == server.host:
            raise BadRequest(f"The target host can't be the same one: {host}.")
        if session.scalar(sa.select(scheduler.ComputeNode).filter_by(host=host)) is None:
            raise BadRequest(f"Compute host {host} could not be found.")
    _move(session, cloud, ctx, server, request_id, "migrate", dict(server.flavor),
          migration_type="migration", ignore_hosts=[server.host], requested_host=host)


def _move(session, cloud, ctx, server, request_id, action, new_flavor: dict, *,
          migration_type: str, ignore_hosts: list, requested_host: str | None = None,
          values: dict | None = None) -> None:
    """Claim the new flavor on a host the scheduler picks (the server's own host
    allowed for a resize: Nova's allow_resize_to_same_host, which a one-host
    cloud needs), and start the move there.  The old claim stays until the
    resize is confirmed or reverted."""
    spec = scheduler.RequestSpec(
        vcpus=new_flavor["vcpus"], memory_mb=new_flavor["ram"],
        disk_gb=scheduler.disk_gb_of(new_flavor),
        availability_zone=server.system_metadata.get("requested_zone"),
        image_properties=server.system_metadata.get("image_properties", {}),
        requested_host=requested_host, ignore_hosts=ignore_hosts,
        # Staying put is cheapest: the server's own host first when it fits.
        preferred_host=server.host)
    candidates = scheduler.select_hosts(
        scheduler.load_hosts(session, hostinfo.Zones(session, cloud.config)), spec, now=utcnow(),
        down_time=cloud.config.get("compute", "service_down_time"),
        ram_weight_multiplier=cloud.config.get("compute", "ram_weight_multiplier"))
    for candidate in candidates:
        if scheduler.claim(session, candidate.node, spec.vcpus, spec.memory_mb, spec.disk_gb):
            destination = candidate.node.host
            break
    else:
        raise BadRequest("No valid host was found. There are not enough hosts available.")
    migration = Migration(
        instance_id=server.id, migration_type=migration_type, status="pre-migrating",
        source_compute=server.host, source_node=server.node, dest_compute=destination,
        dest_node=destination, dest_host=destination, old_flavor_id=server.flavor["id"],
        new_flavor_id=new_flavor["id"], project_id=server.project_id,
        user_id=server.user_id)
    session.add(migration)
    session.flush()
    begin(session, ctx, server, action, request_id, vm_states=(states.ACTIVE, states.STOPPED),
          task_state=states.RESIZE_PREP, new_flavor=new_flavor, progress=0,
          pending={"migration_id": migration.id,
                   "was_stopped": server.vm_state == states.STOPPED}, **(values or {}))


def resize_migration(session, server: Instance, status: str = "finished") -> Migration | None:
    return session.scalar(
        sa.select(Migration).where(Migration.instance_id == server.id,
                                   Migration.status == status)
        .order_by(Migration.id.desc()).limit(1))


def confirm_resize(session, ctx, server, request_id) -> None:
    """Keep the new flavor: give back the old one's claim on the source host."""
    servers.check_not_locked(ctx, server)
    servers.check_state("confirmResize", server, (states.RESIZED,))
    migration = resize_migration(session, server)
    if migration is None:
        raise BadRequest("Instance has not been resized.")
    old_flavor = server.system_metadata.get("old_flavor") or server.flavor
    # A stopped server stays stopped; Nova confirms without a task.
    end_state = states.STOPPED if server.power_state == states.SHUTDOWN else states.ACTIVE
    metadata = {k: v for k, v in server.system_metadata.items() if k != "old_flavor"}
    record = begin(session, ctx, server, "confirmResize", request_id,
                   vm_states=(states.RESIZED,), task_state=None, vm_state=end_state,
                   system_metadata=metadata, new_flavor=None)
    record.finish_time = utcnow()
    scheduler.release(session, migration.source_compute, old_flavor["vcpus"],
                      old_flavor["ram"], scheduler.disk_gb_of(old_flavor))
    migration.status = "confirmed"
    server.pending = {}


def revert_resize(session, ctx, server, request_id) -> None:
    servers.check_not_locked(ctx, server)
    servers.check_state("revertResize", server, (states.RESIZED,))
    migration = resize_migration(session, server)
    if migration is None:
        raise BadRequest("Instance has not been resized.")
    migration.status = "reverting"
    begin(session, ctx, server, "revertResize", request_id, vm_states=(states.RESIZED,),
          task_state=states.RESIZE_REVERTING, pending={"migration_id": migration.id})


# -- images of a server -------------------------------------------------------------------

def create_snapshot(session, cloud, ctx, server, request_id, name: str, metadata: dict, *,
                    backup_type: str | None = None, rotation: int | None = None) -> str:
    """Create the (queued) image a snapshot or backup uploads into and start the
    snapshot task; returns the image id."""
    action = "createBackup" if backup_type is not None else "createImage"
    servers.check_not_locked(ctx, server)
    servers.check_state(action, server, SNAPSHOT_VM_STATES)
    # The base image's own properties carry over (os_distro, hw_*), as in Nova,
    # but not the image service's own (os_glance_*).
    inherited = {key: str(value) for key, value in
                 server.system_metadata.get("image_properties", {}).items()
                 if key not in image_service.BASE_ATTRIBUTES and value is not None
                 and not key.startswith(image_service.RESERVED_PREFIX)}
    # The metadata becomes properties: it may not set the image's attributes
    # (visibility, owner, ...) nor the image service's reserved names.
    for key in metadata:
        if key in image_service.BASE_ATTRIBUTES:
            raise BadRequest(f"Image metadata key '{key}' is an image attribute and "
                             "cannot be set as metadata.")
    image_service.check_attribute_names(metadata, creating=True)
    properties = {**inherited, **metadata}
    if backup_type is not None:
        properties.update(image_type="backup", backup_type=backup_type)
    image = _snapshot_image(session, cloud, ctx, server, name, properties)
    task_state = states.IMAGE_BACKUP if backup_type is not None else states.IMAGE_SNAPSHOT
    begin(session, ctx, server, action, request_id, vm_states=SNAPSHOT_VM_STATES,
          task_state=task_state,
          pending={"image_id": image.id, "backup_type": backup_type, "rotation": rotation})
    return image.id


def _snapshot_image(session, cloud, ctx, server, name: str, properties: dict) -> Image:
    """A queued, private image of the server in the caller's project, with Nova's
    snapshot properties; 403 when the project's image quota is used up."""
    base = server.system_metadata.get("image_properties", {})
    try:
        return image_service.create_image(session, ctx, cloud.config, {
            "name": name, "visibility": "private", "container_format": "bare",
            "disk_format": base.get("disk_format") or "raw",
            "min_ram": int(base.get("min_ram") or 0),
            "min_disk": max(server.root_gb, int(base.get("min_disk") or 0)),
            "image_type": "snapshot", **properties,
            "instance_uuid": server.id, "base_image_ref": server.image_ref,
            "user_id": ctx.user_id, "owner_project_name": ctx.project_name or "",
            "owner_user_name": ctx.user_name or ""})
    except RequestEntityTooLarge as exc:
        # Nova answers a quota the image service refuses with 403.
        raise Forbidden(exc.message) from None


# -- rescue --------------------------------------------------------------------------------

def rescue(session, ctx, server, request_id, password: str | None,
           rescue_image_ref: str | None) -> str:
    servers.check_not_locked(ctx, server)
    servers.check_state("rescue", server, (states.ACTIVE, states.STOPPED, states.ERROR))
    image_id = server.image_ref
    if rescue_image_ref:
        image_id = image_from_ref(session, ctx, rescue_image_ref).id
    password = password or secrets.token_urlsafe(9)
    begin(session, ctx, server, "rescue", request_id,
          vm_states=(states.ACTIVE, states.STOPPED, states.ERROR),
          task_state=states.RESCUING, pending={"rescue_image_id": image_id},
          admin_password=password)
    return password


# -- shelve --------------------------------------------------------------------------------

def shelve(session, cloud, ctx, server, request_id) -> None:
    """Shelve: snapshot the server into an image, then (Nova's
    shelved_offload_time=0) free its host."""
    servers.check_not_locked(ctx, server)
    servers.check_state("shelve", server, SHELVE_VM_STATES)
    image = _snapshot_image(session, cloud, ctx, server, f"{server.display_name}-shelved", {})
    begin(session, ctx, server, "shelve", request_id, vm_states=SHELVE_VM_STATES,
          task_state=states.SHELVING, pending={"image_id": image.id})


def unshelve(session, config, ctx, server, request_id, *, zone=None, zone_given: bool = False,
             host: str | None = None) -> bool:
    """Unshelve: a shelved server powers on where it is; an offloaded one goes
    back to the conductor (keeping its vm_state until it is placed).  Returns
    whether the conductor has work."""
    servers.check_not_locked(ctx, server)
    servers.check_state("unshelve", server, (states.SHELVED, states.SHELVED_OFFLOADED))
    if (zone_given or host) and server.vm_state != states.SHELVED_OFFLOADED:
        raise Conflict(f"The server {server.id} is not in SHELVED_OFFLOADED state, so an "
                       "availability zone or host cannot be given to unshelve it.")
    if zone:
        hostinfo.check_zone_requestable(session, config, zone)
    if host and session.scalar(
            sa.select(scheduler.ComputeNode).filter_by(host=host)) is None:
        raise BadRequest(f"Compute host {host} could not be found.")
    offloaded = server.vm_state == states.SHELVED_OFFLOADED
    values = {}
    if zone_given:
        # From 2.91 a null zone unpins the server.
        values["availability_zone"] = zone
        values["system_metadata"] = {**server.system_metadata, "requested_zone": zone}
    begin(session, ctx, server, "unshelve", request_id,
          vm_states=(states.SHELVED, states.SHELVED_OFFLOADED),
          task_state=states.SCHEDULING if offloaded else states.UNSHELVING,
          pending={"requested_host": host}, **values)
    return offloaded


# -- password, console, crash dump, state ------------------------------------------------------

def change_password(session, ctx, server, request_id, password: str) -> int:
    """Start setting the guest's password; returns the instance action's id."""
    return begin(session, ctx, server, "changePassword", request_id,
                 vm_states=(states.ACTIVE,), task_state=states.UPDATING_PASSWORD,
                 pending={"password": password}).id


def check_password_set(db, server_id: str, action_id: int,
                       timeout: float = PASSWORD_TIMEOUT) -> None:
    """Wait for the agent to set the password, as Nova's API waits on its RPC call:
    409 when the driver could not.  Past the timeout the task goes on alone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as session:
            action = session.get(InstanceAction, action_id)
            if action.finish_time is not None:
                if action.message == "Error":
                    fault = session.scalar(
                        sa.select(InstanceFault).filter_by(instance_id=server_id)
                        .order_by(InstanceFault.id.desc()).limit(1))
                    reason = fault.message if fault is not None else "the driver failed"
                    raise Conflict(f"Failed to set admin password on {server_id} because "
                                   f"{reason}")
                return
        time.sleep(0.05)


def console_output(cloud, server: Instance, length: int | None) -> str:
    """The tail of the guest's console, read from its host's driver.  Nova keeps
    the console of a stopped guest readable (Tempest reads it in SHUTOFF); only
    a server without a host (building, shelved offloaded) has none yet."""
    if server.host is None:
        raise Conflict(f"Instance {server.id} is not ready")
    driver = local_driver(cloud, server.host)
    try:
        return driver.console_output(server.id, length)
    except NotSupported as exc:
        raise Conflict(str(exc)) from None


def trigger_crash_dump(session, ctx, server, request_id) -> None:
    servers.check_not_locked(ctx, server)
    servers.check_state("trigger_crash_dump", server,
                (states.ACTIVE, states.PAUSED, states.RESCUED, states.RESIZED, states.ERROR))
    if server.power_state != states.RUNNING:
        raise Conflict(f"Instance {server.id} is not running.")
    begin(session, ctx, server, "trigger_crash_dump", request_id,
          vm_states=(states.ACTIVE, states.PAUSED, states.RESCUED, states.RESIZED,
                     states.ERROR),
          task_state=states.TRIGGERING_CRASH_DUMP,
          pending={"vm_state": server.vm_state})


def reset_state(session, ctx, server, request_id, state: str) -> None:
    """An admin's way out of a stuck task: Nova writes the state unconditionally."""
    servers.record_action(session, ctx, server, "resetState", request_id).finish_time = \
        utcnow()
    server.vm_state = states.ACTIVE if state == "active" else states.ERROR
    server.task_state = None
    server.pending = {}
    server.updated_at = utcnow()


def restore(session, ctx, server, request_id) -> None:
    """Deferred delete is off, so no server is ever SOFT_DELETED: Nova's 409."""
    servers.check_not_locked(ctx, server)
    servers.check_state("restore", server, (states.SOFT_DELETED,))
