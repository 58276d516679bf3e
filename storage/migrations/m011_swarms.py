"""Migration 11: agent swarms, their plans and the state of each sub-agent branch (issue 20)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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
def m011_swarms(conn: Connection) -> None:
    """swarms and swarm_branches."""
    md = MetaData()
    # Referenced only for the foreign keys; created by migration 1.
    Table("conversations", md, Column("id", String(64), primary_key=True))
    Table("runs", md, Column("id", String(64), primary_key=True))
    Table("artifacts", md, Column("id", String(64), primary_key=True))
    Table(
        "swarms", md,
        Column("id", String(64), primary_key=True),
        Column("run_id", String, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
        Column("conversation_id", String, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False,
               index=True),
        Column("key", String, nullable=False),
        Column("kind", String, nullable=False),
        Column("brief", Text, nullable=False),
        Column("concurrency", Integer, nullable=False),
        Column("status", String, nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        UniqueConstraint("run_id", "key", name="uq_swarms_run_key"),
    )  # fmt: skip
    Table(
        "swarm_branches", md,
        Column("id", Integer, primary_key=True),
        Column("swarm_id", String, ForeignKey("swarms.id", ondelete="CASCADE"), nullable=False, index=True),
        Column("idx", Integer, nullable=False),
        Column("goal", Text, nullable=False),
        Column("task", JSON),
        Column("status", String, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("run_id", String, ForeignKey("runs.id", ondelete="SET NULL")),
        Column("answer", Text, nullable=False),
        Column("result", JSON),
        Column("artifact_id", String, ForeignKey("artifacts.id", ondelete="SET NULL")),
        Column("error", Text),
        Column("steps", Integer, nullable=False),
        Column("tool_calls", Integer, nullable=False),
        Column("prompt_tokens", Integer, nullable=False),
        Column("completion_tokens", Integer, nullable=False),
        Column("cached_tokens", Integer, nullable=False),
        Column("cost_usd", Float, nullable=False),
        Column("last_tool", String, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        UniqueConstraint("swarm_id", "idx", name="uq_swarm_branches_swarm_idx"),
    )  # fmt: skip
    for name in ("swarms", "swarm_branches"):
        md.tables[name].create(conn)
