"""The swarm's pacer: every sub-agent model call waits here for a slot (agents/models/call_gate.CallGate).

Concurrency per provider is AIMD, as TCP does it: a 429 halves the provider's limit (once per storm: the 429s of
calls that started before the cut do not cut again) and blocks new calls for its Retry-After; each success adds
1/limit, so the limit grows by one per window of successes, up to the swarm's cap. Swarms running at once in one
process share their provider's limit (rate limits are per account): a 429 one of them meets slows them all, its
Retry-After holds them all, and the shared ceiling is the sum of their caps (so without 429s each keeps its own cap).

The shared budget: the swarm may spend what the parent run has left (dollars and tokens), never more. A call
reserves the most any call of this swarm has cost so far, doubled (prompts grow as a sub-agent works); until one
call has come back there is no estimate, so only one call runs (a probe). A call that would not fit is refused with
BudgetExceeded, which ends that sub-agent with status 'budget'.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from agents.errors import BudgetExceeded

BUDGET_REFUSAL = "Swarm budget reached"
"""Start of the error a refused call ends its sub-agent with (the branch is then 'budget', not 'failed')."""
ESTIMATE_MARGIN = 2.0


@dataclass
class Aimd:
    """One provider's concurrency limit."""

    ceiling: int
    limit: float = 0.0
    in_flight: int = 0
    blocked_until: float = 0.0  # monotonic time before which no call starts (Retry-After)
    epoch: int = 0  # bumped by every cut: a 429 from an older epoch does not cut again
    cuts: int = 0
    lowest: float = 0.0
    peak_in_flight: int = 0
    # The swarms sharing this provider's limit (not compared or shown: each pacer holds this state in turn).
    pacers: list[Pacer] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.limit = self.lowest = float(self.ceiling)

    def throttled(self, started_epoch: int, retry_after: float | None) -> None:
        if retry_after:
            self.blocked_until = max(self.blocked_until, time.monotonic() + retry_after)
        if started_epoch == self.epoch:
            self.limit = max(1.0, self.limit / 2)
            self.epoch += 1
            self.cuts += 1
            self.lowest = min(self.lowest, self.limit)

    def succeeded(self) -> None:
        self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)


# One AIMD state per event loop and provider, shared by the swarms running at once.
_SHARED: dict[tuple[int, str], Aimd] = {}


def _attach(pacer: Pacer, provider: str) -> Aimd:
    """The provider's shared limit with this swarm's cap added to its ceiling (a cut limit stays cut)."""
    key = (id(asyncio.get_running_loop()), provider)
    aimd = _SHARED.get(key)
    if aimd is None:
        aimd = _SHARED[key] = Aimd(pacer.cap)
    else:
        uncut = aimd.limit >= aimd.ceiling
        aimd.ceiling += pacer.cap
        if uncut:
            aimd.limit = float(aimd.ceiling)
    aimd.pacers.append(pacer)
    return aimd


def _detach(pacer: Pacer, aimd: Aimd) -> None:
    if pacer in aimd.pacers:
        aimd.pacers.remove(pacer)
        aimd.ceiling -= pacer.cap
        aimd.limit = min(aimd.limit, float(max(aimd.ceiling, 1)))
    if not aimd.pacers:
        for key, found in list(_SHARED.items()):
            if found is aimd:
                del _SHARED[key]


@dataclass
class Pool:
    """What the whole swarm may still spend (the parent's remaining budget) and what it has spent."""

    max_cost_usd: float
    max_tokens: int
    spent_cost: float = 0.0
    spent_tokens: int = 0
    est_cost: float | None = None  # the most one call has cost, None before the first came back
    est_tokens: int = 0
    reserved: int = 0  # calls in flight, each holding one estimate

    def fits(self) -> str | None:
        """Why one more call may not start now, or None."""
        if self.est_cost is None:
            return None
        cost = self.spent_cost + (self.reserved + 1) * self.est_cost * ESTIMATE_MARGIN
        tokens = self.spent_tokens + (self.reserved + 1) * self.est_tokens * ESTIMATE_MARGIN
        if cost > self.max_cost_usd:
            return f"{BUDGET_REFUSAL}: ${self.spent_cost:.4f} spent of the ${self.max_cost_usd:.4f} the parent run had left"
        if tokens > self.max_tokens:
            return f"{BUDGET_REFUSAL}: {self.spent_tokens:,} tokens spent of the {self.max_tokens:,} the parent run had left"
        return None


