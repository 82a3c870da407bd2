"""Servers: creating, finding, listing, updating and deleting them.

Creating a server writes its rows in task_state ``scheduling`` and wakes
the conductor; deleting one hands it to its host's agent.  Everything the
agents will need later is on the row, so no step depends on a message
arriving.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import secrets
import uuid

import sqlalchemy as sa
from sqlalchemy import orm

from stacklet.common.context import RequestContext
from stacklet.common.errors import BadRequest, Conflict, Forbidden, NotFound
from stacklet.common.patterns import user_pattern
from stacklet.common.timeutils import parse_isotime
from stacklet.compute import flavors, hostinfo, keypairs, quotas, scheduler, states
from stacklet.compute.agent import topic as agent_topic
from stacklet.compute.driver import GuestSpec
from stacklet.compute.models import (
    ComputeNode,
    ComputeService,
    Instance,
    InstanceAction,
    InstanceMetadata,
    InstanceTag,
    ServerGroup,
    ServerGroupMember,
)
from stacklet.db import utcnow
from stacklet.image.images import can_see
from stacklet.image.models import Image

MAX_USER_DATA = 65535


def get_server(session: orm.Session, ctx: RequestContext, server_id: str, *,
               deleted_ok: bool = False) -> Instance:
    """The server when the caller's project owns it (or the caller is an admin);
    404 otherwise, as Nova answers for another project's server."""
    server = session.get(Instance, server_id) if _is_uuid_like(server_id) else None
    if (server is None or (server.deleted and not deleted_ok)
            or not (ctx.is_admin or server.project_id == ctx.project_id)):
        raise NotFound(f"Instance {server_id} could not be found.")
    return server


def policy_target(server: Instance) -> dict:
    return {"project_id": server.project_id, "user_id": server.user_id}


