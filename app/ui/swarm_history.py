"""The swarm tree of a reopened conversation: rebuilt from the stored swarm and branch rows (storage/swarms.py,
migration m011_swarms), placed under the `agents__spawn` tool card that started it, as the live view left it.

The rows are turned into the events the live tree folds (SwarmStarted, then one SubagentFinished per branch that
started), so both views draw the same blocks (app/ui/swarm_tree.py). A branch a crash left running (or waiting, or
never started) shows as interrupted: nothing runs it until the conversation's run is resumed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gradio import ChatMessage

from agents.events import SubagentFinished, SwarmStarted
from agents.planner.nodes import parse_arguments
from app.ui.swarm_tree import SwarmTree

SPAWN_TOOL = "agents__spawn"
UNFINISHED = ("pending", "running", "waiting")


def tree_messages(swarm: Any, branches: Sequence[Any], *, live: bool = False) -> list[ChatMessage]:
    """The chat blocks of one stored swarm (live: it is running in this process, so unfinished is not interrupted)."""
    tree = SwarmTree()
    messages: list[ChatMessage] = []
    tree.apply(SwarmStarted(swarm_id=swarm.id, goals=[b.goal for b in branches], concurrency=swarm.concurrency),
               messages)
    for b in branches:
        if b.status == "pending" and live:
            continue  # not started yet: its pending line stays
        status = b.status if live or b.status not in UNFINISHED else "interrupted"
        tree.apply(SubagentFinished(
            swarm_id=swarm.id, index=b.idx, goal=b.goal, subagent_run_id=b.run_id or "", status=status,
            attempt=max(b.attempts, 1), steps=b.steps, tool_calls=b.tool_calls,
            tokens=b.prompt_tokens + b.completion_tokens, cost_usd=b.cost_usd, last_tool=b.last_tool,
            preview=(b.answer or "")[:200], artifact_id=b.artifact_id, error=b.error,
        ), messages)  # fmt: skip
    return messages


def running_here(swarm_id: str) -> bool:
    """Whether this process runs the swarm (imported late: a reopened chat should not load the scheduler first)."""
    from agents.workflows.swarm.scheduler import running

    return running(swarm_id)


def place_trees(history: list[ChatMessage], run_id: str, rows: Sequence[Any],
                trees: Sequence[tuple[Any, Sequence[Any]]], running: Any = lambda swarm_id: False) -> list[ChatMessage]:
    """The run's chat with each of its spawn swarms' tree under the tool card of the call that started it.

    A swarm is found by its key (the run and the call's arguments, agents/workflows/swarm/spawn.swarm_key), as a
    resume finds it; a second identical call replayed the first swarm and gets no second tree.
    """
    from agents.workflows.swarm.spawn import swarm_key

    by_key = {swarm.key: (swarm, branches) for swarm, branches in trees
              if swarm.run_id == run_id and swarm.kind == "spawn"}
    if not by_key:
        return history
    keys: dict[str, str] = {}  # spawn call id -> swarm key
    for row in rows:
        for call in _calls(row.get("tool_calls") if isinstance(row, dict) else getattr(row, "tool_calls", None)):
            fn = call.get("function") or {}
            if fn.get("name") == SPAWN_TOOL:
                keys[call.get("id") or ""] = swarm_key(run_id, parse_arguments(fn.get("arguments")))
    out: list[ChatMessage] = []
    placed: set[str] = set()
    for message in history:
        out.append(message)
        key = keys.get(str((message.metadata or {}).get("id", "")))
        if key in by_key and key not in placed:
            placed.add(key)
            swarm, branches = by_key[key]
            out += tree_messages(swarm, branches, live=running(swarm.id))
    return out


def _calls(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    return [c for c in raw or [] if isinstance(c, dict)]
