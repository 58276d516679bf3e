"""The storage tests again on PostgreSQL (a throwaway cluster, see conftest.pg_url); skipped without Postgres.

The repo tests are imported from test_repo and run here with `db` overridden by a fresh Postgres database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.migrations import MIGRATIONS
from storage.schema import TABLES
from tests.pg_cluster import new_database
from tests.storage import test_migrations
from tests.storage.test_checkpoint import checkpoint_round_trip, delta_round_trip
from tests.storage.test_db import two_threads_append
from tests.storage.test_repo import *  # noqa: F403 - rerun every repo test against Postgres
from tests.storage.test_documents import *  # noqa: F403 - and the document tests


@pytest.fixture(scope="module")
def pg_shared(pg_url: str) -> Iterator[Database]:
    """One migrated database for the module's repo tests."""
    with new_database(pg_url) as url:
        database = Database(url)
        yield database
        database.close()


@pytest.fixture
def db(pg_shared: Database) -> Iterator[Database]:
    """The shared database, emptied after each test (much cheaper than CREATE DATABASE per test)."""
    yield pg_shared
    names = ", ".join(m.__tablename__ for m in TABLES)  # type: ignore[attr-defined]
    with pg_shared.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} CASCADE"))


@pytest.fixture
def fresh_db(pg_database: str) -> Iterator[Database]:
    """A migrated database of its own, for tests that change the schema."""
    database = Database(pg_database)
    yield database
    database.close()


def test_postgres_schema_matches_the_models(fresh_db: Database) -> None:
    test_migrations.test_migrated_schema_matches_the_models(fresh_db)


def test_postgres_extra_migration_keeps_data(fresh_db: Database) -> None:
    test_migrations.test_extra_migration_keeps_data_and_records_version(fresh_db)


def test_postgres_failed_migration_rolls_back(fresh_db: Database) -> None:
    test_migrations.test_failed_migration_rolls_back_its_ddl(fresh_db)


def test_postgres_dialect_and_psycopg3(db: Database) -> None:
    assert db.dialect == "postgresql" and db.url.startswith("postgresql+psycopg://")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT max(version) FROM schema_version")).scalar() == len(MIGRATIONS)


async def test_postgres_checkpoints_survive_reopen(db: Database) -> None:
    await checkpoint_round_trip(db)


async def test_postgres_planner_messages_are_stored_as_deltas_and_pruned(db: Database) -> None:
    await delta_round_trip(db)


def test_postgres_concurrent_migrations_apply_once(pg_database: str) -> None:
    test_migrations.concurrent_migrations_apply_once(pg_database, engines=3)


def test_postgres_two_threads_append(db: Database) -> None:
    two_threads_append(db, per_thread=20)


def test_postgres_redaction_map_under_concurrent_writers(db: Database, tmp_path: Path) -> None:
    from tests.storage import test_redaction

    test_redaction.test_concurrent_writers_agree_on_placeholders(db, tmp_path)
