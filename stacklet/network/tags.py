"""Tags on network resources (standard-attr-tag), kept in one table for all."""

from __future__ import annotations

import sqlalchemy as sa

from stacklet.network.models import Tag


def tags_of(session, resource_type: str, ids: list[str]) -> dict[str, list[str]]:
    """Each resource's tags, sorted, for a page of resources at once."""
    found: dict[str, list[str]] = {resource_id: [] for resource_id in ids}
    if not ids:
        return found
    rows = session.execute(sa.select(Tag.resource_id, Tag.tag).where(
        Tag.resource_type == resource_type, Tag.resource_id.in_(ids)).order_by(Tag.tag))
    for resource_id, tag in rows:
        found[resource_id].append(tag)
    return found


def set_tags(session, resource_type: str, resource_id: str, tags: list[str]) -> None:
    session.execute(sa.delete(Tag).where(Tag.resource_type == resource_type,
                                         Tag.resource_id == resource_id))
    session.add_all(Tag(resource_type=resource_type, resource_id=resource_id, tag=tag)
                    for tag in dict.fromkeys(tags))


def add_tag(session, resource_type: str, resource_id: str, tag: str) -> None:
    if session.get(Tag, (resource_type, resource_id, tag)) is None:
        session.add(Tag(resource_type=resource_type, resource_id=resource_id, tag=tag))


def remove_tag(session, resource_type: str, resource_id: str, tag: str) -> bool:
    """Whether the tag was there."""
    result = session.execute(sa.delete(Tag).where(
        Tag.resource_type == resource_type, Tag.resource_id == resource_id, Tag.tag == tag))
    return result.rowcount > 0


def forget(session, resource_type: str, resource_id: str) -> None:
    """Drop a deleted resource's tags."""
    set_tags(session, resource_type, resource_id, [])
