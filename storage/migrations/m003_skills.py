"""Migration 3: Agent-Hub skills (skills, skill_versions, skill_files) and their full-text index skills_fts."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from storage.migrations import migration


@migration
def m003_skills(conn: Connection) -> None:
    """Skills, their versions and files; FTS5 (SQLite) or tsvector + GIN (Postgres) over name, description, body."""
    md = MetaData()
    Table(
        "skills", md,
        Column("name", String(64), primary_key=True),
        Column("latest_version", String, nullable=False),
        Column("pinned_version", String),
        Column("active_version_id", Integer),
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
    )  # fmt: skip
    Table(
        "skill_versions", md,
        Column("id", Integer, primary_key=True),
        Column("name", String(64), ForeignKey("skills.name", ondelete="CASCADE"), nullable=False),
        Column("version", String, nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("description", Text, nullable=False),
        Column("body", Text, nullable=False),
        Column("resources", JSON, nullable=False),
        Column("front_matter", JSON, nullable=False),
        Column("source", String, nullable=False),
        Column("origin", Text),
        Column("duplicate_of", String),
        Column("created_at", DateTime, nullable=False),
        UniqueConstraint("name", "version", name="uq_skill_versions_name_version"),
        Index("ix_skill_versions_sha256", "sha256"),
    )  # fmt: skip
    Table(
        "skill_files", md,
        Column("version_id", Integer, ForeignKey("skill_versions.id", ondelete="CASCADE"), primary_key=True),
        Column("path", String(255), primary_key=True),
        Column("size", Integer, nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("data", LargeBinary, nullable=False),
    )  # fmt: skip
    md.create_all(conn)
    if conn.dialect.name == "postgresql":
        # rowid = skill_versions.id of each skill's version in use; 'simple' keeps names and code words unstemmed.
        conn.execute(text("CREATE TABLE skills_fts (rowid BIGINT PRIMARY KEY, doc tsvector NOT NULL)"))
        conn.execute(text("CREATE INDEX ix_skills_fts_doc ON skills_fts USING GIN (doc)"))
    else:
        # External content: the text lives in skill_versions; only each skill's version in use is indexed.
        # prefix='2 3' makes the short prefix queries of search-as-you-type index lookups, not term scans.
        conn.execute(
            text(
                "CREATE VIRTUAL TABLE skills_fts USING fts5(name, description, body, content='skill_versions', "
                "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
            )
        )
        # How many indexed skills hold each word anywhere, in name or description, in the name: search drops words
        # too common to rank by before asking FTS5, whose bm25 costs time for every matching row (skills.index).
        conn.execute(
            text(
                "CREATE TABLE skills_terms (term TEXT PRIMARY KEY, docs INTEGER NOT NULL, "
                "head_docs INTEGER NOT NULL, name_docs INTEGER NOT NULL) WITHOUT ROWID"
            )
        )
