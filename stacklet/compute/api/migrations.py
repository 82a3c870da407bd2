"""/os-migrations: every migration and resize in the cloud (admin)."""

from __future__ import annotations

from stacklet.common.api import ApiRequest, RouteTable
from stacklet.common.errors import BadRequest
from stacklet.common.pagination import paginate
from stacklet.common.timeutils import parse_isotime
from stacklet.compute import migration_records
from stacklet.compute.api.common import (
    collection_links,
    nova_time,
    page_request,
    reject_unknown_query,
    resource_links,
)
from stacklet.compute.migration_records import MigrationFilter
from stacklet.compute.models import Migration

routes = RouteTable()


_FILTERS = {"host", "status", "instance_uuid", "source_compute", "migration_type"}


def _filter(req: ApiRequest) -> MigrationFilter:
    query, version = req.query, req.version
    if version.matches("2.59"):
        allowed = _FILTERS | {"changes-since", "limit", "marker"}
        if version.matches("2.66"):
            allowed.add("changes-before")
        if version.matches("2.80"):
            allowed |= {"user_id", "project_id"}
        reject_unknown_query(req, allowed)
    wanted = MigrationFilter(host=query.get("host"), status=query.get("status"),
                             instance_uuid=query.get("instance_uuid"),
                             source_compute=query.get("source_compute"))
    if version.matches("2.23"):
        wanted.migration_type = query.get("migration_type")
    else:
        # Live migrations were listed only once they could be told apart (2.23).
        wanted.hide_live_migrations = True
    if version.matches("2.59") and "changes-since" in query:
        wanted.changes_since = parse_isotime(query["changes-since"], "changes-since")
    if version.matches("2.66") and "changes-before" in query:
        wanted.changes_before = parse_isotime(query["changes-before"], "changes-before")
    if (wanted.changes_since and wanted.changes_before
            and wanted.changes_since > wanted.changes_before):
        raise BadRequest("The value of changes-since must be less than or equal to "
                         "changes-before.")
    if version.matches("2.80"):
        wanted.user_id = query.get("user_id")
        wanted.project_id = query.get("project_id")
    return wanted


def migration_view(req: ApiRequest, migration: Migration, flavor_keys: dict) -> dict:
    view = {
        "id": migration.id, "status": migration.status,
        "instance_uuid": migration.instance_id,
        "source_node": migration.source_node, "source_compute": migration.source_compute,
        "dest_node": migration.dest_node, "dest_compute": migration.dest_compute,
        "dest_host": migration.dest_host,
        "old_instance_type_id": flavor_keys.get(migration.old_flavor_id),
        "new_instance_type_id": flavor_keys.get(migration.new_flavor_id),
        "created_at": nova_time(migration.created_at),
        "updated_at": nova_time(migration.updated_at),
    }
    if req.version.matches("2.23"):
        view["migration_type"] = migration.migration_type
        if migration_records.is_live_in_progress(migration):
            view["links"] = resource_links(
                req, f"servers/{migration.instance_id}/migrations", str(migration.id))
    if req.version.matches("2.59"):
        view["uuid"] = migration.uuid
    if req.version.matches("2.80"):
        view["user_id"] = migration.user_id
        view["project_id"] = migration.project_id
    return view


@routes.route("/v2.1/os-migrations", "GET")
def list_migrations(req: ApiRequest):
    req.authorize("os_compute_api:os-migrations:index")
    paged = req.version.matches("2.59")
    with req.cloud.db.session() as session:
        found = migration_records.list_migrations(session, _filter(req), newest_first=paged)
        more = False
        if paged:
            found, more = paginate(found, page_request(req), key=lambda m: m.uuid)
        flavor_ids = {m.old_flavor_id for m in found} | {m.new_flavor_id for m in found}
        flavor_keys = migration_records.flavor_keys(session, flavor_ids - {None})
        body = {"migrations": [migration_view(req, m, flavor_keys) for m in found]}
    links = collection_links(req, "/os-migrations", more, found[-1].uuid if found else None)
    if links:
        body["migrations_links"] = links
    return body
