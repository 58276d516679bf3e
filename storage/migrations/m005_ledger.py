"""Migration 5: the KPI ledger (issue 8)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Connection, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text

from storage.migrations import migration


@migration
def m005_ledger(conn: Connection) -> None:
    """kpi_rows: evidence-backed KPI values and derived metrics per conversation."""
    md = MetaData()
    # Referenced only for the foreign keys; created by migration 1.
    Table("conversations", md, Column("id", String(64), primary_key=True))
    Table("runs", md, Column("id", String(64), primary_key=True))
    kpi_rows = Table(
        "kpi_rows", md,
        Column("id", Integer, primary_key=True),
        Column("conversation_id", String, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
        Column("run_id", String, ForeignKey("runs.id", ondelete="SET NULL"), index=True),
        Column("company", String, nullable=False),
        Column("fiscal_period", String, nullable=False),
        Column("metric", String, nullable=False),
        Column("value", String, nullable=False),
        Column("unit", String, nullable=False),
        Column("currency", String, nullable=False),
        Column("scale", String, nullable=False),
        Column("document_id", String, index=True),
        Column("page", Integer),
        Column("quote", Text),
        Column("method", String, nullable=False),
        Column("formula", Text),
        Column("inputs", JSON),
        Column("status", String, nullable=False),
        Column("note", Text),
        Column("created_at", DateTime, nullable=False),
        Index("ix_kpi_rows_key", "conversation_id", "company", "fiscal_period", "metric"),
    )  # fmt: skip
    kpi_rows.create(conn)
