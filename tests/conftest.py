"""Fixtures: a fresh Stacklet (database, keys, bootstrap) per test, driven over HTTP.

Set STACKLET_TEST_DATABASE_URL to a PostgreSQL (or MariaDB) server URL to run
every test against that database instead of SQLite; each test process then
has a database of its own, emptied before each test.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from stacklet import config as config_module
from stacklet.app import create_app
from stacklet.cli import prepare
from stacklet.cloud import Cloud
from stacklet.db import Database

ADMIN_PASSWORD = "s3cret-admin"
SERVER_DB = os.environ.get("STACKLET_TEST_DATABASE_URL")


# One database per test process, emptied before each test: migrating a new
# database for every test took most of the MariaDB phase's time.
_WORKER_DATABASE = f"stacklet_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
# The rows the migrations themselves write (Glance's built-in metadef resource
# types...), put back after each emptying: {table: rows}, once it is made.
_migration_rows: dict[sa.Table, list[dict]] | None = None


def _fresh_database_url(tmp_path: Path) -> str:
    global _migration_rows
    if not SERVER_DB:
        return f"sqlite:///{tmp_path / 'stacklet.db'}"
    url = sa.engine.make_url(SERVER_DB).set(database=_WORKER_DATABASE)
    if _migration_rows is None:
        # Made plainly (MariaDB then makes it latin1): migrating must switch it
        # to utf8mb4 itself, as on an operator's new database.
        engine = sa.create_engine(SERVER_DB, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {_WORKER_DATABASE}"))
            connection.execute(sa.text(f"CREATE DATABASE {_WORKER_DATABASE}"))
        engine.dispose()
        _migration_rows = _migrate_and_keep_its_rows(url)
    else:
        _empty_database(url, _migration_rows)
    return url.render_as_string(hide_password=False)


def _migrate_and_keep_its_rows(url: sa.engine.URL) -> dict[sa.Table, list[dict]]:
    database = Database(url.render_as_string(hide_password=False))
    database.migrate()
    metadata = sa.MetaData()
    metadata.reflect(database.engine)
    kept = {}
    with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            key = list(table.primary_key.columns)
            rows = [dict(row._mapping) for row in
                    connection.execute(table.select().order_by(*key))]
            if not rows or table.name == "alembic_version":
                continue
            # A counter key is left to the database, which counts again from 1
            # in the same order: explicit values would leave its counter behind.
            if len(key) == 1 and isinstance(key[0].type, sa.Integer):
                rows = [{name: value for name, value in row.items() if name != key[0].name}
                        for row in rows]
            kept[table] = rows
    database.dispose()
    return kept


def _empty_database(url: sa.engine.URL, migration_rows: dict[sa.Table, list[dict]]) -> None:
    """Every row gone and every counter back at 1, the schema kept, and the rows
    the migrations wrote back in place."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tables = [name for name in sa.inspect(connection).get_table_names()
                  if name != "alembic_version"]
        if connection.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            connection.execute(sa.text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            connection.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
            for name in tables:
                connection.execute(sa.text(f"DELETE FROM `{name}`"))
            counted = connection.scalars(sa.text(
                "SELECT table_name FROM information_schema.tables WHERE "
                "table_schema = DATABASE() AND auto_increment > 1")).all()
            for name in counted:
                connection.execute(sa.text(f"ALTER TABLE `{name}` AUTO_INCREMENT = 1"))
            connection.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))
        for table, rows in migration_rows.items():
            connection.execute(table.insert(), rows)
    engine.dispose()


