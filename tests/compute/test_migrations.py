"""os-migrations: filters, the fields each microversion adds, pages, links."""

from __future__ import annotations

import datetime

import pytest

from stacklet.compute.models import Migration
from tests.compute.helpers import add_instance


def add_migration(api, instance_id, created_at, **fields) -> Migration:
    values = dict(instance_id=instance_id, status="finished", source_compute="cmp1",
                  dest_compute="cmp2", source_node="cmp1.example", dest_node="cmp2.example",
                  dest_host="10.0.0.2", old_flavor_id="1", new_flavor_id="2",
                  project_id="p", user_id="u", created_at=created_at, updated_at=created_at)
    values.update(fields)
    with api.cloud.db.transaction() as session:
        migration = Migration(**values)
        session.add(migration)
        session.flush()
        return migration


@pytest.fixture
def migrations(api, alice):
    server = add_instance(api, alice.project_id, alice.user_id)
    day = datetime.datetime(2030, 1, 1)
    return [
        add_migration(api, server, day, project_id=alice.project_id),
        add_migration(api, server, day.replace(hour=1), status="running",
                      migration_type="live-migration", dest_compute="cmp3"),
        add_migration(api, "other", day.replace(hour=2), status="error",
                      migration_type="migration", source_compute="cmp3"),
    ]


def listed(admin, query="", microversion="2.1"):
    response = admin.get(f"/os-migrations{query}", microversion)
    assert response.status_code == 200, response.text
    return response.json()


def test_views_by_microversion(admin, alice, migrations):
    old = listed(admin)["migrations"]
    # Live migrations appear from 2.23.
    assert [m["id"] for m in old] == [migrations[0].id, migrations[2].id]
    assert old[0]["old_instance_type_id"] == 1 and old[0]["new_instance_type_id"] == 2
    assert "migration_type" not in old[0] and "uuid" not in old[0]
    with_types = listed(admin, microversion="2.23")["migrations"]
    live = next(m for m in with_types if m["migration_type"] == "live-migration")
    assert live["links"][0]["href"].endswith(
        f"/v2.1/servers/{migrations[1].instance_id}/migrations/{migrations[1].id}")
    assert all("links" not in m for m in with_types if m is not live)
    newest = listed(admin, microversion="2.80")["migrations"]
    # Newest first from 2.59.
    assert [m["uuid"] for m in newest] == [m.uuid for m in reversed(migrations)]
    assert newest[-1]["project_id"] == alice.project_id and newest[-1]["user_id"] == "u"
    assert alice.get("/os-migrations").status_code == 403


def test_filters(admin, alice, migrations):
    def ids(query, microversion="2.80"):
        return {m["id"] for m in listed(admin, query, microversion)["migrations"]}

    first, live, failed = (m.id for m in migrations)
    assert ids("?host=cmp3") == {live, failed}
    assert ids("?status=error") == {failed}
    assert ids(f"?instance_uuid={migrations[0].instance_id}") == {first, live}
    assert ids("?migration_type=live-migration") == {live}
    assert ids("?changes-since=2030-01-01T00:30:00Z") == {live, failed}
    assert ids("?changes-before=2030-01-01T00:30:00Z") == {first}
    assert ids(f"?project_id={alice.project_id}") == {first}
    assert admin.get("/os-migrations?changes-since=soon", "2.59").status_code == 400
    assert admin.get("/os-migrations?user_id=u", "2.79").status_code == 400
    assert admin.get("/os-migrations?color=red").status_code == 200
    assert admin.get("/os-migrations?changes-since=2030-01-02T00:00:00Z"
                     "&changes-before=2030-01-01T00:00:00Z", "2.66").status_code == 400


def test_pages(admin, migrations):
    first = listed(admin, "?limit=2", "2.59")
    assert [m["uuid"] for m in first["migrations"]] == [migrations[2].uuid, migrations[1].uuid]
    assert f"marker={migrations[1].uuid}" in first["migrations_links"][0]["href"]
    rest = listed(admin, f"?marker={migrations[1].uuid}", "2.59")
    assert [m["uuid"] for m in rest["migrations"]] == [migrations[0].uuid]
    assert "migrations_links" not in rest
    assert admin.get("/os-migrations?marker=nope", "2.59").status_code == 400
