"""Stored page indexes: a document's search index (mcp_servers/pdf_reader/page_index.py), built once at ingest and
kept as bytes beside its pages, so the first search of a newly attached document loads it (tens of milliseconds)
instead of building it (2-3 s for a 160-page report on 2 cores).

A document id is a content hash and its pages never change, so an index never goes stale; `format` is the index
layout's version: a search that finds another format builds the index again and stores its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from storage.db import Database
from storage.models import UTCDateTime, utcnow


class PageIndexRow(SQLModel, table=True):
    """One document's serialized page index."""

    __tablename__ = "page_indexes"

    document_id: str = Field(foreign_key="documents.id", ondelete="CASCADE", primary_key=True, max_length=64)
    format: int = Field(description="Layout version of `data` (page_index.FORMAT).")
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    built_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


TABLES = (PageIndexRow,)


def load(db: Database, document_id: str, format: int) -> bytes | None:
    """The stored index of a document in this format, if any."""
    with db.engine.connect() as conn:
        return conn.scalar(select(PageIndexRow.data).where(  # type: ignore[call-overload]
            PageIndexRow.document_id == document_id, PageIndexRow.format == format))


def save(db: Database, document_id: str, format: int, data: bytes) -> None:
    """Store (or replace) a document's index; a document deleted meanwhile takes nothing with it."""
    try:
        with db.write_connection() as conn:
            conn.execute(delete(PageIndexRow).where(PageIndexRow.document_id == document_id))  # type: ignore[arg-type]
            conn.execute(insert(PageIndexRow).values(document_id=document_id, format=format, data=data,
                                                     built_at=utcnow()))
    except IntegrityError:  # the document is gone (foreign key), or another process stored it at the same moment
        pass
