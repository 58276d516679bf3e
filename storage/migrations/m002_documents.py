"""Migration 2: ingested documents, their pages, conversation attachments, and a full-text index over pages.

SQLite: `pages_fts`, an FTS5 external-content table over pages.text (content='pages', content_rowid='id'), kept in
sync by triggers, so every writer (the pdf_reader server in any process) updates it in the same transaction.
Tokenizer: unicode61 (letters AND digits are token characters, so years and amounts like 2022 or 127,196 are
searchable; punctuation splits "127,196" into the phrase "127 196"), diacritics folded.
Postgres: a GIN index on to_tsvector('english', text); queries must use the same expression to hit it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from storage.migrations import migration

FTS_TOKENIZE = "unicode61 remove_diacritics 2"

_SQLITE_FTS = [
    f"CREATE VIRTUAL TABLE pages_fts USING fts5(text, content='pages', content_rowid='id', tokenize='{FTS_TOKENIZE}')",
    (
        "CREATE TRIGGER pages_fts_insert AFTER INSERT ON pages BEGIN "
        "INSERT INTO pages_fts(rowid, text) VALUES (new.id, new.text); END"
    ),
    (
        "CREATE TRIGGER pages_fts_delete AFTER DELETE ON pages BEGIN "
        "INSERT INTO pages_fts(pages_fts, rowid, text) VALUES ('delete', old.id, old.text); END"
    ),
    (
        "CREATE TRIGGER pages_fts_update AFTER UPDATE OF text ON pages BEGIN "
        "INSERT INTO pages_fts(pages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
        "INSERT INTO pages_fts(rowid, text) VALUES (new.id, new.text); END"
    ),
]
_POSTGRES_FTS = ["CREATE INDEX ix_pages_text_tsv ON pages USING gin (to_tsvector('english', text))"]


@migration
def m002_documents(conn: Connection) -> None:
    """Documents, pages, conversation_documents and the pages full-text index."""
    md = MetaData()
    # Referenced only for the foreign key; created by migration 1.
    Table("conversations", md, Column("id", String(64), primary_key=True))
    Table(
        "documents", md,
        Column("id", String(64), primary_key=True),
        Column("sha256", String(64), nullable=False),
        Column("title", String, nullable=False),
        Column("filename", String, nullable=False),
        Column("source_path", String, nullable=False),
        Column("size_bytes", Integer, nullable=False),
        Column("page_count", Integer, nullable=False),
        Column("token_count", Integer, nullable=False),
        Column("has_text", Boolean, nullable=False),
        Column("meta", JSON, nullable=False),
        Column("created_at", DateTime, nullable=False),
        UniqueConstraint("sha256", name="uq_documents_sha256"),
    )  # fmt: skip
    Table(
        "pages", md,
        Column("id", Integer, primary_key=True),
        Column("document_id", String, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        Column("number", Integer, nullable=False),
        Column("text", Text, nullable=False),
        Column("token_count", Integer, nullable=False),
        Column("extractor", String, nullable=False),
        UniqueConstraint("document_id", "number", name="uq_pages_document_number"),
    )  # fmt: skip
    Table(
        "conversation_documents", md,
        Column("conversation_id", String, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
        Column("document_id", String, ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
        Column("added_at", DateTime, nullable=False),
    )  # fmt: skip
    for name in ("documents", "pages", "conversation_documents"):
        md.tables[name].create(conn)
    for statement in _SQLITE_FTS if conn.dialect.name == "sqlite" else _POSTGRES_FTS:
        conn.execute(text(statement))