def _is_uuid_like(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def check_not_locked(ctx: RequestContext, server: Instance) -> None:
    """Nova refuses actions on a locked server to anyone but an admin."""
    if server.locked and not ctx.is_admin:
        raise Conflict(f"Instance {server.id} is locked")


def invalid_state(action: str, server: Instance, attribute: str, value) -> Conflict:
    """Nova's 409 for an action the server's state does not allow."""
    return Conflict(f"Cannot '{action}' instance {server.id} while it is in "
                    f"{attribute} {value}")


def check_state(action: str, server: Instance, vm_states,
                task_states: tuple | None = (None,)) -> None:
    """409 unless the server is in one of ``vm_states`` and ``task_states``
    (None: whatever task runs; the default: no task)."""
    if server.vm_state not in vm_states:
        raise invalid_state(action, server, "vm_state", server.vm_state)
    if task_states is not None and server.task_state not in task_states:
        raise invalid_state(action, server, "task_state", server.task_state)


def record_action(session: orm.Session, ctx: RequestContext, server: Instance, action: str,
                  request_id: str) -> InstanceAction:
    row = InstanceAction(instance_id=server.id, action=action, request_id=request_id,
                         project_id=ctx.project_id or server.project_id, user_id=ctx.user_id)
    session.add(row)
    session.flush()
    return row


# -- create ---------------------------------------------------------------------------

def create_servers(session: orm.Session, cloud, ctx: RequestContext, body: dict,
                   request_id: str) -> list[Instance]:
    """Validate a create request against flavors, images, keypairs, networks, groups
    and quotas, then write its servers (waiting for a host).  Returns them."""
    flavor = flavors.find_flavor(session, body["flavorRef"], ctx)
    if flavor is None:
        raise BadRequest(f"Flavor {body['flavorRef']} could not be found.")
    image = _boot_image(session, ctx, body)
    check_image_fits(image, flavor.memory_mb, flavor.root_gb)
    if flavor.root_gb == 0 and image is not None and not ctx.is_admin:
        raise Forbidden("Only volume-backed servers are allowed for flavors with zero disk.")
    key_data = None
    if body.get("key_name") is not None:
        keypair = keypairs.find_keypair(session, ctx.user_id, body["key_name"])
        if keypair is None:
            raise BadRequest("Invalid key_name provided.")
        key_data = keypair.public_key
    # Groups asked for by id are recorded by name, as server views show them.
    group_names = []
    for requested in [group["name"] for group in body.get("security_groups", [])]:
        name = cloud.ports.security_group_name(ctx, requested)
        if name is None:
            raise BadRequest(f"Unable to find security_group with name or id '{requested}'")
        group_names.append(name)
    networks = body.get("networks", "auto")
    for item in networks if isinstance(networks, list) else ():
        # Each request names a port or a network; the schema allows an empty one,
        # which would otherwise fail only on the host, leaving the server in ERROR.
        if not item.get("port") and not item.get("uuid"):
            raise BadRequest("Bad network format: missing 'uuid'")
    cloud.ports.check_requested(ctx, networks)
    user_data = body.get("user_data")
    if user_data is not None:
        _check_base64(user_data, "user_data")
    group = _server_group(session, ctx, body)
    zone, requested_host = _zone_and_host(session, cloud.config, ctx, body)

    min_count = body.get("min_count", 1)
    max_count = body.get("max_count", min_count)
    if min_count > max_count:
        raise BadRequest("min_count must be <= max_count")
    count = _count_within_quota(session, cloud.config, ctx, min_count, max_count, flavor)
    metadata = body.get("metadata", {})
    quotas.check(session, ctx.project_id, ctx.user_id, "metadata_items", len(metadata),
                 config=cloud.config, used=0)
    if group is not None:
        quotas.check(session, ctx.project_id, ctx.user_id, "server_group_members", count,
                     config=cloud.config, used=quotas.group_member_count(session, group.id))

    snapshot = flavors.flavor_snapshot(flavor)
    reservation_id = "r-" + secrets.token_hex(4)
    base_name = body["name"]
    servers = []
    for index in range(count):
        name = f"{base_name}-{index + 1}" if count > 1 else base_name
        server = Instance(
            display_name=name, display_description=body.get("description"),
            hostname=body.get("hostname") or sanitize_hostname(name),
            project_id=ctx.project_id, user_id=ctx.user_id,
            image_ref=image.id if image is not None else "",
            flavor=snapshot, vcpus=flavor.vcpus, memory_mb=flavor.memory_mb,
            root_gb=flavor.root_gb, ephemeral_gb=flavor.ephemeral_gb,
            key_name=body.get("key_name"), key_data=key_data, user_data=user_data,
            availability_zone=zone, vm_state=states.BUILDING, task_state=states.SCHEDULING,
            power_state=states.NOSTATE, config_drive=bool(body.get("config_drive")),
            disk_config=body.get("OS-DCF:diskConfig", "MANUAL"),
            access_ip_v4=normalized_ip(body.get("accessIPv4")),
            access_ip_v6=normalized_ip(body.get("accessIPv6")),
            launch_index=index, reservation_id=reservation_id,
            admin_password=body.get("adminPass"),
            system_metadata={
                "image_properties": _image_properties(image),
                "networks": networks,
                "security_groups": group_names or ["default"],
                "block_device_mapping": body.get("block_device_mapping_v2", []),
                "group_id": group.id if group is not None else None,
                "requested_host": requested_host,
                "requested_zone": zone,
                "min_count": min_count,
            })
        server.metadata_items = [InstanceMetadata(key=k, value=v) for k, v in metadata.items()]
        server.tags = [InstanceTag(tag=tag) for tag in dict.fromkeys(body.get("tags", []))]
        session.add(server)
        session.flush()
        if group is not None:
            session.add(ServerGroupMember(group_id=group.id, instance_id=server.id))
        # The agent that builds the server records its event on this action.
        server.pending = {"action_id": record_action(session, ctx, server, "create",
                                                     request_id).id}
        servers.append(server)
    return servers


def _count_within_quota(session: orm.Session, config, ctx: RequestContext, min_count: int,
                        max_count: int, flavor) -> int:
    """As many servers as asked, or fewer down to min_count when the quota allows
    only those, as Nova does; 403 naming the quota when not even min_count fit."""
    for count in range(max_count, min_count, -1):
        try:
            quotas.check_instances(session, ctx.project_id, ctx.user_id, count,
                                   flavor.vcpus, flavor.memory_mb, config=config)
            return count
        except Forbidden:
            continue
    quotas.check_instances(session, ctx.project_id, ctx.user_id, min_count,
                           flavor.vcpus, flavor.memory_mb, config=config)
    return min_count


def _boot_image(session: orm.Session, ctx: RequestContext, body: dict) -> Image | None:
    image_id = body.get("imageRef") or ""
    for mapping in body.get("block_device_mapping_v2", []):
        if mapping.get("source_type") in ("volume", "snapshot") or \
                mapping.get("destination_type") == "volume":
            raise BadRequest("Block device mappings of volumes are not supported: this cloud "
                             "has no block storage service yet. Boot from an image.")
        if mapping.get("source_type") == "image" and mapping.get("boot_index") in (0, "0"):
            image_id = image_id or mapping.get("uuid", "")
    if not image_id:
        raise BadRequest("Missing imageRef attribute")
    image_id = image_id.rstrip("/").rsplit("/", 1)[-1]
    image = session.get(Image, image_id) if _is_uuid_like(image_id) else None
    if image is None or not can_see(ctx, image):
        raise BadRequest(f"Image {image_id} could not be found.")
    if image.status != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    return image


def check_image_fits(image: Image | None, ram_mb: int, disk_gb: int) -> None:
    """Nova's checks of an image against the flavor a server boots, rebuilds or
    resizes with, with its messages.  The disk must hold the image's data and,
    beyond Nova's API (whose libvirt driver only fails at spawn), its virtual
    size: a qcow2 of 2 GiB would otherwise boot on a 1 GiB flavor and grow past
    what the flavor promises.  A flavor disk of 0 means "do not check", as in Nova."""
    if image is None:
        return
    if ram_mb < (image.min_ram or 0):
        raise BadRequest("Flavor's memory is too small for requested image.")
    if not disk_gb:
        return
    flavor_bytes = disk_gb << 30
    image_bytes = max(image.size or 0, image.virtual_size or 0)
    if image_bytes > flavor_bytes:
        raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is "
                         f"{flavor_bytes} bytes, image is {image_bytes} bytes.")
    if (image.min_disk or 0) << 30 > flavor_bytes:
        raise BadRequest("Flavor's disk is smaller than the minimum size specified in image "
                         f"metadata. Flavor disk is {flavor_bytes} bytes, minimum size is "
                         f"{image.min_disk << 30} bytes.")


