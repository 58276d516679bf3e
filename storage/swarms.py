"""Agent swarms (issue 20): one row per fan-out (its plan) and one per sub-agent branch (its state and result).

A swarm belongs to the parent run that called `agents__spawn` (or analyze_documents) and is found again by its
key, a hash of that run and the call's arguments: a resumed parent that replays the same call finds the stored
plan, replays the finished branches from their stored results and runs only the unfinished ones.
Written by agents/workflows/swarm/, read by the chat's swarm tree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint, update
from sqlalchemy.exc import NoResultFound
from sqlmodel import Field, SQLModel, col, select

from storage.db import Database
from storage.models import UTCDateTime, _json, new_id, utcnow

BRANCH_STATES = ("pending", "running", "done", "failed", "budget", "stopped")
FINISHED = frozenset({"done", "failed", "budget", "stopped"})
"""Branch states a resume replays instead of running again."""


class Swarm(SQLModel, table=True):
    """One fan-out: the parent run, the shared brief and the concurrency cap it was planned with."""

    __tablename__ = "swarms"
    __table_args__ = (UniqueConstraint("run_id", "key", name="uq_swarms_run_key"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    run_id: str = Field(foreign_key="runs.id", ondelete="CASCADE", index=True, description="The parent run.")
    conversation_id: str = Field(foreign_key="conversations.id", ondelete="CASCADE", index=True)
    key: str = Field(description="Hash of the parent run and the call's arguments: what a resume looks up.")
    kind: str = Field(default="spawn", description="'spawn' (agents__spawn) or 'documents' (analyze_documents).")
    brief: str = Field(default="", sa_type=Text, description="Shared context every sub-agent reads.")
    concurrency: int = 4
    status: str = Field(default="running", description="running, done or stopped.")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class SwarmBranch(SQLModel, table=True):
    """One sub-agent of a swarm: its task, its state, its usage and (once finished) its result."""

    __tablename__ = "swarm_branches"
    __table_args__ = (UniqueConstraint("swarm_id", "idx", name="uq_swarm_branches_swarm_idx"),)

    id: int | None = Field(default=None, primary_key=True)
    swarm_id: str = Field(foreign_key="swarms.id", ondelete="CASCADE", index=True)
    idx: int = Field(description="Position of the task in the plan, from 0.")
    goal: str = Field(sa_type=Text)
    task: dict[str, Any] | None = Field(default=None, sa_column=_json(), description="The task as planned (tools, "
                                        "output schema, workflow data).")
    status: str = Field(default="pending", description="One of BRANCH_STATES.")
    attempts: int = Field(default=0, description="Sub-agent runs started for it (a failed one is retried once).")
    run_id: str | None = Field(default=None, foreign_key="runs.id", ondelete="SET NULL",
                               description="The last sub-agent run.")
    answer: str = Field(default="", sa_type=Text, description="The sub-agent's final message.")
    result: Any = Field(default=None, sa_column=_json(), description="Structured result (validated when a schema "
                        "was given).")
    artifact_id: str | None = Field(default=None, foreign_key="artifacts.id", ondelete="SET NULL",
                                    description="The full result, for the parent to read.")
    error: str | None = Field(default=None, sa_type=Text)
    steps: int = 0
    tool_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    last_tool: str = ""
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


TABLES: tuple[type[SQLModel], ...] = (Swarm, SwarmBranch)
"""The tables migration 11 creates, in dependency order."""


def open_swarm(db: Database, run_id: str, conversation_id: str, key: str, kind: str, brief: str, concurrency: int,
               goals: list[tuple[str, dict[str, Any]]]) -> tuple[Swarm, list[SwarmBranch]]:
    """The swarm of this key (stored plan kept as it was) or a new one with a pending branch per (goal, task)."""
    with db.session() as s:
        found = s.exec(select(Swarm).where(Swarm.run_id == run_id, Swarm.key == key)).first()
        if found is None:
            found = Swarm(run_id=run_id, conversation_id=conversation_id, key=key, kind=kind, brief=brief,
                          concurrency=concurrency)
            s.add(found)
            s.flush()
            for idx, (goal, task) in enumerate(goals):
                s.add(SwarmBranch(swarm_id=found.id, idx=idx, goal=goal, task=task))
        else:
            found.status, found.updated_at = "running", utcnow()
            s.add(found)
    return found, branches(db, found.id)


def branches(db: Database, swarm_id: str) -> list[SwarmBranch]:
    """The swarm's branches in plan order."""
    with db.session(write=False) as s:
        return list(s.exec(select(SwarmBranch).where(SwarmBranch.swarm_id == swarm_id).order_by(SwarmBranch.idx)))


def update_branch(db: Database, swarm_id: str, idx: int, **fields: Any) -> None:
    """Set columns of one branch (status, usage, result …)."""
    unknown = set(fields) - set(SwarmBranch.model_fields)
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)} on a swarm branch")
    if "status" in fields and fields["status"] not in BRANCH_STATES:
        raise ValueError(f"branch status must be one of {BRANCH_STATES}, not {fields['status']!r}")
    # One UPDATE on a Core connection: each sub-agent sets its branch twice, from worker threads beside the running
    # swarm, and an ORM session's load-then-flush cost three times as much CPU (~1 ms) while holding the write lock.
    table = SwarmBranch.__table__
    with db.write_connection() as conn:
        done = conn.execute(update(table).where(table.c.swarm_id == swarm_id, table.c.idx == idx)
                            .values(**fields, updated_at=utcnow()))
        if done.rowcount != 1:
            raise NoResultFound(f"swarm {swarm_id} has no branch {idx}")


def finish_swarm(db: Database, swarm_id: str, status: str) -> None:
    """Mark the swarm done or stopped."""
    with db.session() as s:
        row = s.get(Swarm, swarm_id)
        if row is not None:
            row.status, row.updated_at = status, utcnow()
            s.add(row)


def swarms_for_run(db: Database, run_id: str) -> list[Swarm]:
    """The swarms a run started, oldest first (the chat's swarm tree)."""
    with db.session(write=False) as s:
        return list(s.exec(select(Swarm).where(Swarm.run_id == run_id).order_by(Swarm.created_at)))


def trees_for_conversation(db: Database, conversation_id: str) -> list[tuple[Swarm, list[SwarmBranch]]]:
    """Every swarm of a conversation with its branches in plan order, oldest first (a reopened chat's trees)."""
    with db.session(write=False) as s:
        found = list(s.exec(select(Swarm).where(Swarm.conversation_id == conversation_id).order_by(Swarm.created_at)))
        rows = list(s.exec(select(SwarmBranch).where(col(SwarmBranch.swarm_id).in_([w.id for w in found]))
                           .order_by(SwarmBranch.swarm_id, SwarmBranch.idx))) if found else []
    by_swarm: dict[str, list[SwarmBranch]] = {}
    for row in rows:
        by_swarm.setdefault(row.swarm_id, []).append(row)
    return [(w, by_swarm.get(w.id, [])) for w in found]
