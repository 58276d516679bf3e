"""Stores what a run produced in one transaction, so a crash never leaves a half-written answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import col, delete, func, select

from storage.db import Database
from storage.models import Conversation, Message, Run, utcnow
from storage.repo import _check_final_status, _get, _message_row


def store_run_result(
    db: Database,
    run_id: str,
    conversation_id: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    status: str,
    error: str | None = None,
    steps: int = 0,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cached_tokens: int = 0,
    cost_usd: float = 0.0,
) -> Run:
    """Replace the run's messages after its first (the user's prompt) with `messages` and close the run.

    Idempotent: a resumed run that stores again replaces what an interrupted store wrote.
    """
    _check_final_status(status)
    with db.session() as s:
        conv = _get(s, Conversation, conversation_id, lock=True)
        run = _get(s, Run, run_id, lock=True)
        first = s.exec(select(func.min(Message.seq)).where(Message.run_id == run_id)).one()
        if first is not None:
            s.exec(delete(Message).where(col(Message.run_id) == run_id, col(Message.seq) > first))  # type: ignore[call-overload]
        last = s.exec(select(func.max(Message.seq)).where(Message.conversation_id == conversation_id)).one()
        start = -1 if last is None else last
        s.add_all(_message_row(conversation_id, run_id, start + 1 + i, m) for i, m in enumerate(messages))
        run.status, run.error, run.finished_at = status, error, utcnow()
        run.steps, run.prompt_tokens, run.completion_tokens = steps, prompt_tokens, completion_tokens
        run.cached_tokens, run.cost_usd = cached_tokens, cost_usd
        conv.updated_at = utcnow()
    return run
