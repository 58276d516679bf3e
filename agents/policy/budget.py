"""Run budgets, checked in one place: tool calls, billed tokens, dollars and wall time.

- Steps count tool calls. When they are used up the model is not stopped mid-task: it gets one more call, with tools
  disabled (tool_choice "none") and a note asking for the answer, so the budget always leaves room for it.
- Tokens count what the provider bills: uncached prompt tokens + completion tokens + cached prompt tokens weighted by
  the provider's cache discount (cached / uncached input price; 1.0 when no price is known).
- Dollars and wall time stop the run at once. The dollar budget is the real guard: the UI shows it before a run.

Defaults let a 300-call K2-Thinking run finish (measured in benchmarks/bench_long_run.py: about 11 million billed
tokens and $7 at Moonshot's list prices).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Limits:
    """Per-run limits; hitting one ends the run with a message that says which and how to raise it (the defaults are
    the app's Settings: K2HUB_MAX_STEPS, K2HUB_MAX_TOKENS, K2HUB_MAX_COST_USD, K2HUB_MAX_WALL_S)."""

    max_steps: int
    """Tool calls; then one last call without tools for the answer."""
    max_tokens: int
    """Billed tokens (see billed_tokens)."""
    max_cost_usd: float
    max_wall_s: float


def billed_tokens(state: Mapping[str, Any], cached_ratio: float = 1.0) -> int:
    """Tokens as the provider bills them: cached prompt tokens count at `cached_ratio` of an uncached one."""
    prompt = state.get("prompt_tokens", 0)
    cached = min(state.get("cached_tokens", 0), prompt)
    return round(prompt - cached + cached * cached_ratio + state.get("completion_tokens", 0))


def exceeded(
    state: Mapping[str, Any], limits: Limits, now: float | None = None, *, cached_ratio: float = 1.0
) -> str | None:
    """Why the run must stop now, or None while it is within its token, dollar and time budgets."""
    now = time.time() if now is None else now
    tokens = billed_tokens(state, cached_ratio)
    cost = state.get("cost_usd", 0.0)
    elapsed = now - state.get("started_at", now)
    if tokens >= limits.max_tokens:
        return (f"Token budget reached: {tokens:,} of {limits.max_tokens:,} billed tokens (raise K2HUB_MAX_TOKENS).")
    if cost >= limits.max_cost_usd:
        return f"Cost budget reached: ${cost:.4f} of ${limits.max_cost_usd:.2f} (raise K2HUB_MAX_COST_USD)."
    if elapsed >= limits.max_wall_s:
        return f"Time budget reached: {elapsed:.0f} s of {limits.max_wall_s:.0f} s (raise K2HUB_MAX_WALL_S)."
    return None


def tools_used_up(state: Mapping[str, Any], limits: Limits) -> bool:
    """Whether the tool-call budget is spent: the next model call is the last, without tools."""
    return state.get("tool_calls", 0) >= limits.max_steps


def used_up_message(state: Mapping[str, Any], limits: Limits) -> str:
    """What the user reads when the tool-call budget is spent."""
    return (f"Tool-call budget used up: {state.get('tool_calls', 0)} of {limits.max_steps} tool calls; the model was "
            "asked to answer with what it has (raise K2HUB_MAX_STEPS or --max-steps).")


def final_note(state: Mapping[str, Any], limits: Limits) -> dict[str, Any]:
    """The note that asks for the answer once the tool calls are used up (a user turn: every provider takes it)."""
    return {
        "role": "user",
        "content": f"[K2 Agent Hub] This run has used its {limits.max_steps} tool calls "
        f"({state.get('tool_calls', 0)} made). Tools are now disabled: answer the user with what you have found, and "
        "say plainly what is left undone.",
        "_note": True,  # written by the app, not the user: the chat shows it as a notice
    }
