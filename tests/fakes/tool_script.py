"""A stateless fake-K2 responder for many conversations at once: each prompt carries its own script of tool calls.

A queue of turns cannot serve concurrent conversations (their requests interleave), so this responder reads the
plan from the user's prompt instead: `script_prompt(calls)` writes it, and every request is answered from its own
messages alone — the k-th request of a turn makes the k-th scripted call, the one after the last call answers with
the text of the tool results it saw (so a test can read them in the answer). Any process, any order, same answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.fakes.k2_wire import ToolCall, Turn

MARK = "SCRIPT:"


def script_prompt(calls: list[tuple[str, dict[str, Any]]], note: str = "") -> str:
    """A user prompt asking the fake model to make these (tool name, arguments) calls one step after another."""
    return f"{note} {MARK}{json.dumps([[name, args] for name, args in calls])}".strip()


def _turn_messages(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The last user prompt and the messages after it (this turn's assistant and tool messages)."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            content = messages[i].get("content")
            return (content if isinstance(content, str) else json.dumps(content)), messages[i + 1:]
    return "", []


def script_responder(delay_s: float = 0.0) -> Callable[[dict[str, Any]], Turn]:
    """A responder for FakeK2Server(responder=...) playing each prompt's script; each answer waits delay_s first."""

    def respond(request: dict[str, Any]) -> Turn:
        prompt, turn = _turn_messages(request.get("messages", []))
        calls: list[list[Any]] = json.loads(prompt.split(MARK, 1)[1]) if MARK in prompt else []
        made = sum(1 for m in turn if m.get("role") == "assistant" and m.get("tool_calls"))
        if made < len(calls):
            name, args = calls[made]
            return Turn(tool_calls=[ToolCall(name, args)], delay_s=delay_s)
        results = [str(m.get("content")) for m in turn if m.get("role") == "tool"]
        return Turn(content="Done. " + " | ".join(results), delay_s=delay_s)

    return respond
