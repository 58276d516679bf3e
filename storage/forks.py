"""New conversations made from a stored one: a fork from a step of a run, or a copy up to a message (regenerate,
edit and resend). The original is never changed; the copy is linked to it through its first run's meta."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from storage.db import Database
from storage.models import Conversation, Message, Run, Step, utcnow
from storage.repo import NotFound


def _copy_messages(rows: list[Message], conversation_id: str, run_id: str | None) -> list[Message]:
    return [Message(conversation_id=conversation_id, run_id=run_id, seq=i, role=m.role, content=m.content,
                    reasoning_content=m.reasoning_content, tool_calls=m.tool_calls, tool_call_id=m.tool_call_id,
                    name=m.name, extra=m.extra) for i, m in enumerate(rows)]  # fmt: skip


def copy_conversation(db: Database, conversation_id: str, before_seq: int | None, title: str = "") -> Conversation:
    """A new conversation holding the messages before `before_seq` (all with None), each kept with a copy of its
    run, so the history the next run sends is the same; the original is untouched."""
    with db.session() as s:
        source = s.get(Conversation, conversation_id)
        if source is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        query = select(Message).where(Message.conversation_id == conversation_id).order_by(col(Message.seq))
        rows = [m for m in s.exec(query) if before_seq is None or m.seq < before_seq]
        copy = Conversation(title=title or source.title, provider=source.provider, model=source.model)
        s.add(copy)
        s.flush()
        runs: dict[str, Run] = {}
        for rid in dict.fromkeys(m.run_id for m in rows if m.run_id):
            old = s.get(Run, rid)
            if old is None:
                continue
            runs[rid] = Run(conversation_id=copy.id, status=old.status, provider=old.provider, model=old.model,
                            started_at=old.started_at, finished_at=old.finished_at, steps=old.steps,
                            prompt_tokens=0, completion_tokens=0, cached_tokens=0, cost_usd=0.0, error=old.error,
                            skills_used=old.skills_used, meta={"copied_from": rid})  # fmt: skip
            s.add(runs[rid])
        s.flush()
        out = _copy_messages(rows, copy.id, None)
        for new, old_row in zip(out, rows, strict=True):
            new.run_id = runs[old_row.run_id].id if old_row.run_id in runs else None
        s.add_all(out)
        copy.updated_at = utcnow()
    return copy


def _message_index(run_rows: list[Message], step: Step, model_index: int) -> int:
    """Where this step's message sits among the run's messages (its prompt first): a tool step's result, or the
    `model_index`-th assistant message for a model step."""
    if step.kind == "tool":
        for i, m in enumerate(run_rows):
            if m.role == "tool" and m.tool_call_id == step.call_id:
                return i
        raise NotFound(f"step {step.seq + 1} ({step.call_id}) has no stored result")
    seen = 0
    for i, m in enumerate(run_rows):
        if m.role == "assistant" and not (m.extra or {}).get("_partial"):
            seen += 1
            if seen == model_index:
                return i
    raise NotFound(f"step {step.seq + 1} (a model call) has no stored message")


def _kept_messages(run_rows: list[Message], kept: list[Step]) -> list[Message]:
    """The run's messages that belong to the kept steps, plus its prompt and the app's notes among them.

    Parallel tool calls finish in any order, so step N's result may sit before an earlier step's: the messages
    are picked by step, not cut at one position."""
    wanted, models = set(), 0
    for step in kept:
        models += step.kind == "model"
        wanted.add(_message_index(run_rows, step, models))
    last = max(wanted)
    return [m for i, m in enumerate(run_rows) if i in wanted or (i <= last and m.role == "user")]


def fork_from_step(db: Database, run_id: str, step_number: int, title: str = "") -> tuple[Conversation, Run]:
    """A new conversation with the history before the run, the run's prompt and its steps 1..step_number (messages
    and step rows); its run is 'stopped' at that step, marked as forked. The original run is untouched."""
    with db.session(write=False) as s:
        run = s.get(Run, run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r}")
        steps = list(s.exec(select(Step).where(Step.run_id == run_id).order_by(col(Step.seq))))
        if not 1 <= step_number <= len(steps):
            raise NotFound(f"run {run_id[:12]} has steps 1–{len(steps)}, not {step_number}")
        query = select(Message).where(Message.conversation_id == run.conversation_id).order_by(col(Message.seq))
        rows = list(s.exec(query))
    run_rows = [m for m in rows if m.run_id == run_id]
    if not run_rows:
        raise NotFound(f"run {run_id[:12]} stored no messages")
    kept = steps[:step_number]
    chosen = _kept_messages(run_rows, kept)
    before = [m for m in rows if m.seq < run_rows[0].seq]
    with db.session() as s:
        source = s.get(Conversation, run.conversation_id)
        fork = Conversation(title=title or f"{source.title if source else 'Chat'} (fork at step {step_number})",
                            provider=run.provider, model=run.model)
        s.add(fork)
        s.flush()
        forked = Run(conversation_id=fork.id, status="stopped", provider=run.provider, model=run.model,
                     started_at=run.started_at, finished_at=utcnow(), steps=step_number,
                     error=f"Forked from step {step_number} of run {run_id[:12]}.",
                     meta={"forked_from": {"run_id": run_id, "step": step_number}})  # fmt: skip
        s.add(forked)
        s.flush()
        earlier = _copy_messages(before, fork.id, None)
        own = _copy_messages(chosen, fork.id, forked.id)
        for i, m in enumerate(own):
            m.seq = len(earlier) + i
        s.add_all([*earlier, *own])
        s.add_all(Step(run_id=forked.id, seq=st.seq, kind=st.kind, name=st.name, call_id=st.call_id, args=st.args,
                       result_preview=st.result_preview, message=st.message, prompt_tokens=st.prompt_tokens,
                       completion_tokens=st.completion_tokens, cached_tokens=st.cached_tokens, cost_usd=st.cost_usd,
                       duration_s=st.duration_s, error=st.error, created_at=st.created_at) for st in kept)  # fmt: skip
    return fork, forked


def message_seq_of_turn(db: Database, conversation_id: str, turn: int) -> int | None:
    """The seq of the conversation's `turn`-th user message (0-based), None when there is no such turn."""
    with db.session(write=False) as s:
        query = (select(Message.seq, Message.extra).where(Message.conversation_id == conversation_id,
                                                          Message.role == "user").order_by(col(Message.seq)))
        # Notes the app gave the model and workflow prompts are not turns the user typed.
        seqs = [seq for seq, extra in s.exec(query) if not ({"_note", "_label"} & set(extra or {}))]
    return seqs[turn] if 0 <= turn < len(seqs) else None


def fork_summary(run: Any) -> str:
    """'forked from step 3 of run 1a2b…' for a run made by fork_from_step, '' otherwise."""
    info = (run.meta or {}).get("forked_from") if run is not None else None
    return f"forked from step {info['step']} of run {info['run_id'][:12]}" if info else ""


def replay_source(db: Database, run_id: str) -> tuple[str, int, str, str | None]:
    """(conversation id, seq, text, label) of the prompt that started a run: a replay copies the messages before
    that seq into a new conversation and sends the prompt again there."""
    with db.session(write=False) as s:
        run = s.get(Run, run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r}")
        query = (select(Message).where(Message.run_id == run_id, Message.role == "user")
                 .order_by(col(Message.seq)).limit(1))  # fmt: skip
        prompt = s.exec(query).first()
        if prompt is None:
            raise NotFound(f"run {run_id[:12]} stored no prompt")
        return run.conversation_id, prompt.seq, prompt.content or "", (prompt.extra or {}).get("_label")
