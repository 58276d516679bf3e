"""The database: one engine per URL (SQLite WAL by default, Postgres via psycopg 3), sessions, migrations."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from storage.migrations import migrate
from storage.paths import default_database_url
from storage.postgres import PgLimits, engine_kwargs, explain_timeouts

BUSY_TIMEOUT_MS = 5000
"""How long a SQLite writer waits for another one (thread or process) before 'database is locked'."""


def normalize_url(url: str) -> URL:
    """Parse `url`; any postgres:// or postgresql+driver:// becomes postgresql+psycopg (psycopg 3)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend != "sqlite":
        raise ValueError(f"unsupported database URL {parsed.render_as_string()!r}: use sqlite:/// or postgresql://")
    return parsed


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Take transaction control away from Python's sqlite3 module: it would autocommit DDL and never emit
    # BEGIN IMMEDIATE. _sqlite_begin then starts every transaction itself.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # busy_timeout first, so that switching a fresh file to WAL waits for a concurrent opener.
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _enable_wal(cur)
    cur.execute("PRAGMA foreign_keys = ON")
    # NORMAL is durable across application crashes in WAL mode; only a power loss may drop the last commits.
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def _enable_wal(cur: Any) -> None:
    # Switching a fresh file to WAL needs an exclusive lock, and SQLite may answer "database is locked" at once
    # instead of calling the busy handler when several processes open the new file together: retry briefly.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_begin(conn: Any) -> None:
    # Writers use BEGIN IMMEDIATE: a deferred transaction that reads then writes cannot wait for the lock
    # (SQLite returns 'database is locked' at once when its snapshot is stale), an immediate one can.
    conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'DEFERRED')}")


def make_engine(url: str, limits: PgLimits | None = None) -> Engine:
    """An engine for `url`, configured for several threads and processes (PostgreSQL: see storage.postgres)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        limits = limits or PgLimits.from_env()
        engine = create_engine(parsed, **engine_kwargs(limits))
        explain_timeouts(engine, limits)
        return engine
    memory = parsed.database in (None, "", ":memory:")
    engine = create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        # An in-memory database lives in one connection: share it, or each thread would see an empty one.
        poolclass=StaticPool if memory else None,
    )
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


class Database:
    """The app's database: `session()` for every read and write; pending migrations run on creation."""

    def __init__(self, url: str | None = None) -> None:
        self.url: str = normalize_url(url or default_database_url()).render_as_string(hide_password=False)
        self.limits = PgLimits.from_env()
        self.engine: Engine = make_engine(self.url, self.limits)
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        migrate(self.engine, wait_s=self.limits.migration_wait_s)

    @property
    def dialect(self) -> Literal["sqlite", "postgresql"]:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name  # type: ignore[return-value]

    @contextmanager
    def session(self, write: bool = True) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises.

        write=False is for read-only blocks: on SQLite it does not take the write lock.
        Objects stay usable after the block (no expiry on commit).
        """
        with Session(self._writer if write else self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection in a write transaction, for hot paths where an ORM session costs too much."""
        with self._writer.begin() as conn:
            yield conn

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({normalize_url(self.url).render_as_string()!r})"
