"""Numbered schema migrations recorded in the database's `schema_version` table.

Each migration is a small function `mNNN_name(conn)` that runs inside its own transaction; `migrate()` applies
the pending ones in order. Processes starting at once are serialised and each re-reads the applied versions under
the lock, so a migration is applied exactly once. SQLite: `BEGIN IMMEDIATE` (the write lock). PostgreSQL: one
session-level advisory lock on one connection (pg_lock: taken by polling, never waited on inside a transaction),
under which the app's migrations and then LangGraph's checkpointer setup run in that fixed order; a process that
finds another one migrating logs so and continues when it is done.

Migrations describe the schema as it was when written (frozen Core tables, not the live models): a later
migration that adds a column must still apply cleanly on a fresh database. tests/storage checks that the
migrated schema matches storage.schema.TABLES.

Each migration lives in its own module here, `mNNN_<what>.py`, next to nothing else, so features added in
parallel never edit the same file; importing this package imports them all (in version order).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    text,
)

from storage.migrations.pg_lock import PG_LOCK_KEY, migration_lock

__all__ = ["MIGRATIONS", "PG_LOCK_KEY", "Migration", "SchemaTooNew", "current_version", "migrate", "migration"]


@dataclass(frozen=True)
class Migration:
    """One schema step: its version number, a name for the record, and the function that applies it."""

    version: int
    name: str
    apply: Callable[[Connection], None]


MIGRATIONS: list[Migration] = []


def migration(fn: Callable[[Connection], None]) -> Callable[[Connection], None]:
    """Register `fn`, named `mNNN_what_it_does`, as migration NNN (each number once; tests check there are no gaps)."""
    found = re.fullmatch(r"m(\d{3})_(\w+)", fn.__name__)
    if not found:
        raise ValueError(f"migration {fn.__name__!r} must be named mNNN_description")
    version = int(found.group(1))
    if any(m.version == version for m in MIGRATIONS):
        raise ValueError(f"migration {fn.__name__}: number {version} is taken")
    MIGRATIONS.append(Migration(version, found.group(2), fn))
    MIGRATIONS.sort(key=lambda m: m.version)
    return fn


class SchemaTooNew(RuntimeError):
    """Raised by migrate() when the database was migrated by a newer K2 Agent Hub than this one."""


_schema_version = Table(
    "schema_version",
    MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", DateTime, nullable=False),
)


def _transaction(engine: Engine) -> Connection:
    """A SQLite connection whose transaction holds the write lock (the migration lock) once begun."""
    return engine.execution_options(sqlite_begin="IMMEDIATE").connect()


def _applied(conn: Connection) -> set[int]:
    return set(conn.execute(_schema_version.select().with_only_columns(_schema_version.c.version)).scalars())


def _check_engine(engine: Engine) -> None:
    # Python's sqlite3 autocommits DDL and ignores BEGIN IMMEDIATE unless the driver is told to keep out of
    # transactions; storage.db.make_engine does that. Migrating on any other engine would not be atomic.
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        if conn.connection.driver_connection.isolation_level is not None:  # type: ignore[union-attr]
            raise ValueError("migrate() needs an engine from storage.db.make_engine (transactional SQLite)")


def current_version(engine: Engine) -> int:
    """The highest applied migration, 0 for a new database."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "schema_version"):
            return 0
        return max(_applied(conn), default=0)


def migrate(engine: Engine, migrations: Sequence[Migration] | None = None, wait_s: float = 600.0) -> list[int]:
    """Apply pending migrations, each in its own locked transaction; return the versions applied here.

    On PostgreSQL LangGraph's checkpoint tables are brought up to date too, and a process waits at most wait_s
    for another one's migration (MigrationLockTimeout after that).
    """
    migrations = sorted(MIGRATIONS if migrations is None else migrations, key=lambda m: m.version)
    _check_engine(engine)
    known = max((m.version for m in migrations), default=0)
    have = current_version(engine)
    if have > known:
        raise SchemaTooNew(f"database schema is version {have}, this K2 Agent Hub knows up to {known}: upgrade it")
    if engine.dialect.name == "postgresql":
        return _migrate_postgres(engine, migrations, have == known, wait_s)
    if have == known:
        return []  # the common start-up path: no write lock taken
    with _transaction(engine) as conn, conn.begin():
        _schema_version.create(conn, checkfirst=True)
    done: list[int] = []
    for step in migrations:
        with _transaction(engine) as conn, conn.begin():
            if step.version in _applied(conn):
                continue  # another process got there first
            _apply(conn, step)
        done.append(step.version)
    return done


def _apply(conn: Connection, step: Migration) -> None:
    step.apply(conn)
    applied_at = datetime.now(UTC).replace(tzinfo=None)
    conn.execute(_schema_version.insert().values(version=step.version, name=step.name, applied_at=applied_at))


def _migrate_postgres(engine: Engine, migrations: Sequence[Migration], schema_current: bool, wait_s: float) -> list[int]:
    """Migrations, then LangGraph's checkpointer setup, on one connection under one lock (see pg_lock)."""
    from storage.checkpoint_schema import checkpoint_tables_current

    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        if schema_current and checkpoint_tables_current(conn):
            return []  # the common start-up path: no lock taken
        # A migration may build an index on a big table: no statement limit here (lock waits keep theirs), and
        # the connection goes back to the pool with the session's own limit.
        conn.execute(text("SET statement_timeout = 0"))
        try:
            done = _locked_postgres_steps(conn, migrations, wait_s)
        finally:
            conn.execute(text("RESET statement_timeout"))
    return done


def _locked_postgres_steps(conn: Connection, migrations: Sequence[Migration], wait_s: float) -> list[int]:
    from storage.checkpoint_schema import setup_checkpoint_tables

    done: list[int] = []
    with migration_lock(conn, wait_s):
        conn.commit()  # ends SQLAlchemy's autobegun (in AUTOCOMMIT: empty) transaction, so the level can change
        conn.execution_options(isolation_level="READ COMMITTED")
        try:
            with conn.begin():
                _schema_version.create(conn, checkfirst=True)
            for step in migrations:
                with conn.begin():
                    if step.version in _applied(conn):
                        continue  # another process got there first
                    _apply(conn, step)
                done.append(step.version)
        finally:
            # Back to autocommit even after a failed step, so the unlock and RESET that follow take effect at once.
            conn.rollback()
            conn.execution_options(isolation_level="AUTOCOMMIT")
        setup_checkpoint_tables(conn)
    return done


def _load_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if re.fullmatch(r"m\d{3}_\w+", info.name):
            importlib.import_module(f"{__name__}.{info.name}")


_load_all()
