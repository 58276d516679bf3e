"""Migration 1: conversations, messages, runs, steps, artifacts, settings."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storage.migrations import migration


@migration
def m001_initial(conn: Connection) -> None:
    """Conversations, messages, runs, steps, artifacts, settings."""
    md = MetaData()
    Table(
        "conversations", md,
        Column("id", String(64), primary_key=True),
        Column("title", String, nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False, index=True),
        Column("provider", String, nullable=False),
        Column("model", String, nullable=False),
    )  # fmt: skip
    Table(
        "runs", md,
        Column("id", String(64), primary_key=True),
        Column("conversation_id", String, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        Column("status", String, nullable=False, index=True),
        Column("provider", String, nullable=False),
        Column("model", String, nullable=False),
        Column("started_at", DateTime, nullable=False),
        Column("finished_at", DateTime),
        Column("steps", Integer, nullable=False),
        Column("prompt_tokens", Integer, nullable=False),
        Column("completion_tokens", Integer, nullable=False),
        Column("cached_tokens", Integer, nullable=False),
        Column("cost_usd", Float, nullable=False),
        Column("error", Text),
        Column("skills_used", JSON),
        Column("meta", JSON, nullable=False),
        Index("ix_runs_conversation_started", "conversation_id", "started_at"),
    )  # fmt: skip
    Table(
        "artifacts", md,
        Column("id", String(64), primary_key=True),
        Column("conversation_id", String, ForeignKey("conversations.id", ondelete="CASCADE"), index=True),
        Column("run_id", String, ForeignKey("runs.id", ondelete="SET NULL"), index=True),
        Column("kind", String, nullable=False),
        Column("name", String, nullable=False),
        Column("mime", String, nullable=False),
        Column("size", Integer, nullable=False),
        Column("sha256", String(64), nullable=False, index=True),
        Column("data", LargeBinary, nullable=False),
        Column("created_at", DateTime, nullable=False),
    )  # fmt: skip
    Table(
        "messages", md,
        Column("id", Integer, primary_key=True),
        Column("conversation_id", String, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        Column("run_id", String, ForeignKey("runs.id", ondelete="SET NULL"), index=True),
        Column("seq", Integer, nullable=False),
        Column("role", String, nullable=False),
        Column("content", Text),
        Column("reasoning_content", Text),
        Column("tool_calls", JSON),
        Column("tool_call_id", String),
        Column("name", String),
        Column("extra", JSON),
        Column("created_at", DateTime, nullable=False),
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
    )  # fmt: skip
    Table(
        "steps", md,
        Column("id", Integer, primary_key=True),
        Column("run_id", String, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        Column("seq", Integer, nullable=False),
        Column("kind", String, nullable=False),
        Column("name", String, nullable=False),
        Column("call_id", String),
        Column("args", JSON),
        Column("result_preview", Text),
        Column("message", JSON),
        Column("artifact_id", String, ForeignKey("artifacts.id", ondelete="SET NULL")),
        Column("prompt_tokens", Integer, nullable=False),
        Column("completion_tokens", Integer, nullable=False),
        Column("cached_tokens", Integer, nullable=False),
        Column("cost_usd", Float, nullable=False),
        Column("duration_s", Float, nullable=False),
        Column("error", Text),
        Column("created_at", DateTime, nullable=False),
        UniqueConstraint("run_id", "call_id", name="uq_steps_run_call"),
        Index("ix_steps_run_seq", "run_id", "seq"),
    )  # fmt: skip
    Table(
        "settings", md,
        Column("key", String(200), primary_key=True),
        Column("value", JSON),
        Column("updated_at", DateTime, nullable=False),
    )  # fmt: skip
    md.create_all(conn)