class Api:
    """An HTTP client on one Stacklet, with helpers for identity."""

    def __init__(self, client: TestClient, cloud: Cloud):
        self.client = client
        self.cloud = cloud
        self.admin_token = self.token("admin", ADMIN_PASSWORD, project="admin")

    def request(self, method: str, path: str, token: str | None = None, json=None,
                headers: dict | None = None, **kwargs):
        headers = dict(headers or {})
        if token is not None:
            headers["X-Auth-Token"] = token
        # As openstacksdk and Tempest ask (Glance's errors follow Accept).
        if "accept" not in {name.lower() for name in headers}:
            headers["Accept"] = "application/json"
        return self.client.request(method, path, json=json, headers=headers, **kwargs)

    def get(self, path, token=None, **kw):
        return self.request("GET", path, token, **kw)

    def post(self, path, json=None, token=None, **kw):
        return self.request("POST", path, token, json=json, **kw)

    def patch(self, path, json=None, token=None, **kw):
        return self.request("PATCH", path, token, json=json, **kw)

    def put(self, path, json=None, token=None, **kw):
        return self.request("PUT", path, token, json=json, **kw)

    def delete(self, path, token=None, **kw):
        return self.request("DELETE", path, token, **kw)

    def head(self, path, token=None, **kw):
        return self.request("HEAD", path, token, **kw)

    # -- identity helpers ---------------------------------------------------------

    def auth(self, user: str, password: str, *, project: str | None = None,
             domain: str | None = None, system: bool = False, user_domain: str = "Default",
             project_domain: str = "Default"):
        """POST /v3/auth/tokens with the password method; returns the response."""
        scope = None
        if project is not None:
            scope = {"project": {"name": project, "domain": {"name": project_domain}}}
        elif domain is not None:
            scope = {"domain": {"name": domain}}
        elif system:
            scope = {"system": {"all": True}}
        body = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": user, "domain": {"name": user_domain}, "password": password}}}}}
        if scope is not None:
            body["auth"]["scope"] = scope
        return self.post("/identity/v3/auth/tokens", json=body)

    def token(self, user: str, password: str, **scope) -> str:
        response = self.auth(user, password, **scope)
        assert response.status_code == 201, response.text
        return response.headers["X-Subject-Token"]

    def admin(self, method: str, path: str, json=None, expect: int | None = None):
        """A request as the cloud admin to /identity/v3<path>; checks the status if given."""
        response = self.request(method, f"/identity/v3{path}", self.admin_token, json=json)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response

    def make_user(self, name: str | None = None, password: str = "pass-word-1",
                  project: str | None = None, role: str = "member") -> dict:
        """Create a user (and optionally give it a role on a new project); returns
        {"id", "name", "password", "project_id", "project"}."""
        name = name or f"user-{uuid.uuid4().hex[:8]}"
        user = self.admin("POST", "/users", {"user": {
            "name": name, "password": password, "domain_id": "default"}}, expect=201).json()
        result = {"id": user["user"]["id"], "name": name, "password": password}
        if project is not None:
            found = self.admin("GET", f"/projects?name={project}", expect=200).json()["projects"]
            if found:
                project_id = found[0]["id"]
            else:
                project_id = self.admin("POST", "/projects", {"project": {
                    "name": project, "domain_id": "default"}}, expect=201).json()["project"]["id"]
            role_id = self.admin("GET", f"/roles?name={role}", expect=200).json()["roles"][0]["id"]
            self.admin("PUT", f"/projects/{project_id}/users/{result['id']}/roles/{role_id}",
                       expect=204)
            result.update(project_id=project_id, project=project)
        return result


@pytest.fixture
def config_overrides() -> dict:
    """Options a test module sets for its Stacklet: {(section, name): value}.
    Override this fixture to test a non-default configuration."""
    return {}


@pytest.fixture
def stacklet_config(tmp_path: Path, config_overrides: dict):
    url = _fresh_database_url(tmp_path)
    config = config_module.load(tmp_path / "data", overrides={
        ("database", "url"): url,
        # The lowest bcrypt cost keeps the suite fast; the end-to-end test and
        # the benchmark use the default cost.
        ("identity", "password_hash_rounds"): 4,
        # Servers are rows: the QEMU driver has tests of its own.
        ("compute", "driver"): "fake",
        # Ports are rows: the data plane's tests (marked dataplane) turn it on.
        ("network", "dataplane"): "off",
        # Each test cloud's signed metadata listener on a port of its own.
        ("compute", "metadata_listen"): "127.0.0.1:0",
        **config_overrides,
    }, environ={})
    prepare(config, ADMIN_PASSWORD)
    yield config


@pytest.fixture
def cloud(stacklet_config):
    cloud = Cloud(stacklet_config)
    yield cloud
    cloud.close()


@pytest.fixture
def api(cloud) -> Api:
    with TestClient(create_app(cloud), base_url="http://stacklet.test") as client:
        yield Api(client, cloud)


def pytest_terminal_summary(terminalreporter) -> None:
    """Print what tests recorded as their ``coverage`` (route fuzzing says how many
    routes and requests it covered); user properties come back from xdist workers
    with the reports."""
    lines = [value for reports in terminalreporter.stats.values() for report in reports
             if getattr(report, "when", None) == "call"
             for name, value in getattr(report, "user_properties", ()) if name == "coverage"]
    if lines:
        terminalreporter.section("coverage")
        for line in sorted(lines):
            terminalreporter.write_line(line)
