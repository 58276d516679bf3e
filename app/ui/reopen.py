"""A reopened conversation shows what the user saw: each run's messages, then how it ended (stop reason, error in
the user's words), and the status line carries the last run's honest badge."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gradio import ChatMessage

from app.ui.plain_error import in_user_words
from app.ui.render import format_usage, history_from_messages, notice_html
from app.ui.run_badge import REASON_OF_STATUS, badge, documents_attached
from app.ui.swarm_history import place_trees

_ENDINGS = {"failed": ("error", "The run failed."), "stopped": ("info", ""), "budget": ("error", "Budget reached."),
            "loop": ("error", "Stopped: the agent kept repeating the same tool call."),
            "interrupted": ("error", "The run was interrupted.")}


def _ending(run: Any) -> ChatMessage | None:
    """The notice under a run that did not finish normally (None for done, running and waiting runs)."""
    if run.status not in _ENDINGS:
        return None
    level, title = _ENDINGS[run.status]
    detail = in_user_words(run.error or "")
    if run.status == "stopped" and not detail:
        detail = "Stopped by the user."
    return ChatMessage(content=notice_html(level, detail, title if detail != title else ""))


def _last_answer(rows: Sequence[Any]) -> str:
    return next((r.content or "" for r in reversed(rows) if r.role == "assistant" and r.content), "")


def run_badge(run: Any, rows: Sequence[Any]) -> str:
    """The badge a stored run earned (the same rule as the live one)."""
    tool_not_called = bool((run.meta or {}).get("tool_not_called"))  # hook: issue 17 may record the flag here
    return badge(REASON_OF_STATUS.get(run.status, run.status), _last_answer(rows), documents=documents_attached(run),
                 tool_not_called=tool_not_called)


def summary(runs: Sequence[Any], last_badge: str = "") -> str:
    """'✓ answered · kimi-k2 · 2 runs · 1,234 tokens · $0.01 · skills: …' for the status line of a reopened chat."""
    if not runs:
        return ""
    tokens = sum((r.prompt_tokens or 0) + (r.completion_tokens or 0) for r in runs)
    cached = sum(r.cached_tokens or 0 for r in runs)
    cost = sum(r.cost_usd or 0.0 for r in runs)
    skills = list(dict.fromkeys(s for r in runs for s in (r.skills_used or [])))
    parts = [last_badge, runs[-1].model, f"{len(runs)} run{'s' if len(runs) != 1 else ''}",
             format_usage(tokens, cost, cached), f"skills: {', '.join(skills)}" if skills else ""]
    return " · ".join(p for p in parts if p)


def restore(rows: Sequence[Any], steps: Sequence[Any], runs: Sequence[Any],
            trees: Sequence[tuple[Any, Sequence[Any]]] = (),
            running: Callable[[str], bool] = lambda swarm_id: False) -> tuple[list[ChatMessage], str]:
    """(chat history, status line) of a stored conversation; `trees` are its swarms with their branches
    (storage/swarms.trees_for_conversation), each shown under its agents__spawn card; `running` tells a swarm this
    process is running."""
    by_run: dict[str | None, list[Any]] = {}
    for row in rows:
        by_run.setdefault(row.run_id, []).append(row)
    history: list[ChatMessage] = history_from_messages(by_run.pop(None, []), steps)
    last_badge = ""
    for run in runs:
        own = by_run.pop(run.id, [])
        history += place_trees(history_from_messages(own, steps), run.id, own, trees, running)
        ending = _ending(run)
        if ending is not None:
            history.append(ending)
        last_badge = run_badge(run, own)
    for leftover in by_run.values():  # messages of a run that no longer exists: still shown, in order
        history += history_from_messages(leftover, steps)
    return history, summary(runs, last_badge)