def _image_properties(image: Image | None) -> dict:
    if image is None:
        return {}
    properties = {prop.name: prop.value for prop in image.properties}
    properties.update(disk_format=image.disk_format, container_format=image.container_format,
                      min_ram=image.min_ram, min_disk=image.min_disk)
    return properties


def _check_base64(text: str, field: str) -> None:
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{field} must be base64 encoded.")
    if len(decoded) > MAX_USER_DATA:
        raise BadRequest(f"{field} is larger than {MAX_USER_DATA} bytes once decoded.")


def _server_group(session: orm.Session, ctx: RequestContext, body: dict) -> ServerGroup | None:
    hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
    group_id = hints.get("group")
    if not group_id:
        return None
    group = session.get(ServerGroup, group_id) if _is_uuid_like(group_id) else None
    if group is None or not (ctx.is_admin or group.project_id == ctx.project_id):
        raise BadRequest(f"Invalid server group {group_id}: it could not be found.")
    return group


def _zone_and_host(session: orm.Session, config, ctx: RequestContext,
                   body: dict) -> tuple[str | None, str | None]:
    """The requested availability zone, and a host when an admin forces one with
    "zone:host" or (2.74) the ``host`` field."""
    zone = body.get("availability_zone")
    host = body.get("host")
    if zone and ":" in zone:
        zone, _, host = zone.partition(":")
        zone = zone or None
    if host and not ctx.is_admin:
        raise Forbidden("Only an administrator may choose the host of a server.")
    if zone:
        hostinfo.check_zone_requestable(session, config, zone)
    if host and session.scalar(sa.select(ComputeNode).filter_by(host=host)) is None:
        raise BadRequest(f"Compute host {host} could not be found.")
    return zone, host or None


