"""The database: engine, sessions, declarative base and migrations.

Every service keeps its tables on the one ``Base``; Alembic migrations under
``stacklet/db/migrations`` create them and are applied on every start.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event, orm
from sqlalchemy.dialects import mysql

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Base(orm.DeclarativeBase):
    # Timestamps keep microseconds on every database: MySQL and MariaDB
    # DATETIME would drop them, and revocation compares issue times finely.
    type_annotation_map = {
        datetime.datetime: sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
    }


def utcnow() -> datetime.datetime:
    """Naive UTC now: the form every timestamp column stores."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while a writer commits; busy_timeout makes
    # concurrent writers wait for the lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class DatabaseCharsetError(RuntimeError):
    """A MySQL/MariaDB database whose tables cannot hold every character."""


def _use_utf8mb4(connection: sa.Connection) -> None:
    """MySQL and MariaDB create databases in latin1 unless told otherwise, and
    their "utf8" holds no character beyond the BMP: a name with an emoji or a
    rarer CJK character would then fail in the database (a 500) instead of
    being stored.  An empty database is switched to utf8mb4 before the first
    table is made; one whose tables were made otherwise is refused with how to
    convert it."""
    charset = connection.scalar(sa.text("SELECT @@character_set_database"))
    if charset == "utf8mb4":
        return
    if sa.inspect(connection).get_table_names():
        name = connection.scalar(sa.text("SELECT DATABASE()"))
        raise DatabaseCharsetError(
            f"the database {name} uses the {charset} character set, which cannot hold every "
            "character users may give: convert it and each of its tables to utf8mb4 "
            f"(ALTER DATABASE {name} CHARACTER SET utf8mb4; ALTER TABLE <each table> "
            "CONVERT TO CHARACTER SET utf8mb4), or start from a database created with "
            "CHARACTER SET utf8mb4")
    connection.execute(sa.text(
        "ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"))


@contextlib.contextmanager
def savepoint(session: orm.Session) -> Iterator[None]:
    """A nested transaction around an insert that a concurrent transaction may
    also make, so its IntegrityError can be caught and the outer transaction
    go on.  Only PostgreSQL and MariaDB need it: SQLite has one writer at a
    time (and pysqlite's savepoints are unreliable)."""
    if session.get_bind().dialect.name == "sqlite":
        yield
    else:
        with session.begin_nested():
            yield


class Database:
    """An engine and the sessions made from it."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url)
        self._sessionmaker = orm.sessionmaker(self.engine, expire_on_commit=False)
        # SQLite allows one writer; serialising writers in-process avoids
        # SQLITE_BUSY upgrades from read to write transactions.
        self._write_lock = threading.Lock() if url.startswith("sqlite") else None

    @contextlib.contextmanager
    def session(self) -> Iterator[orm.Session]:
        """A read-only unit of work (rolled back at the end)."""
        with self._sessionmaker() as session:
            yield session

    @contextlib.contextmanager
    def transaction(self) -> Iterator[orm.Session]:
        """A unit of work committed at the end, rolled back on any error."""
        lock = self._write_lock or contextlib.nullcontext()
        with lock, self._sessionmaker() as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as connection:
            if connection.dialect.name in ("mysql", "mariadb"):
                _use_utf8mb4(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def describe(self) -> str:
        """The URL with any password hidden, for status output."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()
