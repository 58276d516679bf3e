"""Agent-Hub skills tables: a skill, its immutable versions, and each version's files.

The full-text index (`skills_fts`) is not a model: migration m003 creates it (FTS5 on SQLite, a tsvector table
with a GIN index on Postgres) and skills.registry keeps one row in it per skill, for the version in use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime, utcnow

SKILL_SOURCES = ("folder", "bundle", "builtin", "edited", "zip")
"""Where a version came from (SkillVersion.source)."""


class Skill(SQLModel, table=True):
    """A named skill; `active_version_id` is the version search and get() use (the pinned one, else the latest)."""

    __tablename__ = "skills"

    name: str = Field(primary_key=True, max_length=64)
    latest_version: str = Field(description="Highest installed semantic version.")
    pinned_version: str | None = Field(default=None, description="Version in use instead of the latest, if set.")
    active_version_id: int | None = Field(default=None, description="skill_versions.id indexed for search.")
    trusted: bool = Field(default=False, description="Marked trusted by the user (built-ins are trusted anyway): its "
                          "text reaches the model as instructions rather than as fenced untrusted content.")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class SkillVersion(SQLModel, table=True):
    """One immutable version of a skill: its SKILL.md fields, its file list and where it came from."""

    __tablename__ = "skill_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_skill_versions_name_version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(foreign_key="skills.name", ondelete="CASCADE", max_length=64)
    version: str = Field(description="Semantic version MAJOR.MINOR.PATCH[-pre][+build].")
    sha256: str = Field(index=True, max_length=64, description="Canonical hash of every file (skills.content).")
    description: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text, description="SKILL.md after the front matter.")
    resources: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False), description="path → {size, sha256}."
    )
    front_matter: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="license, compatibility, allowed_tools, metadata, extra.",
    )
    source: str = Field(description="One of SKILL_SOURCES.")
    origin: str | None = Field(default=None, sa_type=Text, description="Folder or bundle path it came from.")
    duplicate_of: str | None = Field(default=None, description="Earlier version with the very same content.")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class SkillFile(SQLModel, table=True):
    """The bytes of one file of one version (SKILL.md included)."""

    __tablename__ = "skill_files"

    version_id: int = Field(foreign_key="skill_versions.id", ondelete="CASCADE", primary_key=True)
    path: str = Field(primary_key=True, max_length=255)
    size: int
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


TABLES: tuple[type[SQLModel], ...] = (Skill, SkillVersion, SkillFile)
