"""Tool results as the planner's context tools read them: a conversation's artifacts and its latest step of a tool."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, func, select

from storage.db import Database
from storage.models import Artifact, Run, Step

MIN_PREFIX = 8
"""Shortest artifact-id prefix accepted (records show 12 characters)."""


@dataclass(frozen=True)
class ArtifactEntry:
    """One tool-result artifact of a conversation, without its data."""

    id: str
    tool: str
    args: dict[str, Any] | None
    size: int
    created_at: datetime


def find_artifact(db: Database, conversation_id: str, ref: str) -> Artifact | None:
    """The conversation's artifact whose id is `ref` or starts with it (a unique prefix of 8+ characters)."""
    ref = ref.strip().lower()
    if len(ref) < MIN_PREFIX or not ref.isalnum():
        return None
    with db.session(write=False) as s:
        query = (select(Artifact).where(Artifact.conversation_id == conversation_id,
                                        col(Artifact.id).startswith(ref, autoescape=True)).limit(2))
        found = list(s.exec(query))
    return found[0] if len(found) == 1 else None


def list_artifacts(db: Database, conversation_id: str, offset: int = 0, limit: int = 50) -> tuple[list[ArtifactEntry], int]:
    """The conversation's tool-result artifacts, newest first, with the call that made each; and how many in all."""
    with db.session(write=False) as s:
        base = (
            select(Artifact.id, Step.name, Step.args, Artifact.size, Artifact.created_at)
            .join(Step, col(Step.artifact_id) == Artifact.id)
            .where(Artifact.conversation_id == conversation_id, Artifact.kind == "tool_result")
        )
        rows = s.exec(base.order_by(col(Artifact.created_at).desc(), col(Artifact.id)).offset(offset).limit(limit))
        entries = [ArtifactEntry(*row) for row in rows]
        total = s.exec(select(func.count()).select_from(base.subquery())).one()
    return entries, total


def latest_step_of(db: Database, conversation_id: str, tool: str) -> Step | None:
    """The newest successful step of `tool` in any run of the conversation."""
    with db.session(write=False) as s:
        query = (
            select(Step)
            .join(Run, col(Run.id) == Step.run_id)
            .where(Run.conversation_id == conversation_id, Step.name == tool, col(Step.error).is_(None))
            .order_by(col(Step.id).desc())
            .limit(1)
        )
        return s.exec(query).first()


def result_view_of(db: Database, artifact_id: str) -> str | None:
    """What the model was shown of the result an artifact keeps (its step's preview), or None."""
    with db.session(write=False) as s:
        query = select(Step.result_preview).where(Step.artifact_id == artifact_id).order_by(col(Step.id)).limit(1)
        return s.exec(query).first()
