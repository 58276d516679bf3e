"""Migration 6: COBOL→Go refactoring sessions and their per-program status (issue 9)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storage.migrations import migration


@migration
def m006_cobol(conn: Connection) -> None:
    """cobol_sessions and cobol_programs."""
    md = MetaData()
    # Referenced only for the foreign keys; created by migration 1.
    Table("conversations", md, Column("id", String(64), primary_key=True))
    Table("runs", md, Column("id", String(64), primary_key=True))
    Table(
        "cobol_sessions", md,
        Column("id", String(64), primary_key=True),
        Column("conversation_id", String, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False,
               index=True),
        Column("project_path", String, nullable=False),
        Column("source", String, nullable=False),
        Column("stage", String, nullable=False),
        Column("plan", Text, nullable=False),
        Column("analysis", JSON),
        Column("plan_run_id", String, ForeignKey("runs.id", ondelete="SET NULL")),
        Column("run_ids", JSON),
        Column("error", Text),
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
    )  # fmt: skip
    Table(
        "cobol_programs", md,
        Column("id", Integer, primary_key=True),
        Column("session_id", String, ForeignKey("cobol_sessions.id", ondelete="CASCADE"), nullable=False),
        Column("program", String, nullable=False),
        Column("source", String, nullable=False),
        Column("lines", Integer, nullable=False),
        Column("go_dir", String, nullable=False),
        Column("verify", String, nullable=False),
        Column("first_difference", Text, nullable=False),
        Column("go_test_passed", Boolean),
        Column("lines_translated", Integer, nullable=False),
        Column("go_lines", Integer, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("tokens", Integer, nullable=False),
        Column("cost_usd", Float, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        UniqueConstraint("session_id", "program", name="uq_cobol_programs_session_program"),
    )  # fmt: skip
    for name in ("cobol_sessions", "cobol_programs"):
        md.tables[name].create(conn)
