"""LangGraph's Postgres checkpoint tables, brought up to date by storage.migrations under its lock.

LangGraph's own setup() keeps its versions in `checkpoint_migrations` and includes CREATE INDEX CONCURRENTLY
statements, which cannot run in a transaction and wait for every other session's snapshot. So it runs on the
migration connection in autocommit mode, after the app's migrations, while the migration lock is held and every
other starting process waits for it without a transaction (storage.migrations.pg_lock).
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def _saver_class() -> type:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
    except ImportError as exc:
        raise ImportError("Postgres needs extra packages: pip install 'k2-agent-hub[postgres]'") from exc
    return PostgresSaver


def checkpoint_tables_current(conn: Connection) -> bool:
    """Whether every LangGraph checkpoint migration this version knows is recorded (no lock needed to ask)."""
    if conn.execute(text("SELECT to_regclass('checkpoint_migrations')")).scalar() is None:
        return False
    have = conn.execute(text("SELECT max(v) FROM checkpoint_migrations")).scalar()
    return have is not None and have >= len(_saver_class().MIGRATIONS) - 1


def setup_checkpoint_tables(conn: Connection) -> None:
    """Run LangGraph's checkpointer setup on conn's PostgreSQL connection, which must be in autocommit mode."""
    raw = conn.connection.driver_connection
    if raw is None or not raw.autocommit:  # type: ignore[union-attr]
        raise ValueError("the checkpointer setup needs an autocommit connection (CREATE INDEX CONCURRENTLY)")
    _saver_class()(raw).setup()  # type: ignore[call-arg]
