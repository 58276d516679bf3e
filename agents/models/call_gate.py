"""A hook around every model call of one task tree: who may call now, and what came back (429s, usage).

The model layer knows nothing of swarms. A caller that runs many planner runs at once (agents/workflows/swarm)
sets CALL_GATE for its sub-agents' tasks (a ContextVar: asyncio tasks and LangGraph nodes inherit it); every
attempt of `providers.complete` then waits for a slot, and reports a 429 (with its Retry-After) or a success. That is
where the per-provider AIMD concurrency and the swarm's shared budget live.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any, Protocol


class CallGate(Protocol):
    """What providers.complete asks before each attempt and tells after it."""

    def slot(self, provider: str) -> AbstractAsyncContextManager[Any]:
        """Wait until a call to this provider may start (raise an AppError to refuse it)."""
        ...

    def throttled(self, provider: str, retry_after: float | None) -> None:
        """The provider answered 429 (Retry-After in seconds when it said)."""
        ...

    def succeeded(self, provider: str, cost_usd: float, tokens: int) -> None:
        """A call came back with this usage."""
        ...


CALL_GATE: ContextVar[CallGate | None] = ContextVar("k2hub_call_gate", default=None)
