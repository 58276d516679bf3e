"""Run budgets: steps, tokens, dollars and wall time, checked in one place."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Limits:
    """Per-run limits; hitting one ends the run with a message that says which and how to raise it (the defaults are
    the app's Settings: K2HUB_MAX_STEPS, K2HUB_MAX_TOKENS, K2HUB_MAX_COST_USD, K2HUB_MAX_WALL_S)."""

    max_steps: int
    max_tokens: int
    max_cost_usd: float
    max_wall_s: float


def exceeded(state: Mapping[str, Any], limits: Limits, now: float | None = None) -> str | None:
    """Why the run must stop now, or None while it is within every budget."""
    now = time.time() if now is None else now
    steps = state.get("steps", 0)
    tokens = state.get("prompt_tokens", 0) + state.get("completion_tokens", 0)
    cost = state.get("cost_usd", 0.0)
    elapsed = now - state.get("started_at", now)
    if steps >= limits.max_steps:
        return f"Step budget reached: {steps} of {limits.max_steps} steps (raise K2HUB_MAX_STEPS or --max-steps)."
    if tokens >= limits.max_tokens:
        return f"Token budget reached: {tokens:,} of {limits.max_tokens:,} tokens (raise K2HUB_MAX_TOKENS)."
    if cost >= limits.max_cost_usd:
        return f"Cost budget reached: ${cost:.4f} of ${limits.max_cost_usd:.2f} (raise K2HUB_MAX_COST_USD)."
    if elapsed >= limits.max_wall_s:
        return f"Time budget reached: {elapsed:.0f} s of {limits.max_wall_s:.0f} s (raise K2HUB_MAX_WALL_S)."
    return None
