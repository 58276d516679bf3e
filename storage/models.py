"""SQLModel tables: conversations, their messages, agent runs and steps, artifacts and settings.

The schema itself is created by storage.migrations; tests check that the two agree.
Timestamps are stored as naive UTC and read back as aware UTC datetimes, the same on SQLite and Postgres.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

RUN_STATUSES = ("running", "done", "failed", "stopped", "budget", "loop", "interrupted", "waiting")
"""Every value Run.status may take; 'running' and 'waiting' (for the user's approval) are the unfinished ones."""

STEP_KINDS = ("model", "tool")


class UTCDateTime(TypeDecorator[datetime]):
    """Naive-UTC column that always hands back aware UTC datetimes (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A random 32-character hex id."""
    return uuid.uuid4().hex


def _json() -> Any:
    # none_as_null: Python None becomes SQL NULL, not the JSON text 'null', so IS NULL queries work.
    return Column(JSON(none_as_null=True), nullable=True)


def _time(index: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=False, index=index)


class Conversation(SQLModel, table=True):
    """A chat thread; its id is also the LangGraph thread id."""

    __tablename__ = "conversations"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    title: str = Field(default="New chat", description="Shown in the sidebar; editable.")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time(index=True))
    provider: str = Field(default="", description="Provider preset the conversation last used.")
    model: str = Field(default="", description="Model id the conversation last used.")


class Message(SQLModel, table=True):
    """One OpenAI-format message; K2 fields (reasoning_content, tool_calls, tool_call_id) kept verbatim."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", ondelete="CASCADE")
    run_id: str | None = Field(default=None, foreign_key="runs.id", ondelete="SET NULL", index=True)
    seq: int = Field(description="Order within the conversation, from 0.")
    role: str = Field(description="system, user, assistant or tool.")
    content: str | None = Field(default=None, sa_type=Text, description="Text content; None when absent.")
    reasoning_content: str | None = Field(default=None, sa_type=Text, description="K2 thinking text.")
    tool_calls: list[dict[str, Any]] | None = Field(default=None, sa_column=_json())
    tool_call_id: str | None = Field(default=None, description="On role=tool: the call it answers.")
    name: str | None = Field(default=None, description="Tool name on role=tool messages.")
    extra: dict[str, Any] | None = Field(
        default=None, sa_column=_json(), description="Other keys verbatim, e.g. list-form content, 'partial'."
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time())


class Run(SQLModel, table=True):
    """One agent run answering one user turn, with its status and token/cost totals."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_conversation_started", "conversation_id", "started_at"),
        Index("ix_runs_started", "started_at"),  # the Runs view pages all runs newest first (migration 10)
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    conversation_id: str = Field(foreign_key="conversations.id", ondelete="CASCADE")
    status: str = Field(default="running", index=True, description="One of RUN_STATUSES.")
    provider: str = ""
    model: str = ""
    started_at: datetime = Field(default_factory=utcnow, sa_column=_time())
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    steps: int = Field(default=0, description="Model + tool steps taken.")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = Field(default=0, description="Prompt tokens served from the provider's cache.")
    cost_usd: float = 0.0
    error: str | None = Field(default=None, sa_type=Text)
    skills_used: list[str] | None = Field(default=None, sa_column=_json(), description="Agent-Hub skills loaded.")
    meta: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False), description="Budgets, options, resume data."
    )


class Step(SQLModel, table=True):
    """One model call or tool call inside a run; (run_id, call_id) identifies a tool call for replay."""

    __tablename__ = "steps"
    __table_args__ = (
        UniqueConstraint("run_id", "call_id", name="uq_steps_run_call"),
        Index("ix_steps_run_seq", "run_id", "seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", ondelete="CASCADE")
    seq: int = Field(description="Order within the run, from 0.")
    kind: str = Field(description="'model' or 'tool'.")
    name: str = Field(description="Model id or tool name.")
    call_id: str | None = Field(default=None, description="Tool call id, e.g. 'functions.read_file:3'.")
    args: dict[str, Any] | None = Field(default=None, sa_column=_json())
    result_preview: str | None = Field(default=None, sa_type=Text, description="The bounded view the model saw.")
    message: dict[str, Any] | None = Field(
        default=None, sa_column=_json(), description="Model steps: the whole assistant message, replayed on resume."
    )
    artifact_id: str | None = Field(default=None, foreign_key="artifacts.id", ondelete="SET NULL")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time())


class Artifact(SQLModel, table=True):
    """A blob kept in the database (so every app process sees it): full tool results, files."""

    __tablename__ = "artifacts"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    conversation_id: str | None = Field(default=None, foreign_key="conversations.id", ondelete="CASCADE", index=True)
    run_id: str | None = Field(default=None, foreign_key="runs.id", ondelete="SET NULL", index=True)
    kind: str = Field(default="tool_result", description="tool_result, file, ...")
    name: str = ""
    mime: str = "application/octet-stream"
    size: int = Field(default=0, description="Bytes in data.")
    sha256: str = Field(default="", index=True, max_length=64)
    data: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time())


class Setting(SQLModel, table=True):
    """A user preference as JSON; never a secret (repo.set_setting refuses key-like names)."""

    __tablename__ = "settings"

    key: str = Field(primary_key=True, max_length=200)
    value: Any = Field(default=None, sa_column=_json())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time())


TABLES = (Conversation, Message, Run, Step, Artifact, Setting)
"""The tables migration 1 creates, in dependency order."""
