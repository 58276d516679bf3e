"""Migration 4: the untrusted content each conversation has read, and the approvals of risky tool calls."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storage.migrations import migration


@migration
def m004_approvals(conn: Connection) -> None:
    """untrusted_reads and approvals."""
    md = MetaData()
    # Referenced only for the foreign keys; created by migration 1.
    Table("conversations", md, Column("id", String(64), primary_key=True))
    Table("runs", md, Column("id", String(64), primary_key=True))
    Table(
        "untrusted_reads", md,
        Column("id", Integer, primary_key=True),
        Column("conversation_id", String, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        Column("run_id", String, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        Column("call_id", String, nullable=False),
        Column("tool", String, nullable=False),
        Column("source", String, nullable=False),
        Column("created_at", DateTime, nullable=False),
        UniqueConstraint("run_id", "call_id", name="uq_untrusted_reads_run_call"),
        Index("ix_untrusted_reads_conversation", "conversation_id", "created_at"),
    )  # fmt: skip
    Table(
        "approvals", md,
        Column("id", Integer, primary_key=True),
        Column("run_id", String, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
        Column("call_id", String, nullable=False),
        Column("tool", String, nullable=False),
        Column("arguments", JSON),
        Column("risk", String, nullable=False),
        Column("reason", Text, nullable=False),
        Column("decision", String, nullable=False, index=True),
        Column("note", Text, nullable=False),
        Column("requested_at", DateTime, nullable=False),
        Column("decided_at", DateTime),
        UniqueConstraint("run_id", "call_id", name="uq_approvals_run_call"),
    )  # fmt: skip
    for name in ("untrusted_reads", "approvals"):
        md.tables[name].create(conn)
