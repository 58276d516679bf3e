"""Keeps a conversation valid for the next request: every assistant tool call gets its tool result."""

from __future__ import annotations

from typing import Any


def _not_run(call: dict[str, Any], reason: str) -> dict[str, Any]:
    return {
        "role": "tool",
        "tool_call_id": call.get("id"),
        "name": call.get("function", {}).get("name"),
        "content": f"Not run: {reason}",
    }


def repaired(messages: list[dict[str, Any]], reason: str) -> list[dict[str, Any]]:
    """The messages with a 'not run' result after each tool call that never got one (stop, budget, crash)."""
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(messages):
        m = messages[i]
        out.append(m)
        i += 1
        if m.get("role") != "assistant" or not m.get("tool_calls"):
            continue
        # Existing results stay right after their assistant message; the missing ones follow them.
        while i < len(messages) and messages[i].get("role") == "tool":
            out.append(messages[i])
            i += 1
        out.extend(_not_run(c, reason) for c in m["tool_calls"] if c.get("id") not in answered)
    return out
