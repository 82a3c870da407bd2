"""Finding migrations (resizes, cold and live migrations) for os-migrations."""

from __future__ import annotations

import dataclasses
import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from stacklet.compute.models import Flavor, Migration

LIVE_MIGRATION = "live-migration"
# A live migration in one of these can still be followed (and aborted) through
# /servers/{id}/migrations/{id}, so Nova links to it.
LIVE_MIGRATION_IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")


@dataclasses.dataclass
class MigrationFilter:
    host: str | None = None
    status: str | None = None
    instance_uuid: str | None = None
    source_compute: str | None = None
    migration_type: str | None = None
    hide_live_migrations: bool = False
    changes_since: datetime.datetime | None = None
    changes_before: datetime.datetime | None = None
    user_id: str | None = None
    project_id: str | None = None


def list_migrations(session: Session, wanted: MigrationFilter, *,
                    newest_first: bool) -> list[Migration]:
    query = sa.select(Migration)
    if wanted.host is not None:
        query = query.where(sa.or_(Migration.source_compute == wanted.host,
                                   Migration.dest_compute == wanted.host))
    for column, value in ((Migration.status, wanted.status),
                          (Migration.instance_id, wanted.instance_uuid),
                          (Migration.source_compute, wanted.source_compute),
                          (Migration.migration_type, wanted.migration_type),
                          (Migration.user_id, wanted.user_id),
                          (Migration.project_id, wanted.project_id)):
        if value is not None:
            query = query.where(column == value)
    if wanted.hide_live_migrations:
        query = query.where(Migration.migration_type != LIVE_MIGRATION)
    if wanted.changes_since is not None:
        query = query.where(Migration.updated_at >= wanted.changes_since)
    if wanted.changes_before is not None:
        query = query.where(Migration.updated_at <= wanted.changes_before)
    order = ((Migration.created_at.desc(), Migration.id.desc()) if newest_first
             else (Migration.id.asc(),))
    return list(session.scalars(query.order_by(*order)))


def flavor_keys(session: Session, flavor_ids: set[str]) -> dict[str, int]:
    """The integer keys of flavors (what Nova shows as instance type ids)."""
    if not flavor_ids:
        return {}
    return dict(session.execute(sa.select(Flavor.id, Flavor.pk).where(
        Flavor.id.in_(flavor_ids))).all())


def is_live_in_progress(migration: Migration) -> bool:
    return (migration.migration_type == LIVE_MIGRATION
            and migration.status in LIVE_MIGRATION_IN_PROGRESS)