def normalized_ip(text: str | None) -> str | None:
    """An address in its canonical form, as Nova stores it ('::babe:dc0c:1602')."""
    return str(ipaddress.ip_address(text)) if text else None


def sanitize_hostname(name: str) -> str:
    """Nova's hostname from a display name: lower case letters, digits and
    hyphens, at most 63 characters; dots become hyphens too (since Wallaby:
    "guest-1.domain.com" is the host "guest-1-domain-com")."""
    hostname = re.sub(r"[ _.]", "-", name.lower())
    hostname = re.sub(r"[^\w.-]+", "", hostname, flags=re.ASCII).strip(".-")[:63]
    return hostname.rstrip(".-") or "server"


# -- update and delete --------------------------------------------------------------------

def update_server(server: Instance, body: dict) -> None:
    if "name" in body:
        server.display_name = body["name"]
    if "description" in body:
        server.display_description = body["description"]
    if "hostname" in body:
        server.hostname = body["hostname"]
    for field, column in (("accessIPv4", "access_ip_v4"), ("accessIPv6", "access_ip_v6")):
        if field in body:
            setattr(server, column, normalized_ip(body[field]))
    if "OS-DCF:diskConfig" in body:
        server.disk_config = body["OS-DCF:diskConfig"]
    server.updated_at = utcnow()


def request_delete(session: orm.Session, cloud, ctx: RequestContext, server: Instance,
                   request_id: str) -> str | None:
    """Delete a server: its agent destroys the guest, or, for a server that has
    no host or whose host is down, the rows go at once (the agent removes any
    guest left behind when it returns).  Returns the host to wake, if any."""
    check_not_locked(ctx, server)
    action = record_action(session, ctx, server, "delete", request_id)
    if server.host is None or not _host_is_up(session, cloud, server.host):
        mark_deleted(session, server)
        return None
    server.task_state = states.DELETING
    server.pending = {"action_id": action.id}
    server.updated_at = utcnow()
    return server.host


def after_delete_request(cloud, server: Instance, host: str | None) -> None:
    """Once request_delete committed: wake the host that deletes the server, or,
    for a server deleted at once, release its ports here (its ports outlive a
    down host or a shelve offload, and no agent will run its delete)."""
    if host is not None:
        cloud.bus.cast(agent_topic(host), "run_tasks")
    else:
        cloud.ports.deallocate(server)


def _host_is_up(session: orm.Session, cloud, host: str) -> bool:
    service = session.scalar(sa.select(ComputeService).filter_by(
        host=host, binary=hostinfo.COMPUTE_BINARY))
    return hostinfo.HostStates(cloud.config).is_up(service)


def mark_deleted(session: orm.Session, server: Instance) -> None:
    """Record a server as deleted and give back what it claimed on its host."""
    scheduler.release_server(session, server)
    now = utcnow()
    server.vm_state, server.task_state, server.power_state = states.DELETED, None, 0
    server.pending = {}
    server.deleted, server.deleted_at, server.terminated_at = True, now, now
    server.updated_at = now
    session.execute(sa.delete(ServerGroupMember).filter_by(instance_id=server.id))


# -- what agents need ---------------------------------------------------------------------

def guest_spec(server: Instance) -> GuestSpec:
    return GuestSpec(
        instance_id=server.id, name=server.display_name, hostname=server.hostname,
        vcpus=server.vcpus, memory_mb=server.memory_mb, root_gb=server.root_gb,
        ephemeral_gb=server.ephemeral_gb, swap_mb=server.flavor.get("swap", 0),
        image_id=server.image_ref,
        image_properties=server.system_metadata.get("image_properties", {}),
        user_data=server.user_data, key_data=server.key_data,
        metadata={item.key: item.value for item in server.metadata_items},
        config_drive=server.config_drive, admin_password=server.admin_password)


