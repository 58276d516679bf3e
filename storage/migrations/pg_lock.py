"""The PostgreSQL migration lock: one session-level advisory lock, taken by polling, never waited on in a transaction.

Why polling outside a transaction: LangGraph's checkpointer setup runs CREATE INDEX CONCURRENTLY, which waits for
every other session holding a snapshot. A process blocked in `SELECT pg_advisory_lock(...)` (or inside a
transaction waiting for pg_advisory_xact_lock) holds one, so the lock holder's index build waited for the very
processes that waited for it: a deadlock that crosses the application and PostgreSQL cannot detect. Here a
waiter asks with pg_try_advisory_lock on an autocommit connection and sleeps between tries, holding nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

log = logging.getLogger("storage.migrations")

# Arbitrary 64-bit key: app processes sharing Postgres migrate one at a time.
PG_LOCK_KEY = 0x6B32_6875_625F_6D67  # "k2hub_mg"
_FIRST_POLL_S = 0.05
_MAX_POLL_S = 0.5


class MigrationLockTimeout(RuntimeError):
    """Another process held the migration lock for longer than K2HUB_DB_MIGRATION_WAIT_S."""


def _holder(conn: Connection) -> str:
    """Who holds the lock, for the log: 'backend pid N (application, state)' or 'an unknown session'."""
    row = conn.execute(
        text(
            "SELECT a.pid, a.application_name, a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :hi AND l.objid = :lo LIMIT 1"
        ),
        {"hi": PG_LOCK_KEY >> 32, "lo": PG_LOCK_KEY & 0xFFFF_FFFF},
    ).first()
    return f"backend pid {row.pid} ({row.application_name or '?'}, {row.state})" if row else "an unknown session"


@contextmanager
def migration_lock(conn: Connection, wait_s: float) -> Iterator[None]:
    """Hold the migration lock on `conn` (which must be in AUTOCOMMIT) for the block; wait at most wait_s for it."""
    started = time.monotonic()
    delay = _FIRST_POLL_S
    waited = False
    while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar():
        if not waited:
            log.warning("process %d: another process is migrating the database (%s); waiting for it (at most %g s)",
                        os.getpid(), _holder(conn), wait_s)  # fmt: skip
            waited = True
        if time.monotonic() - started > wait_s:
            raise MigrationLockTimeout(
                f"another process has held the migration lock for more than {wait_s:g} s ({_holder(conn)}): "
                "check that it is still working (pg_stat_activity), or raise K2HUB_DB_MIGRATION_WAIT_S"
            )
        time.sleep(delay)
        delay = min(delay * 2, _MAX_POLL_S)
    if waited:
        log.warning("process %d: the other process's migration finished after %.1f s; continuing",
                    os.getpid(), time.monotonic() - started)  # fmt: skip
    try:
        yield
    finally:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
