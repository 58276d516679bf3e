"""Migration 9: a skill installed from outside the built-ins is untrusted until the user marks it trusted (issue 13)."""

from __future__ import annotations

from sqlalchemy import Connection, text

from storage.migrations import migration


@migration
def m009_skill_trust(conn: Connection) -> None:
    """skills.trusted: its text reaches the model as instructions (true) or as fenced untrusted content (false)."""
    conn.execute(text("ALTER TABLE skills ADD COLUMN trusted BOOLEAN NOT NULL DEFAULT FALSE"))