# -- listing -------------------------------------------------------------------------------

# Filters any project member may use; admins (or, from 2.83, anyone for the
# second set) more.
USER_FILTERS = {"name", "status", "image", "flavor", "changes-since", "changes-before", "ip",
                "ip6", "tags", "tags-any", "not-tags", "not-tags-any", "reservation_id"}
USER_FILTERS_283 = {"availability_zone", "config_drive", "key_name", "created_at",
                    "launched_at", "terminated_at", "power_state", "task_state", "vm_state",
                    "progress", "user_id"}
ADMIN_FILTERS = {"host", "node", "project_id", "tenant_id", "deleted", "uuid", "locked",
                 "hostname", "all_tenants"}
SORT_KEYS = {"created_at": Instance.created_at, "updated_at": Instance.updated_at,
             "display_name": Instance.display_name, "hostname": Instance.hostname,
             "uuid": Instance.id, "vm_state": Instance.vm_state,
             "task_state": Instance.task_state, "power_state": Instance.power_state,
             "launched_at": Instance.launched_at, "terminated_at": Instance.terminated_at,
             "key_name": Instance.key_name, "locked": Instance.locked,
             "availability_zone": Instance.availability_zone,
             "config_drive": Instance.config_drive, "image_ref": Instance.image_ref,
             "project_id": Instance.project_id, "user_id": Instance.user_id,
             "display_description": Instance.display_description,
             "progress": Instance.progress, "host": Instance.host, "node": Instance.node}
ADMIN_SORT_KEYS = {"host", "node"}


def list_query(ctx: RequestContext, query, *, all_tenants: bool, admin_filters: bool,
               newer_filters: bool) -> sa.Select:
    """The servers matching a list request's filters, in its sort order (no paging)."""
    conditions = []
    if not all_tenants:
        conditions.append(Instance.project_id == ctx.project_id)
    elif admin_filters and (query.get("project_id") or query.get("tenant_id")):
        conditions.append(Instance.project_id == (query.get("project_id")
                                                  or query.get("tenant_id")))
    deleted = admin_filters and str(query.get("deleted", "")).lower() in ("true", "1")
    since = query.get("changes-since")
    if deleted:
        conditions.append(Instance.deleted.is_(True))
    elif not since:
        conditions.append(Instance.deleted.is_(False))
    if since:
        conditions.append(Instance.updated_at >= parse_isotime(since, "changes-since"))
    if query.get("changes-before"):
        before = parse_isotime(query["changes-before"], "changes-before")
        if since and parse_isotime(since, "changes-since") > before:
            raise BadRequest("The value of changes-since must be less than or equal to "
                             "changes-before.")
        conditions.append(Instance.updated_at <= before)
    if query.get("status"):
        vm_states = states.vm_states_for_status(query["status"])
        if vm_states is None:
            conditions.append(sa.false())
        else:
            conditions.append(Instance.vm_state.in_(vm_states))
            tasks = states.task_states_for_status(query["status"])
            if tasks:
                conditions.append(Instance.task_state.in_(tasks))
            elif query["status"].upper() == "ACTIVE":
                # A server in a task shown as its own status (REBOOT, ...) is not ACTIVE.
                conditions.append(sa.or_(Instance.task_state.is_(None),
                                         Instance.task_state.not_in(states.TASK_STATUSES)))
    if query.get("image"):
        conditions.append(Instance.image_ref == query["image"].rstrip("/").rsplit("/", 1)[-1])
    if query.get("flavor"):
        flavor_id = query["flavor"].rstrip("/").rsplit("/", 1)[-1]
        conditions.append(Instance.flavor["id"].as_string() == flavor_id)
    if query.get("reservation_id"):
        conditions.append(Instance.reservation_id == query["reservation_id"])
    conditions += _tag_conditions(query)
    exact = {"availability_zone": Instance.availability_zone, "key_name": Instance.key_name,
             "vm_state": Instance.vm_state, "task_state": Instance.task_state,
             "user_id": Instance.user_id}
    if newer_filters or admin_filters:
        for name, column in exact.items():
            if query.get(name):
                conditions.append(column == query[name])
    if admin_filters:
        for name, column in (("host", Instance.host), ("node", Instance.node),
                             ("uuid", Instance.id), ("hostname", Instance.hostname)):
            if query.get(name):
                conditions.append(column == query[name])
        if query.get("locked"):
            value = query["locked"].lower()
            if value not in ("true", "false", "1", "0"):
                raise BadRequest(f"Invalid value {query['locked']!r} for the locked filter: "
                                 "it must be a boolean.")
            conditions.append(Instance.locked.is_(value in ("true", "1")))
    statement = sa.select(Instance).where(*conditions)
    return statement.order_by(*_sort_order(query, admin_filters))


