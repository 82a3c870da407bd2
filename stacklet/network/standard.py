"""What every network resource shares: finding one by id, Neutron's standard
attributes in views, and the revision every change bumps."""

from __future__ import annotations

import datetime

import sqlalchemy as sa


def find(session, model, resource_id: str, not_found: Exception, *,
         for_update: bool = False):
    """The row of ``model`` with this id, locked for update if asked; raises
    ``not_found`` (the resource's NotFound error) when there is none."""
    query = sa.select(model).where(model.id == resource_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise not_found
    return row


def neutron_time(moment: datetime.datetime | None) -> str | None:
    """Neutron's timestamps: ISO 8601 in UTC, to the second, with a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def standard_view(row, tags: list[str]) -> dict:
    """The attributes every resource shows: ownership and the standard attributes."""
    view = {"id": row.id}
    if hasattr(row, "project_id"):
        view["project_id"] = view["tenant_id"] = row.project_id
    view.update({"description": row.description, "tags": tags,
                 "created_at": neutron_time(row.created_at),
                 "updated_at": neutron_time(row.updated_at),
                 "revision_number": row.revision_number})
    return view


def bump_revision(row) -> None:
    row.revision_number = (row.revision_number or 0) + 1