@dataclass(eq=False)  # one per swarm: found in a provider's list by identity
class Pacer:
    """The CallGate a swarm's sub-agents run under: AIMD per provider plus the shared budget."""

    cap: int
    pool: Pool
    limits: dict[str, Aimd] = field(default_factory=dict)
    on_cut: Callable[[str], None] | None = None  # told when a 429 cuts a provider's limit (a notice for the user)
    scheduler_cpu_s: float = 0.0  # CPU this thread spent in the pacer (benchmarks/bench_swarm.py)
    _cond: asyncio.Condition = field(default_factory=asyncio.Condition)
    _epochs: dict[asyncio.Task[object] | None, int] = field(default_factory=dict)
    _wakers: set[asyncio.Task[None]] = field(default_factory=set)

    def provider(self, name: str) -> Aimd:
        if name not in self.limits:
            self.limits[name] = _attach(self, name)
        return self.limits[name]

    def close(self) -> None:
        """The swarm ended: its cap leaves the providers' shared ceilings."""
        for aimd in self.limits.values():
            _detach(self, aimd)

    @asynccontextmanager
    async def slot(self, provider: str) -> AsyncIterator[None]:
        cpu = time.thread_time()
        aimd = self.provider(provider)
        async with self._cond:
            while True:
                refusal = self.pool.fits()
                if refusal:
                    self.scheduler_cpu_s += time.thread_time() - cpu
                    raise BudgetExceeded(refusal)
                wait = aimd.blocked_until - time.monotonic()
                probing = self.pool.est_cost is None and self.pool.reserved > 0
                if wait <= 0 and not probing and aimd.in_flight < int(aimd.limit):
                    break
                self.scheduler_cpu_s += time.thread_time() - cpu
                try:
                    await asyncio.wait_for(self._cond.wait(), timeout=wait if wait > 0 else None)
                except TimeoutError:
                    pass
                cpu = time.thread_time()
            aimd.in_flight += 1
            aimd.peak_in_flight = max(aimd.peak_in_flight, aimd.in_flight)
            self.pool.reserved += 1
            self._epochs[asyncio.current_task()] = aimd.epoch
        self.scheduler_cpu_s += time.thread_time() - cpu
        try:
            yield
        finally:
            cpu = time.thread_time()
            async with self._cond:
                aimd.in_flight -= 1
                self.pool.reserved -= 1
                self._cond.notify_all()
            for other in aimd.pacers:  # another swarm's call may wait for this provider's slot
                if other is not self:
                    other._wake_soon()
            self.scheduler_cpu_s += time.thread_time() - cpu

    def throttled(self, provider: str, retry_after: float | None) -> None:
        aimd = self.provider(provider)
        before = aimd.limit
        aimd.throttled(self._epochs.pop(asyncio.current_task(), -1), retry_after)
        if aimd.limit < before and self.on_cut is not None:
            wait = f"; no new call for {retry_after:g} s (Retry-After)" if retry_after else ""
            self.on_cut(f"{provider} answered 429 (rate limited): sub-agent model calls at once {int(before)} → "
                        f"{int(aimd.limit)}{wait}; growing back slowly as calls succeed.")

    def succeeded(self, provider: str, cost_usd: float, tokens: int) -> None:
        cpu = time.thread_time()
        self._epochs.pop(asyncio.current_task(), None)
        self.provider(provider).succeeded()
        pool = self.pool
        pool.spent_cost += cost_usd
        pool.spent_tokens += tokens
        pool.est_cost = max(pool.est_cost or 0.0, cost_usd)
        pool.est_tokens = max(pool.est_tokens, tokens)
        # The probe came back (or the limit grew): waiting calls may start, in every swarm sharing the provider.
        for pacer in self.limits[provider].pacers:
            pacer._wake_soon()
        self.scheduler_cpu_s += time.thread_time() - cpu

    def _wake_soon(self) -> None:
        """Wake this swarm's waiting calls (notify needs the lock: a task does it)."""
        waker = asyncio.get_running_loop().create_task(self._wake())
        self._wakers.add(waker)
        waker.add_done_callback(self._wakers.discard)

    async def _wake(self) -> None:
        async with self._cond:
            self._cond.notify_all()
