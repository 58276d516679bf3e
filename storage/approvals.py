"""The approval audit trail and the untrusted content a conversation has read (which makes risky calls need one).

`untrusted_reads` records every tool result that came from an untrusted server (browser, pdf_reader, external
servers not marked trusted), with the URL or document it came from; it is the conversation's "taint" and survives
restarts. `approvals` records every risky call that had to ask, what it would run, why, and the user's decision.
Both are written by the planner (agents/policy/approval.py) and read by the UI and the CLI.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Integer, UniqueConstraint, and_, bindparam, not_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel, Text, col, select

from storage.db import Database
from storage.models import Run, UTCDateTime, _json, utcnow

DECISIONS = ("pending", "approved", "denied")


class UntrustedRead(SQLModel, table=True):
    """One tool result from an untrusted server that a conversation's model has seen."""

    __tablename__ = "untrusted_reads"
    __table_args__ = (
        UniqueConstraint("run_id", "call_id", name="uq_untrusted_reads_run_call"),
        Index("ix_untrusted_reads_conversation", "conversation_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", ondelete="CASCADE")
    run_id: str = Field(foreign_key="runs.id", ondelete="CASCADE")
    call_id: str = Field(description="The tool call whose result was untrusted.")
    tool: str = Field(description="Namespaced tool name, e.g. browser__open.")
    source: str = Field(default="", description="URL, document or server the content came from.")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Approval(SQLModel, table=True):
    """A risky tool call in a conversation that had read untrusted content, and what the user decided."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("run_id", "call_id", name="uq_approvals_run_call"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", ondelete="CASCADE", index=True)
    call_id: str = Field(description="The tool call waiting for (or given) a decision.")
    tool: str = Field(description="Namespaced tool name.")
    arguments: Any = Field(default=None, sa_column=_json())
    risk: str = Field(default="", description="What the call would do, e.g. 'runs code in the sandbox'.")
    reason: str = Field(default="", sa_type=Text, description="Why it asks: the untrusted content read before.")
    decision: str = Field(default="pending", index=True, description="pending, approved or denied.")
    note: str = Field(default="", sa_type=Text, description="What the user said with the decision.")
    requested_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


TABLES = (UntrustedRead, Approval)
"""The tables migration 4 creates, in dependency order."""


def _insert_ignore(db: Database, table: Any, values: dict[str, Any], keys: list[str]) -> None:
    """INSERT that leaves an existing (run_id, call_id) row alone: a resumed run records the same thing again."""
    insert = sqlite_insert if db.dialect == "sqlite" else pg_insert
    with db.write_connection() as conn:
        conn.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=keys))


# ---- untrusted reads -----------------------------------------------------------------------------------


def record_untrusted_read(
    db: Database, conversation_id: str, run_id: str, call_id: str, tool: str, source: str
) -> None:
    """Remember that the conversation's model has seen this untrusted result (idempotent per call)."""
    values = {"conversation_id": conversation_id, "run_id": run_id, "call_id": call_id, "tool": tool,
              "source": source[:2000], "created_at": utcnow()}  # fmt: skip
    _insert_ignore(db, UntrustedRead.__table__, values, ["run_id", "call_id"])


def untrusted_reads(
    db: Database, conversation_id: str, *, exclude_run: str = "", exclude_calls: Collection[str] = (), limit: int = 20
) -> list[UntrustedRead]:
    """The conversation's untrusted reads, most recent first; `exclude_calls` of run `exclude_run` left out."""
    with db.engine.connect() as conn:
        return _reads(conn, conversation_id, exclude_run, exclude_calls, limit)


def gate_reads(
    db: Database, run_id: str, call_id: str, conversation_id: str, *, exclude_calls: Collection[str] = (),
    with_reads: bool = True, limit: int = 20,
) -> tuple[Approval | None, list[UntrustedRead]]:
    """What the approval gate reads before a risky call, in one connection (a tool call's hot path: ORM sessions
    cost more than the queries): the call's approval row, and when it has none and `with_reads`, the conversation's
    untrusted reads as `untrusted_reads(..., exclude_run=run_id)` returns them."""
    approval, _ = _queries()
    with db.engine.connect() as conn:
        row = conn.execute(approval, {"run_id": run_id, "call_id": call_id}).first()
        if row is not None:
            return Approval(**row._mapping), []
        if not with_reads:
            return None, []
        return None, _reads(conn, conversation_id, run_id, exclude_calls, limit)


def _reads(conn: Any, conversation_id: str, exclude_run: str, exclude_calls: Collection[str],
           limit: int) -> list[UntrustedRead]:
    params = {"conversation_id": conversation_id, "exclude_run": exclude_run if exclude_calls else "",
              "exclude_calls": list(exclude_calls), "limit": limit}
    return [UntrustedRead(**r._mapping) for r in conn.execute(_queries()[1], params)]


@functools.cache
def _queries() -> tuple[Any, Any]:
    """The approval row of a call, and a conversation's recent untrusted reads less one batch (run id and an
    expanding IN of its call ids, empty when nothing is left out): built once with bound parameters, because building
    them per call cost more than running them on the gate's hot path."""
    table, reads = Approval.__table__, UntrustedRead.__table__
    approval = select(table).where(table.c.run_id == bindparam("run_id"), table.c.call_id == bindparam("call_id"))
    same_batch = and_(reads.c.run_id == bindparam("exclude_run"),
                      reads.c.call_id.in_(bindparam("exclude_calls", expanding=True)))
    recent = (select(*reads.c).where(reads.c.conversation_id == bindparam("conversation_id"), not_(same_batch))
              .order_by(reads.c.created_at.desc(), reads.c.id.desc()).limit(bindparam("limit", type_=Integer)))
    return approval, recent


# ---- approvals -----------------------------------------------------------------------------------------


def request_approval(
    db: Database, run_id: str, call_id: str, tool: str, arguments: Any, risk: str, reason: str
) -> Approval:
    """The approval row for this call: created pending, or the existing one (decided or not) unchanged."""
    values = {"run_id": run_id, "call_id": call_id, "tool": tool, "arguments": arguments, "risk": risk,
              "reason": reason, "decision": "pending", "note": "", "requested_at": utcnow()}  # fmt: skip
    _insert_ignore(db, Approval.__table__, values, ["run_id", "call_id"])
    found = get_approval(db, run_id, call_id)
    assert found is not None  # just inserted, or already there
    return found


def get_approval(db: Database, run_id: str, call_id: str) -> Approval | None:
    """The approval of one call, or None when it never had to ask."""
    with db.session(write=False) as s:
        return s.exec(select(Approval).where(Approval.run_id == run_id, Approval.call_id == call_id)).first()


def decide(db: Database, run_id: str, call_id: str, approved: bool, note: str = "") -> Approval:
    """Record the user's decision; a call already decided keeps its first decision (raises if it differs)."""
    decision = "approved" if approved else "denied"
    with db.session() as s:
        row = s.exec(
            select(Approval).where(Approval.run_id == run_id, Approval.call_id == call_id).with_for_update()
        ).first()
        if row is None:
            raise LookupError(f"No approval is waiting for call {call_id!r} of run {run_id!r}.")
        if row.decision != "pending":
            if row.decision != decision:
                raise ValueError(f"Call {call_id!r} was already {row.decision} at {row.decided_at:%Y-%m-%d %H:%M}.")
            return row
        row.decision, row.note, row.decided_at = decision, note, utcnow()
        s.add(row)
    return row


def approvals_for_run(db: Database, run_id: str, *, pending_only: bool = False) -> list[Approval]:
    """The run's approvals in the order they were asked for."""
    with db.session(write=False) as s:
        query = select(Approval).where(Approval.run_id == run_id)
        if pending_only:
            query = query.where(Approval.decision == "pending")
        return list(s.exec(query.order_by(col(Approval.requested_at), col(Approval.id))))


def pending_for_conversation(db: Database, conversation_id: str) -> list[Approval]:
    """Calls still waiting for a decision in the conversation's waiting runs, oldest first (what the UI shows)."""
    with db.session(write=False) as s:
        query = (
            select(Approval)
            .join(Run, col(Run.id) == col(Approval.run_id))
            .where(Run.conversation_id == conversation_id, Run.status == "waiting", Approval.decision == "pending")
            .order_by(col(Approval.requested_at), col(Approval.id))
        )
        return list(s.exec(query))
