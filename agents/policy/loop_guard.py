"""Detects a model repeating the same tool call: nudge at 3 in a row, stop at 5."""

from __future__ import annotations

import json
from typing import Any

NUDGE_AT = 3
STOP_AT = 5


def _signature(call: dict[str, Any]) -> str:
    fn = call.get("function", {})
    raw = fn.get("arguments") or "{}"
    try:
        args = json.dumps(json.loads(raw), sort_keys=True)
    except (ValueError, TypeError):
        args = str(raw)
    return f"{fn.get('name')}:{args}"


def repeat_streak(messages: list[dict[str, Any]]) -> tuple[int, str | None]:
    """How many times the latest tool call was repeated identically in a row, and its tool name."""
    # Walk back from the end and stop at the first different call: the check runs before every model call,
    # so it must not grow with the length of the run.
    last: str | None = None
    streak = 0
    for message in reversed(messages):
        if message.get("role") != "assistant":
            continue
        for call in reversed(message.get("tool_calls") or []):
            sig = _signature(call)
            if last is None:
                last = sig
            elif sig != last:
                return streak, last.split(":", 1)[0]
            streak += 1
    return streak, (last.split(":", 1)[0] if last else None)


def nudge_message(name: str, streak: int) -> dict[str, Any]:
    """A note to the model that it is repeating itself (sent as a user turn so every provider accepts it)."""
    return {
        "role": "user",
        "content": f"[K2 Agent Hub] You have called {name} with the same arguments {streak} times in a row and got the "
        "same result. Do not repeat it: change the arguments, use another tool, or answer with what you have. "
        f"The run stops at {STOP_AT} identical calls.",
        "_note": True,  # written by the app, not the user: the chat shows it as a notice
    }
