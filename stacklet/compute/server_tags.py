"""A server's tags (2.26): short strings the user lists servers by."""

from __future__ import annotations

import re

from sqlalchemy import orm

from stacklet.common.errors import BadRequest, NotFound
from stacklet.compute import servers, states
from stacklet.compute.models import Instance, InstanceTag
from stacklet.compute.subresource_schemas import MAX_TAGS
from stacklet.db import utcnow

# Nova changes tags only on servers in these vm_states (a building server's tags
# come with its create request, 2.52).
CHANGEABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)
_VALID_TAG = re.compile(r"[^,/]{1,60}")


def names(server: Instance) -> list[str]:
    return [tag.tag for tag in server.tags]


def check_exists(server: Instance, tag: str) -> None:
    if tag not in names(server):
        raise NotFound(f"Server {server.id} has no tag '{tag}'")


def add(server: Instance, tag: str) -> bool:
    """Tag the server; False when it already had the tag."""
    servers.check_state("update tag", server, CHANGEABLE, task_states=None)
    if not _VALID_TAG.fullmatch(tag):
        raise BadRequest(f"Tag '{tag}' is invalid. It must be a non empty string of at most "
                         "60 characters without characters '/' and ','.")
    if len(server.tags) >= MAX_TAGS:
        raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    if tag in names(server):
        return False
    server.tags.append(InstanceTag(tag=tag))
    server.updated_at = utcnow()
    return True


def replace(session: orm.Session, server: Instance, tags: list[str]) -> list[str]:
    servers.check_state("update tags", server, CHANGEABLE, task_states=None)
    wanted = list(dict.fromkeys(tags))
    # Kept tags stay as they are: one flush could otherwise insert a tag
    # before deleting the row it replaces.
    server.tags = [tag for tag in server.tags if tag.tag in wanted]
    kept = set(names(server))
    server.tags.extend(InstanceTag(tag=tag) for tag in wanted if tag not in kept)
    server.updated_at = utcnow()
    session.flush()
    return names(server)


def remove(server: Instance, tag: str) -> None:
    servers.check_state("delete tag", server, CHANGEABLE, task_states=None)
    check_exists(server, tag)
    server.tags = [row for row in server.tags if row.tag != tag]
    server.updated_at = utcnow()


def remove_all(server: Instance) -> None:
    servers.check_state("delete tags", server, CHANGEABLE, task_states=None)
    server.tags = []
    server.updated_at = utcnow()
