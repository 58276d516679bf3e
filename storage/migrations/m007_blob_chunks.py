"""Migration 7: kept original files in the database (issue 23), for app processes sharing PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Column, Connection, Integer, LargeBinary, MetaData, String, Table

from storage.migrations import migration


@migration
def m007_blob_chunks(conn: Connection) -> None:
    """blob_chunks: 1 MiB pieces of a file, keyed by the whole file's sha256 (used on PostgreSQL only)."""
    md = MetaData()
    Table(
        "blob_chunks",
        md,
        Column("sha256", String(64), primary_key=True),
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("data", LargeBinary, nullable=False),
    )
    md.create_all(conn)
