"""A server's metadata: key-value pairs the user sets, within the metadata_items quota."""

from __future__ import annotations

from sqlalchemy import orm

from stacklet.common.context import RequestContext
from stacklet.common.errors import NotFound
from stacklet.compute import quotas, servers, states
from stacklet.compute.models import Instance, InstanceMetadata
from stacklet.db import utcnow

# The vm_states in which Nova lets metadata change (and no task may be running).
CHANGEABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)
NOT_FOUND = "Metadata item was not found"


def as_dict(server: Instance) -> dict[str, str]:
    return {item.key: item.value for item in server.metadata_items}


def get_item(server: Instance, key: str) -> str:
    for item in server.metadata_items:
        if item.key == key:
            return item.value
    raise NotFound(NOT_FOUND)


def set_items(session: orm.Session, config, ctx: RequestContext, server: Instance,
              items: dict[str, str], *, replace: bool) -> dict[str, str]:
    """Merge ``items`` into the server's metadata, or (``replace``) make them all of
    it; 409 on a locked or busy server, 403 over the metadata_items quota.
    Returns the metadata now."""
    servers.check_not_locked(ctx, server)
    servers.check_state("update metadata", server, CHANGEABLE)
    wanted = dict(items) if replace else as_dict(server) | items
    quotas.check(session, server.project_id, server.user_id, "metadata_items", len(wanted),
                 config=config, used=0)
    # Rows are changed in place, never deleted and re-added: one flush could
    # otherwise insert a key before deleting the row it replaces.
    for item in list(server.metadata_items):
        if item.key not in wanted:
            server.metadata_items.remove(item)
        else:
            item.value = wanted.pop(item.key)
    server.metadata_items.extend(InstanceMetadata(key=key, value=value)
                                 for key, value in wanted.items())
    server.updated_at = utcnow()
    session.flush()
    return as_dict(server)


def delete_item(ctx: RequestContext, server: Instance, key: str) -> None:
    get_item(server, key)
    servers.check_not_locked(ctx, server)
    servers.check_state("delete metadata", server, CHANGEABLE)
    server.metadata_items = [item for item in server.metadata_items if item.key != key]
    server.updated_at = utcnow()
