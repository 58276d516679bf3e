"""COBOL→Go refactoring sessions: one row per session (its stage, the user-editable plan, the analysis) and one row per
COBOL program with its migration status (verify verdict, first difference, go test, lines, attempts, tokens, cost).

A session lives in one conversation (its workspace holds the project copy and the Go modules); the stage is stored so
each step can be resumed after a crash. Written by agents/workflows/cobol_session.py, read by the COBOL tab.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel, select

from storage.db import Database
from storage.models import UTCDateTime, _json, new_id, utcnow

STAGES = ("analyzed", "planned", "generating", "verifying", "done", "failed")
"""A session's stages in order; 'failed' means the last stage's run ended in an error (it can be started again)."""

VERDICTS = ("equal", "differing", "not-compared")


class CobolSession(SQLModel, table=True):
    """A refactoring session over one COBOL project copied into a conversation's workspace."""

    __tablename__ = "cobol_sessions"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    conversation_id: str = Field(foreign_key="conversations.id", ondelete="CASCADE", index=True)
    project_path: str = Field(description="Folder of the COBOL project inside the workspace, e.g. 'project'.")
    source: str = Field(default="", description="Where the project was opened from (folder or zip name).")
    stage: str = Field(default="analyzed", description="One of STAGES.")
    plan: str = Field(default="", sa_type=Text, description="The migration plan (markdown); the user may edit it.")
    analysis: dict[str, Any] | None = Field(default=None, sa_column=_json(), description="Analysis summary JSON.")
    plan_run_id: str | None = Field(default=None, foreign_key="runs.id", ondelete="SET NULL")
    run_ids: list[str] | None = Field(default=None, sa_column=_json(), description="Generation runs, oldest first.")
    error: str | None = Field(default=None, sa_type=Text, description="Why the last stage failed.")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CobolProgram(SQLModel, table=True):
    """One COBOL program of a session and where its migration stands."""

    __tablename__ = "cobol_programs"
    __table_args__ = (UniqueConstraint("session_id", "program", name="uq_cobol_programs_session_program"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(foreign_key="cobol_sessions.id", ondelete="CASCADE")
    program: str = Field(description="PROGRAM-ID.")
    source: str = Field(default="", description="Source file, relative to the project folder.")
    lines: int = Field(default=0, description="COBOL source lines.")
    go_dir: str = Field(default="", description="Go module folder in the workspace, once verified.")
    verify: str = Field(default="not-compared", description="One of VERDICTS (the last cobol__verify result).")
    first_difference: str = Field(default="", sa_type=Text, description="The first differing field, both values.")
    go_test_passed: bool | None = Field(default=None, description="Last `go test` in go_dir; None when not run.")
    lines_translated: int = Field(default=0, description="COBOL lines covered by a Go build that was compared.")
    go_lines: int = Field(default=0, description="Lines of Go written (without tests and the runtime).")
    attempts: int = Field(default=0, description="cobol__verify calls.")
    tokens: int = Field(default=0, description="Model tokens spent up to this program's verify calls.")
    cost_usd: float = 0.0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


TABLES: tuple[type[SQLModel], ...] = (CobolSession, CobolProgram)
"""The tables migration 6 creates, in dependency order."""


def create_session(
    db: Database,
    conversation_id: str,
    project_path: str,
    source: str,
    analysis: dict[str, Any],
    programs: list[tuple[str, str, int]],
) -> CobolSession:
    """A new session at stage 'analyzed' with one 'not-compared' row per (program, source, lines)."""
    row = CobolSession(conversation_id=conversation_id, project_path=project_path, source=source, analysis=analysis)
    with db.session() as s:
        s.add(row)
        s.flush()
        for program, path, lines in programs:
            s.add(CobolProgram(session_id=row.id, program=program, source=path, lines=lines))
    return row


def get_session(db: Database, session_id: str) -> CobolSession | None:
    """One session by id."""
    with db.session(write=False) as s:
        return s.get(CobolSession, session_id)


def list_sessions(db: Database, limit: int = 50) -> list[CobolSession]:
    """Sessions, most recently updated first."""
    with db.session(write=False) as s:
        q = select(CobolSession).order_by(CobolSession.updated_at.desc()).limit(limit)  # type: ignore[attr-defined]
        return list(s.exec(q))


def is_session_conversation(db: Database, conversation_id: str) -> bool:
    """Whether the conversation belongs to a refactoring session (its tools default to the COBOL set)."""
    with db.session(write=False) as s:
        q = select(CobolSession.id).where(CobolSession.conversation_id == conversation_id).limit(1)
        return s.exec(q).first() is not None


def _assign(row: CobolSession | CobolProgram, fields: dict[str, Any], checked: str, allowed: tuple[str, ...]) -> None:
    """Set fields on row, refusing a `checked` value outside `allowed`, and touch updated_at."""
    for key, value in fields.items():
        if key == checked and value not in allowed:
            raise ValueError(f"{key} {value!r} is not one of {', '.join(allowed)}")
        setattr(row, key, value)
    row.updated_at = utcnow()


def update_session(db: Database, session_id: str, **fields: Any) -> CobolSession:
    """Change fields of a session (stage, plan, run ids, error) and touch updated_at."""
    with db.session() as s:
        row = s.get(CobolSession, session_id)
        if row is None:
            raise LookupError(f"no COBOL session {session_id!r}")
        _assign(row, fields, "stage", STAGES)
        s.add(row)
        return row


def programs(db: Database, session_id: str) -> list[CobolProgram]:
    """The session's programs in name order."""
    with db.session(write=False) as s:
        q = select(CobolProgram).where(CobolProgram.session_id == session_id).order_by(CobolProgram.program)
        return list(s.exec(q))


def save_programs(db: Database, session_id: str, statuses: dict[str, dict[str, Any]]) -> None:
    """Set the status fields of programs by PROGRAM-ID (a program the analysis did not list gets a new row)."""
    with db.session() as s:
        rows = {r.program: r for r in s.exec(select(CobolProgram).where(CobolProgram.session_id == session_id))}
        for program, fields in statuses.items():
            row = rows.get(program) or CobolProgram(session_id=session_id, program=program)
            _assign(row, fields, "verify", VERDICTS)
            s.add(row)
