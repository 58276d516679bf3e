"""Ingested documents (PDFs), their pages (1-based, normalised text) and which conversations use them.

The full-text index over pages.text is created by migration 2: an FTS5 external-content table `pages_fts` on
SQLite, kept in sync by triggers on `pages`; a GIN tsvector expression index on Postgres. Pages are written only
by `save_document`, in one transaction with their document, so a failed ingest leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, Text

from storage import blobs
from storage.db import Database
from storage.models import Conversation, UTCDateTime, utcnow

MIN_PREFIX = 6
"""Shortest id prefix get_document accepts (shorter ones are too likely to be ambiguous)."""
EXTRACTORS = ("pdfium", "pypdf")


class Document(SQLModel, table=True):
    """One ingested file, identified by its content: id = the first 32 hex digits of its sha256."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("sha256", name="uq_documents_sha256"),)

    id: str = Field(primary_key=True, max_length=64)
    sha256: str = Field(max_length=64)
    title: str = Field(description="PDF metadata title, else the file name without extension.")
    filename: str = Field(description="Base name of the file when first ingested.")
    source_path: str = Field(default="", description="Where it was ingested from (informational).")
    size_bytes: int = 0
    page_count: int = 0
    token_count: int = Field(default=0, description="o200k_base tokens of the normalised text of all pages.")
    has_text: bool = Field(default=True, description="False when no page has a text layer (scanned; no OCR).")
    meta: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False), description="PDF metadata, outline, stats."
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Page(SQLModel, table=True):
    """One page's normalised text; number is 1-based, as a PDF viewer shows it."""

    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("document_id", "number", name="uq_pages_document_number"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: str = Field(foreign_key="documents.id", ondelete="CASCADE")
    number: int = Field(description="1-based page number.")
    text: str = Field(default="", sa_type=Text)
    token_count: int = 0
    extractor: str = Field(default="pdfium", description="'pdfium' or 'pypdf' (glued-word fallback).")


class ConversationDocument(SQLModel, table=True):
    """A document attached to a conversation (ingested in it or uploaded to it)."""

    __tablename__ = "conversation_documents"

    conversation_id: str = Field(foreign_key="conversations.id", ondelete="CASCADE", primary_key=True)
    document_id: str = Field(foreign_key="documents.id", ondelete="CASCADE", primary_key=True)
    added_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


TABLES = (Document, Page, ConversationDocument)
"""The tables migration 2 creates, in dependency order."""


def get_document(db: Database, ref: str, within: Collection[str] | None = None) -> Document | None:
    """The document `ref` names: its id, a unique id prefix of ≥ 6 characters, or its exact filename or title.

    With `within`, only documents whose id is in it are found (a conversation's own, for instance).
    """
    ref = ref.strip()
    if not ref or (within is not None and not within):
        return None
    scope = [] if within is None else [Document.id.in_(list(within))]  # type: ignore[attr-defined]
    with db.session(write=False) as s:
        found = s.get(Document, ref.lower())
        if found is not None and (within is None or found.id in within):
            return found
        if len(ref) >= MIN_PREFIX and all(c in "0123456789abcdef" for c in ref.lower()):
            prefix = select(Document).where(Document.id.startswith(ref.lower()), *scope).limit(2)  # type: ignore[attr-defined]
            hits = list(s.scalars(prefix))
            if len(hits) == 1:
                return hits[0]
        for column in (Document.filename, Document.title):
            named = select(Document).where(column == ref, *scope).order_by(Document.created_at.desc())  # type: ignore[attr-defined]
            row = s.scalars(named).first()
            if row is not None:
                return row
    return None


def list_documents(db: Database) -> list[Document]:
    """Every ingested document, newest first."""
    with db.session(write=False) as s:
        return list(s.scalars(select(Document).order_by(Document.created_at.desc())))


def page_text(db: Database, document_id: str, number: int) -> str | None:
    """The normalised text of page `number` (1-based), or None when the document has no such page."""
    with db.session(write=False) as s:
        return s.scalar(select(Page.text).where(Page.document_id == document_id, Page.number == number))


def pages(db: Database, document_id: str, first: int, last: int) -> list[Page]:
    """Pages first..last (1-based, inclusive) of a document, in order; missing numbers are simply absent."""
    with db.session(write=False) as s:
        query = (
            select(Page)
            .where(Page.document_id == document_id, Page.number >= first, Page.number <= last)
            .order_by(Page.number)  # type: ignore[arg-type]
        )
        return list(s.scalars(query))


def conversation_documents(db: Database, conversation_id: str) -> list[Document]:
    """Documents attached to a conversation, in the order they were added."""
    with db.session(write=False) as s:
        query = (
            select(Document)
            .join(ConversationDocument, ConversationDocument.document_id == Document.id)  # type: ignore[arg-type]
            .where(ConversationDocument.conversation_id == conversation_id)
            .order_by(ConversationDocument.added_at, Document.id)  # type: ignore[arg-type]
        )
        return list(s.scalars(query))


def library_documents(db: Database, folders: Sequence[str]) -> list[Document]:
    """Documents ingested from one of the user's library folders (absolute paths), newest first."""
    if not folders:
        return []
    with db.session(write=False) as s:
        inside = or_(*(Document.source_path.startswith(f.rstrip("/") + "/") for f in folders))  # type: ignore[attr-defined]
        return list(s.scalars(select(Document).where(inside).order_by(Document.created_at.desc())))  # type: ignore[attr-defined]


def attach(db: Database, conversation_id: str, document_id: str) -> bool:
    """Attach a document to a conversation (idempotent); False when the conversation does not exist."""
    with db.session() as s:
        if s.get(Conversation, conversation_id) is None:
            return False
        if s.get(ConversationDocument, (conversation_id, document_id)) is None:
            s.add(ConversationDocument(conversation_id=conversation_id, document_id=document_id))
    return True


def detach(db: Database, conversation_id: str, document_id: str) -> bool:
    """Remove a document from a conversation (the document stays in the store); False when it was not attached."""
    with db.session() as s:
        row = s.get(ConversationDocument, (conversation_id, document_id))
        if row is None:
            return False
        s.delete(row)
    return True


def save_document(
    db: Database, document: Document, page_rows: Iterable[tuple[int, str, int, str]], original: Path | None = None
) -> Document:
    """Store a document and its pages (number, text, token_count, extractor) in one transaction.

    With a shared database (PostgreSQL) the original file's bytes go into the same transaction (storage.blobs),
    so every app process can render its pages. Idempotent by content: when a document with the same sha256
    exists (e.g. another process ingested it meanwhile), nothing is written and the stored one is returned.
    """
    try:
        with db.write_connection() as conn:
            if conn.scalar(select(Document.id).where(Document.sha256 == document.sha256)) is not None:
                raise _AlreadyStored
            conn.execute(insert(Document).values(**document.model_dump()))
            batch: list[dict[str, Any]] = []
            for number, text, tokens, extractor in page_rows:
                batch.append(
                    {"document_id": document.id, "number": number, "text": text, "token_count": tokens,
                     "extractor": extractor}
                )  # fmt: skip
                if len(batch) >= 500:
                    conn.execute(insert(Page), batch)
                    batch = []
            if batch:
                conn.execute(insert(Page), batch)
            if original is not None and blobs.shared(conn.dialect.name):
                blobs.put_file(conn, document.sha256, original)
    except (_AlreadyStored, IntegrityError):
        stored = get_document(db, document.id)
        if stored is None:
            raise
        return stored
    return document


def delete_document(db: Database, document_id: str) -> bool:
    """Remove a document, its pages, attachments and stored original bytes; False when it did not exist."""
    with db.write_connection() as conn:
        sha = conn.scalar(select(Document.sha256).where(Document.id == document_id))
        if sha is None:
            return False
        conn.execute(delete(blobs.BlobChunk).where(blobs.BlobChunk.sha256 == sha))  # type: ignore[arg-type]
        return bool(conn.execute(delete(Document).where(Document.id == document_id)).rowcount)  # type: ignore[arg-type]


class _AlreadyStored(Exception):
    """Internal: the content hash is already in the database."""
