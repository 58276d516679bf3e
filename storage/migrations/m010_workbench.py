"""Migration 10: the Runs view lists every run newest first, one page at a time (issue 19)."""

from __future__ import annotations

from sqlalchemy import Connection, text

from storage.migrations import migration


@migration
def m010_workbench(conn: Connection) -> None:
    """runs.started_at indexed: a page of the newest runs reads the index instead of sorting the whole table."""
    conn.execute(text("CREATE INDEX ix_runs_started ON runs (started_at)"))
