"""Progressive disclosure of Agent-Hub skills: a short list in the system prompt, bodies only when the model asks.

Each run's system prompt names the few skills whose name, description or body match the user's request (registry
full-text search); the model reads a body with `skills_hub__load_skill` when one fits. When such a call succeeds
the run records "name@version" in Run.skills_used, so a run's details say which procedure it followed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select

from agents.hub import tool_names as tn
from agents.planner.tools import PlannerTool
from storage.db import Database
from storage.models import Message, Run

log = logging.getLogger(__name__)

LOAD_TOOL = tn.SKILL_LOAD
MAX_LISTED = 5
DESCRIPTION_CHARS = 240
MIN_SHARED = 2  # request words a listed skill's name or description must share (1 for one-word requests)
MIN_TERM_CHARS = 3  # shorter words prefix-match too much ('go' matches 'good')
# Below this context window (the embedded local model's 8K) a skill body would crowd out the task itself.
MIN_CONTEXT_WINDOW = 32_768
_VERSION_LINE = re.compile(r"\b([a-z0-9]+(?:-[a-z0-9]+)*)@(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)")


def ensure_builtin(db: Database) -> None:
    """Install or upgrade the built-in skills (idempotent); a broken built-in is logged, never fatal at start-up."""
    try:
        from skills.registry import Registry

        Registry(db).ensure_builtin()
    except Exception:  # the app must start even if a built-in skill or the registry is broken
        log.exception("installing the built-in skills failed")


def run_prompt(db: Database, run_id: str) -> str:
    """The user's prompt that started the run (its first user message), or ''."""
    with db.session(write=False) as s:
        query = (
            select(Message.content)
            .where(Message.run_id == run_id, Message.role == "user")
            .order_by(col(Message.seq))
            .limit(1)
        )
        return s.exec(query).first() or ""


def relevant(db: Database, prompt: str, limit: int = MAX_LISTED) -> list[Any]:
    """Registry search hits for the prompt (best first); none when the registry cannot answer."""
    if not prompt.strip():
        return []
    try:
        from skills.index import terms
        from skills.registry import Registry

        # Search more than we show: hits that match only in a body are dropped below. Only trusted skills (built-in,
        # or marked trusted by the user) reach the system prompt: a third-party description is not instructions.
        registry = Registry(db)
        trusted = registry.trusted_names()
        hits = [h for h in registry.search(prompt, limit=limit * 3) if h.name in trusted]
        words = [w for w in terms(prompt) if len(w) >= MIN_TERM_CHARS]
    except Exception:  # a search failure must not stop the run; the model can still call search_skills
        log.exception("skill search failed")
        return []
    if not words:
        return []
    # Rank by how many of the request's words the name and description share, then by the index's score.
    matched = [(n, h) for h in hits if (n := _shared_words(h, words)) >= min(MIN_SHARED, len(words))]
    matched.sort(key=lambda pair: (-pair[0], -pair[1].score))
    return [h for _, h in matched][:limit]


def _shared_words(hit: Any, words: list[str]) -> int:
    """How many of the request's words start a word of the skill's name or description.

    Full-text search over bodies matches common words ('write', 'file') in most skills, and bm25 gives words that
    most skills share almost no weight; listing such hits would make every system prompt longer for nothing. So a
    skill is listed when its own name and description share enough of the request's words.
    """
    own = re.findall(r"\w+", f"{hit.name.replace('-', ' ')} {hit.description}".lower())
    return sum(any(w.startswith(term) for w in own) for term in words)


def prompt_section(hits: list[Any]) -> str:
    """The system-prompt block listing the hits, or '' when there are none."""
    if not hits:
        return ""
    lines = [
        "",
        "## Skills",
        (
            "Agent-Hub skills that may fit this request (name, version: what it is for). When one fits, call "
            f"`{LOAD_TOOL}` with its name before you start and follow its procedure; load only what you need. "
            "`skills_hub__search_skills` finds others."
        ),
    ]
    for hit in hits:
        description = " ".join(str(hit.description).split())
        if len(description) > DESCRIPTION_CHARS:
            description = description[: DESCRIPTION_CHARS - 1].rstrip() + "…"
        lines.append(f"- {hit.name} ({hit.version}): {description}")
    return "\n".join(lines) + "\n"


def section_for_run(db: Database, run_id: str, tools: Sequence[dict[str, Any]], context_window: int) -> str:
    """The skills block for a run's system prompt: only when the model can load skills and has room for them."""
    if context_window < MIN_CONTEXT_WINDOW or not any(_tool_name(t) == LOAD_TOOL for t in tools):
        return ""
    return prompt_section(relevant(db, run_prompt(db, run_id)))


def _tool_name(tool: dict[str, Any]) -> str:
    return str((tool.get("function") or {}).get("name", ""))


def loaded_ref(db: Database, name: str, args: Any, result_text: str, is_error: bool) -> str | None:
    """'name@version' for a successful load_skill call, else None.

    The version is read from the tool's result when it names it ("name@1.2.0"), else from the registry: the
    version the call asked for, or the one in use (pinned or latest).
    """
    if name != LOAD_TOOL or is_error or not isinstance(args, dict) or not isinstance(args.get("name"), str):
        return None
    skill = args["name"]
    for found, version in _VERSION_LINE.findall(result_text[:2000]):
        if found == skill:
            return f"{skill}@{version}"
    try:
        from skills.registry import Registry

        return f"{skill}@{Registry(db).get(skill, args.get('version') or None).version}"
    except Exception:  # noqa: BLE001 - an unknown skill was not loaded; nothing to record
        return None


def record_use(db: Database, run_id: str, ref: str) -> list[str]:
    """Add ref to the run's skills_used (once, in call order); concurrent tool calls serialise on the row."""
    with db.session() as s:
        run = s.get(Run, run_id, with_for_update=True)
        if run is None:
            return []
        used = list(run.skills_used or [])
        if ref not in used:
            run.skills_used = [*used, ref]
        return list(run.skills_used or [])


def note_tool_call(db: Database, run_id: str, name: str, args: Any, result_text: str, is_error: bool) -> None:
    """After each tool call (in a worker thread): record a skill the model just loaded."""
    ref = loaded_ref(db, name, args, result_text, is_error)
    if ref is not None:
        record_use(db, run_id, ref)


def planner_tool() -> PlannerTool:
    """Skills in runs: built-ins installed when the agent opens, the fitting skills listed in the system prompt, and
    every successful load_skill call recorded on the run (the hub runs the call; this only watches it)."""

    async def after(ctx: Any, args: Any, result: Any) -> None:
        await asyncio.to_thread(note_tool_call, ctx.db, ctx.run_id, LOAD_TOOL, args, result.text, result.is_error)

    return PlannerTool(LOAD_TOOL, after=after, prompt=section_for_run, prepare=ensure_builtin)


def skills_used(db: Database, run_id: str) -> list[str]:
    """The skills a run loaded, as 'name@version', in the order it loaded them."""
    with db.session(write=False) as s:
        run = s.get(Run, run_id)
        return list(run.skills_used or []) if run is not None else []
