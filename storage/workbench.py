"""The workbench's queries: conversation search, a page of runs with filters and totals, exports."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, UTC
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select

from storage.db import Database
from storage.models import Conversation, Message, Run, Step
from storage.repo import NotFound, to_openai


def search_conversations(db: Database, text: str, limit: int = 50) -> list[Conversation]:
    """Conversations whose title or any message contains `text` (case-insensitive), most recent first."""
    needle = f"%{text.strip()}%"
    with db.session(write=False) as s:
        hit = select(Message.conversation_id).where(col(Message.content).ilike(needle))
        query = (select(Conversation).where(or_(col(Conversation.title).ilike(needle), col(Conversation.id).in_(hit)))
                 .order_by(col(Conversation.updated_at).desc(), col(Conversation.id)).limit(limit))  # fmt: skip
        return list(s.exec(query))


RUN_COLUMNS = (Run.id, Run.conversation_id, Run.status, Run.provider, Run.model, Run.started_at, Run.finished_at,
               Run.steps, Run.prompt_tokens, Run.completion_tokens, Run.cached_tokens, Run.cost_usd)


def _filtered(query: Any, provider: str, model: str, status: str, day: date | None) -> Any:
    if provider:
        query = query.where(Run.provider == provider)
    if model:
        query = query.where(Run.model == model)
    if status:
        query = query.where(Run.status == status)
    if day is not None:
        start = datetime.combine(day, time(), tzinfo=UTC)
        query = query.where(col(Run.started_at) >= start, col(Run.started_at) < start + timedelta(days=1))
    return query


def runs_page(
    db: Database, *, provider: str = "", model: str = "", status: str = "", day: date | None = None,
    offset: int = 0, limit: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """(rows, total matching): the newest runs first, one page, only the columns the Runs view shows."""
    with db.session(write=False) as s:
        query = _filtered(select(*RUN_COLUMNS, Conversation.title).join(Conversation,
                                                                         Conversation.id == Run.conversation_id),
                          provider, model, status, day)
        query = query.order_by(col(Run.started_at).desc(), col(Run.id).desc()).offset(offset).limit(limit)
        rows = [dict(r._mapping) for r in s.exec(query)]
        total = s.exec(_filtered(select(func.count()).select_from(Run), provider, model, status, day)).one()
    return rows, int(total)


def run_filters(db: Database) -> dict[str, list[str]]:
    """The providers, models and statuses that occur, for the filter dropdowns."""
    with db.session(write=False) as s:
        return {name: sorted(v for v in s.exec(select(column).distinct()) if v)
                for name, column in (("provider", Run.provider), ("model", Run.model), ("status", Run.status))}


def totals_by(db: Database, key: str = "day") -> list[dict[str, Any]]:
    """Runs, tokens and cost per day (UTC) or per provider, for the totals table."""
    with db.session(write=False) as s:
        group = func.date(Run.started_at) if key == "day" else Run.provider
        query = (select(group.label("key"), func.count(), func.sum(Run.prompt_tokens + Run.completion_tokens),
                        func.sum(Run.cached_tokens), func.sum(Run.cost_usd))
                 .group_by(group).order_by(group))  # fmt: skip
        return [{"key": str(k), "runs": n, "tokens": int(t or 0), "cached": int(c or 0), "cost_usd": float(u or 0)}
                for k, n, t, c, u in s.exec(query)]


def export_json(db: Database, conversation_id: str) -> str:
    """The conversation as JSON: title, model, every message (tool calls and results included) and run totals."""
    with db.session(write=False) as s:
        conv = s.get(Conversation, conversation_id)
        if conv is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        messages = list(s.exec(select(Message).where(Message.conversation_id == conversation_id)
                               .order_by(col(Message.seq))))  # fmt: skip
        runs = list(s.exec(select(Run).where(Run.conversation_id == conversation_id).order_by(col(Run.started_at))))
    out = {
        "id": conv.id, "title": conv.title, "provider": conv.provider, "model": conv.model,
        "created_at": conv.created_at.isoformat(),
        "messages": [{k: v for k, v in to_openai(m).items() if not k.startswith("_") or k in ("_partial", "_label")}
                     for m in messages],
        "runs": [{"id": r.id, "status": r.status, "provider": r.provider, "model": r.model, "steps": r.steps,
                  "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
                  "cached_tokens": r.cached_tokens, "cost_usd": r.cost_usd, "error": r.error,
                  "started_at": r.started_at.isoformat()} for r in runs],
    }  # fmt: skip
    return json.dumps(out, indent=2, ensure_ascii=False)


def export_markdown(db: Database, conversation_id: str) -> str:
    """The conversation as Markdown: each turn, the answers, and each tool call with its arguments and result."""
    data = json.loads(export_json(db, conversation_id))
    lines = [f"# {data['title']}", "", f"Model: {data['provider']} · {data['model']}", ""]
    for m in data["messages"]:
        role, content = m["role"], (m.get("content") or "").strip()
        if role == "user" and m.get("_label"):
            lines += [f"> {m['_label']}", ""]
        elif role == "user":
            lines += ["## You", "", content, ""]
        elif role == "assistant":
            if content:
                lines += ["## Assistant" + (" (stopped)" if m.get("_partial") else ""), "", content, ""]
            for call in m.get("tool_calls") or []:
                fn = call.get("function") or {}
                lines += [f"**Tool call** `{fn.get('name', '?')}`", "", "```json", str(fn.get("arguments", "")), "```",
                          ""]
        elif role == "tool":
            lines += [f"**Result** of `{m.get('name') or 'tool'}`", "", "```", content[:4000], "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def step_rows(db: Database, run_id: str) -> list[Step]:
    """The run's steps in order (the timeline)."""
    with db.session(write=False) as s:
        return list(s.exec(select(Step).where(Step.run_id == run_id).order_by(col(Step.seq))))
