"""The workbench's queries: conversation search, a page of runs with filters and totals, exports."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, UTC
from typing import Any

from sqlalchemy import func, or_, text
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


_EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))
# One prebuilt statement for every filter combination (an empty filter matches all; the time range always applies,
# so the newest-first order reads the started_at index of migration 10). Plain SQL that SQLite and Postgres share:
# going through SQLAlchemy's statement compiler and its type layer for 51 rows cost more than the query itself.
# The times come back as the driver gives them (SQLite: ISO text, Postgres: datetime); the view reads either.
_PAGE = text(
    "SELECT runs.id, runs.conversation_id, runs.status, runs.provider, runs.model, runs.started_at,"
    " runs.finished_at, runs.steps, runs.prompt_tokens, runs.completion_tokens, runs.cached_tokens, runs.cost_usd,"
    " conversations.title FROM runs JOIN conversations ON conversations.id = runs.conversation_id"
    " WHERE (:provider = '' OR runs.provider = :provider) AND (:model = '' OR runs.model = :model)"
    " AND (:status = '' OR runs.status = :status) AND runs.started_at >= :start AND runs.started_at < :end"
    " ORDER BY runs.started_at DESC, runs.id DESC LIMIT :limit OFFSET :offset"
)


def _stored_time(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)  # the columns hold naive UTC (models.UTCDateTime)


def runs_page(
    db: Database, *, provider: str = "", model: str = "", status: str = "", day: date | None = None,
    offset: int = 0, limit: int = 50,
) -> tuple[list[Any], bool]:
    """(rows, more): one page of runs, newest first, only the columns the Runs view shows, and whether older ones
    follow. No COUNT over the table: the next page is known by reading one row more."""
    start, end = _EVER
    if day is not None:
        start = datetime.combine(day, time(), tzinfo=UTC)
        end = start + timedelta(days=1)
    params = {"provider": provider, "model": model, "status": status, "start": _stored_time(start),
              "end": _stored_time(end), "limit": limit + 1, "offset": offset}  # fmt: skip
    with db.engine.connect() as conn:
        rows = list(conn.execute(_PAGE, params))  # Row: fields by name (row.model), no copy into dicts
    return rows[:limit], len(rows) > limit


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


def usage_mix(db: Database, days: int = 30) -> tuple[float, float, float, int]:
    """(tokens per active day, output share, cache share, active days) over the last `days` days of runs."""
    since = (datetime.now(UTC) - timedelta(days=days)).replace(tzinfo=None)
    with db.session(write=False) as s:
        prompt, completion, cached, active = s.exec(
            select(func.sum(Run.prompt_tokens), func.sum(Run.completion_tokens), func.sum(Run.cached_tokens),
                   func.count(func.distinct(func.date(Run.started_at))))
            .where(col(Run.started_at) >= since)
        ).one()  # fmt: skip
    prompt, completion, cached, active = int(prompt or 0), int(completion or 0), int(cached or 0), int(active or 0)
    total = prompt + completion
    if not total or not active:
        return 0.0, 0.0, 0.0, 0
    return total / active, completion / total, (cached / prompt if prompt else 0.0), active
