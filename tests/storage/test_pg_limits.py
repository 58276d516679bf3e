"""PostgreSQL connection hygiene: a lock held too long fails loudly, a start waits for another's migration and says
so, the pool and session limits are what the README says. Skipped without PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import text

from storage import repo
from storage.db import Database
from storage.migrations.pg_lock import PG_LOCK_KEY, MigrationLockTimeout
from storage.postgres import DatabaseTimeout
from tests.pg_cluster import admin_connection


def _session(url: str):  # type: ignore[no-untyped-def]
    """Another session on the same database (autocommit psycopg), as another process would hold one."""
    return admin_connection(url)


def test_a_lock_held_too_long_is_a_clear_error_not_a_hang(pg_database: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("K2HUB_DB_LOCK_TIMEOUT_S", "0.5")
    db = Database(pg_database)
    other = _session(pg_database)
    try:
        other.execute("BEGIN")
        other.execute("LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE")  # e.g. a stuck process or a manual fix
        started = time.monotonic()
        with pytest.raises(DatabaseTimeout) as caught:
            repo.create_conversation(db, "blocked")
        assert time.monotonic() - started < 10
        message = str(caught.value)
        assert "waited more than 0.5 s for a lock" in message and "K2HUB_DB_LOCK_TIMEOUT_S" in message
        assert "conversations" in message  # the statement that waited
        other.execute("ROLLBACK")
        assert repo.create_conversation(db, "free again").title == "free again"  # the pool recovered
    finally:
        other.close()
        db.close()


def test_a_statement_running_too_long_is_cancelled_with_a_clear_error(pg_database: str,
                                                                      monkeypatch: pytest.MonkeyPatch):  # fmt: skip
    monkeypatch.setenv("K2HUB_DB_STATEMENT_TIMEOUT_S", "0.3")
    db = Database(pg_database)
    try:
        with pytest.raises(DatabaseTimeout, match="ran longer than 0.3 s"), db.engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
    finally:
        db.close()


def test_every_connection_carries_the_limits_and_the_pool_is_bounded(pg_database: str,
                                                                      monkeypatch: pytest.MonkeyPatch):  # fmt: skip
    monkeypatch.setenv("K2HUB_DB_POOL_SIZE", "3")
    monkeypatch.setenv("K2HUB_DB_LOCK_TIMEOUT_S", "7")
    db = Database(pg_database)
    try:
        with db.engine.connect() as conn:
            shown = {name: conn.execute(text(f"SHOW {name}")).scalar()
                     for name in ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")}  # fmt: skip
            app = conn.execute(text("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"))
            assert app.scalar().startswith("k2hub-")
        assert shown == {"lock_timeout": "7s", "statement_timeout": "5min", "idle_in_transaction_session_timeout": "1min"}
        assert db.engine.pool.size() == 3 and db.engine.pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        db.close()


def test_a_start_waits_for_another_process_migration_says_so_and_proceeds(
    pg_database: str, caplog: pytest.LogCaptureFixture
):
    other = _session(pg_database)
    other.execute("SELECT pg_advisory_lock(%s)", (PG_LOCK_KEY,))  # another process is migrating
    opened: list[Database] = []
    starter = threading.Thread(target=lambda: opened.append(Database(pg_database)))
    with caplog.at_level(logging.WARNING, logger="storage.migrations"):
        starter.start()
        deadline = time.monotonic() + 30
        while "waiting for it" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "another process is migrating the database" in caplog.text
        assert not opened  # it really waits
        other.execute("SELECT pg_advisory_unlock(%s)", (PG_LOCK_KEY,))
        starter.join(30)
    other.close()
    assert opened and "finished after" in caplog.text
    with opened[0].engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM checkpoint_migrations")).scalar() > 0
    opened[0].close()


def test_a_migration_lock_held_too_long_is_a_clear_error(pg_database: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("K2HUB_DB_MIGRATION_WAIT_S", "0.5")
    other = _session(pg_database)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", (PG_LOCK_KEY,))
        pid = other.info.backend_pid
        with pytest.raises(MigrationLockTimeout, match=f"backend pid {pid}.*K2HUB_DB_MIGRATION_WAIT_S"):
            Database(pg_database)
    finally:
        other.close()


def test_a_failed_migration_releases_the_lock_and_restores_the_session_limits(pg_database: str):
    from sqlalchemy import Connection

    from storage.migrations import MIGRATIONS, Migration, migrate

    db = Database(pg_database)

    def m999_broken(conn: Connection) -> None:
        raise RuntimeError("this migration fails")

    try:
        with pytest.raises(RuntimeError, match="this migration fails"):
            migrate(db.engine, [*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "broken", m999_broken)])
        held = [db.engine.connect() for _ in range(db.limits.pool_size)]  # the migration's connection among them
        try:
            assert {c.execute(text("SHOW statement_timeout")).scalar() for c in held} == {"5min"}
        finally:
            for conn in held:
                conn.close()
        other = _session(pg_database)
        try:
            assert other.execute("SELECT pg_try_advisory_lock(%s)", (PG_LOCK_KEY,)).fetchone()[0] is True
        finally:
            other.close()
    finally:
        db.close()


def test_the_limits_have_the_defaults_and_sources_of_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path):
    from mcp_servers.common.settings import ServerSettings
    from storage.postgres import PgLimits

    fields = ServerSettings.model_fields
    limits = PgLimits()
    assert (limits.pool_size, limits.pool_timeout_s, limits.lock_timeout_s, limits.statement_timeout_s,
            limits.idle_in_transaction_s, limits.migration_wait_s) == tuple(
        fields[f"db_{n}"].default for n in ("pool_size", "pool_timeout_s", "lock_timeout_s", "statement_timeout_s",
                                            "idle_in_transaction_s", "migration_wait_s"))  # fmt: skip
    home = tmp_path / "home"
    home.mkdir()
    (home / ".env").write_text("K2HUB_DB_LOCK_TIMEOUT_S=4\nK2HUB_DB_POOL_SIZE=2\n")
    (home / ".env").chmod(0o600)
    monkeypatch.setenv("K2HUB_HOME", str(home))
    monkeypatch.setenv("K2HUB_DB_POOL_SIZE", "3")  # the environment wins over .env, as for every setting
    read = PgLimits.from_env()
    assert (read.lock_timeout_s, read.pool_size) == (4.0, 3)
    assert ServerSettings.load().db_lock_timeout_s == 4.0 and ServerSettings.load().db_pool_size == 3