def _tag_conditions(query) -> list:
    conditions = []

    def tags(name: str) -> list[str]:
        return [tag for tag in query.get(name, "").split(",") if tag]

    has_tag = lambda tag: Instance.tags.any(InstanceTag.tag == tag)  # noqa: E731
    if tags("tags"):
        conditions.append(sa.and_(*[has_tag(tag) for tag in tags("tags")]))
    if tags("tags-any"):
        conditions.append(sa.or_(*[has_tag(tag) for tag in tags("tags-any")]))
    if tags("not-tags"):
        conditions.append(sa.not_(sa.and_(*[has_tag(tag) for tag in tags("not-tags")])))
    if tags("not-tags-any"):
        conditions.append(sa.not_(sa.or_(*[has_tag(tag) for tag in tags("not-tags-any")])))
    return conditions


def _sort_order(query, admin: bool) -> list:
    keys = query.getlist("sort_key")
    dirs = query.getlist("sort_dir")
    for direction in dirs:
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort_dir {direction!r}: use asc or desc.")
    order = []
    for index, key in enumerate(keys):
        if key not in SORT_KEYS or (key in ADMIN_SORT_KEYS and not admin):
            raise BadRequest(f"Invalid sort_key {key!r}.")
        direction = dirs[index] if index < len(dirs) else "desc"
        column = SORT_KEYS[key]
        order.append(column.asc() if direction == "asc" else column.desc())
    if not keys:
        direction = dirs[0] if dirs else "desc"
        order = [Instance.created_at.asc() if direction == "asc" else Instance.created_at.desc()]
    # The id last makes the order total, which markers rely on.
    order.append(Instance.id.desc())
    return order


def page(session: orm.Session, statement: sa.Select, *, marker: str | None,
         limit: int | None, name_pattern: str | None = None) -> tuple[list[Instance], bool]:
    """One page of a list: the rows after the marker server, and whether more
    follow.  ``name_pattern`` is Nova's name filter, a regular expression."""
    if marker is None and name_pattern is None:
        if limit is None:
            return list(session.scalars(statement)), False
        rows = list(session.scalars(statement.limit(limit + 1)))
        return rows[:limit], len(rows) > limit
    pairs = session.execute(statement.with_only_columns(Instance.id, Instance.display_name))
    if name_pattern is not None:
        matcher = user_pattern(name_pattern, "name filter")
        ids = [server_id for server_id, name in pairs if matcher.search(name)]
    else:
        ids = [server_id for server_id, _ in pairs]
    start = 0
    if marker is not None:
        try:
            start = ids.index(marker) + 1
        except ValueError:
            raise BadRequest(f"marker [{marker}] not found")
    page_ids = ids[start:] if limit is None else ids[start:start + limit]
    by_id = {row.id: row for row in session.scalars(
        sa.select(Instance).where(Instance.id.in_(page_ids)))}
    return [by_id[server_id] for server_id in page_ids], len(ids) > start + len(page_ids)
