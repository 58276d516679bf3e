"""Migration 8: each conversation's placeholder map (values encrypted) and its redaction override (issue 22)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Connection, DateTime, ForeignKey, Integer, LargeBinary, MetaData, String, Table
from sqlalchemy import UniqueConstraint

from storage.migrations import migration


@migration
def m008_redaction(conn: Connection) -> None:
    """redaction_entries and conversation_privacy."""
    md = MetaData()
    # Referenced only for the foreign keys; created by migration 1.
    Table("conversations", md, Column("id", String(64), primary_key=True))
    Table(
        "redaction_entries", md,
        Column("id", Integer, primary_key=True),
        Column("conversation_id", String, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        Column("placeholder", String(64), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("value_digest", String(64), nullable=False),
        Column("value_sealed", LargeBinary, nullable=False),
        Column("exempt", Boolean, nullable=False),
        Column("created_at", DateTime, nullable=False),
        UniqueConstraint("conversation_id", "placeholder", name="uq_redaction_entries_placeholder"),
        UniqueConstraint("conversation_id", "value_digest", name="uq_redaction_entries_value"),
    )  # fmt: skip
    Table(
        "conversation_privacy", md,
        Column("conversation_id", String, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
        Column("mode", String(8), nullable=False),
        Column("updated_at", DateTime, nullable=False),
    )  # fmt: skip
    for name in ("redaction_entries", "conversation_privacy"):
        md.tables[name].create(conn)
