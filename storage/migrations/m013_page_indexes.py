"""Migration 13: page indexes built at ingest, so a newly attached document's first search only loads it (issue 17)."""

from __future__ import annotations

from sqlalchemy import Column, Connection, DateTime, ForeignKey, Integer, LargeBinary, MetaData, String, Table

from storage.migrations import migration


@migration
def m013_page_indexes(conn: Connection) -> None:
    """page_indexes: one serialized search index per document."""
    md = MetaData()
    Table("documents", md, Column("id", String(64), primary_key=True))  # for the foreign key; migration 2
    Table(
        "page_indexes", md,
        Column("document_id", String(64), ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
        Column("format", Integer, nullable=False),
        Column("data", LargeBinary, nullable=False),
        Column("built_at", DateTime, nullable=False),
    ).create(conn)  # fmt: skip
