"""Migration 12: tools per chat, the composer's tools menu remembered per conversation (issue 19)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Connection, DateTime, ForeignKey, MetaData, String, Table

from storage.migrations import migration


@migration
def m012_chat_tools(conn: Connection) -> None:
    """conversation_tools: the server and tool names a conversation switched off."""
    md = MetaData()
    Table("conversations", md, Column("id", String(64), primary_key=True))  # for the foreign key; migration 1
    Table(
        "conversation_tools", md,
        Column("conversation_id", String(64), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
        Column("off", JSON),
        Column("updated_at", DateTime, nullable=False),
    ).create(conn)  # fmt: skip
