"""One assistant message assembled from a model's answer: streamed chunks, or a whole answer read as one chunk.

Text reaches the screen through the marker filter (a tool call the model wrote as text is never shown); reasoning is
emitted as it comes; tool calls are put together from their pieces. plain_answer is litellm's complete answer as
plain JSON data, the form the model worker sends back (agents/models/call_worker.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from agents.events import Event, ReasoningDelta, TextDelta
from agents.models.toolcall_text import MarkerFilter


@dataclass
class Assembly:
    """Pieces of one streamed assistant message."""

    reasoning: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    usage: Any = None
    finish: str | None = None


def absorb_chunk(chunk: Any, acc: Assembly, shown: MarkerFilter, emit: Callable[[Event], None]) -> None:
    """One streamed chunk."""
    usage = getattr(chunk, "usage", None)
    if usage:
        acc.usage = usage
    for choice in getattr(chunk, "choices", None) or []:
        delta = choice.delta
        absorb_piece(acc, shown, emit, getattr(delta, "reasoning_content", None), delta.content, choice.finish_reason)
        for tc in getattr(delta, "tool_calls", None) or []:
            function = tc.function
            absorb_call(acc, tc.index or 0, tc.id, function.name if function is not None else None,
                         function.arguments if function is not None else None)


def absorb_piece(acc: Assembly, shown: MarkerFilter, emit: Callable[[Event], None], reasoning: str | None,
                  content: str | None, finish: str | None) -> None:
    if reasoning:
        acc.reasoning.append(reasoning)
        emit(ReasoningDelta(text=reasoning))
    if content:
        acc.text.append(content)
        visible = shown.feed(content)
        if visible:
            emit(TextDelta(text=visible))
    if finish:
        acc.finish = finish


def absorb_call(acc: Assembly, index: int, call_id: str | None, name: str | None, arguments: str | None) -> None:
    slot = acc.calls.setdefault(index, {"id": None, "name": "", "arguments": ""})
    if call_id:
        slot["id"] = call_id
    if name:
        slot["name"] += name
    if arguments:
        slot["arguments"] += arguments


def absorb_whole(answer: dict[str, Any], acc: Assembly, shown: MarkerFilter, emit: Callable[[Event], None]) -> None:
    """A complete answer (see `plain_answer`) read as a single chunk whose message is its delta."""
    if answer["usage"] is not None:
        prompt, completion, cached = answer["usage"]
        acc.usage = SimpleNamespace(prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached)
    for choice in answer["choices"]:
        absorb_piece(acc, shown, emit, choice["reasoning"], choice["content"], None)
        for position, call in enumerate(choice["tool_calls"]):  # a complete answer's calls carry no index
            absorb_call(acc, position, call["id"], call["name"], call["arguments"])
        absorb_piece(acc, shown, emit, None, None, choice["finish_reason"])


def plain_answer(response: Any) -> dict[str, Any]:
    """litellm's complete answer as plain JSON data: what the model worker sends back (agents/models/call_worker.py),
    and what a whole answer is read from in this process too (one path for both)."""
    usage = getattr(response, "usage", None)
    choices = []
    for choice in getattr(response, "choices", None) or []:
        message = choice.message
        calls = [{"id": tc.id, "name": tc.function.name if tc.function is not None else None,
                  "arguments": tc.function.arguments if tc.function is not None else None}
                 for tc in getattr(message, "tool_calls", None) or []]
        choices.append({"reasoning": getattr(message, "reasoning_content", None), "content": message.content,
                        "tool_calls": calls, "finish_reason": choice.finish_reason})
    return {"usage": list(usage_numbers(usage)) if usage else None, "choices": choices}


def usage_numbers(usage: Any) -> tuple[int, int, int]:
    if not usage:
        return 0, 0, 0
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or 0)
    details = getattr(usage, "prompt_tokens_details", None)
    cached = int(getattr(details, "cached_tokens", 0) or 0) if details else 0
    # Moonshot reports cached prompt tokens at the top level of usage.
    cached = cached or int(getattr(usage, "cached_tokens", 0) or 0)
    return prompt, completion, cached
