"""Two swarms at once on one provider share its AIMD limit: a 429 one meets slows the other, its Retry-After holds
both, and without 429s each keeps its own cap (the shared ceiling is the sum of theirs)."""

from __future__ import annotations

import asyncio
import time

from agents.workflows.swarm import pacer as pacing
from agents.workflows.swarm.pacer import Pacer, Pool


def open_pacer(cap: int) -> Pacer:
    pool = Pool(max_cost_usd=100.0, max_tokens=10**9)
    pool.est_cost = 0.0  # past the probe: calls need no estimate
    return Pacer(cap, pool)


async def hold(pacer: Pacer, entered: asyncio.Event, release: asyncio.Event, throttle: float | None = None) -> float:
    """One call: take a slot, (meet a 429 with this Retry-After,) wait to be released; returns when it started."""
    async with pacer.slot("moonshot"):
        started = time.monotonic()
        entered.set()
        if throttle is not None:
            pacer.throttled("moonshot", throttle or None)
        await release.wait()
    pacer.succeeded("moonshot", 0.0, 10)
    return started


async def test_a_429_in_one_swarm_slows_the_other_on_the_same_provider():
    first, second = open_pacer(4), open_pacer(4)
    shared = first.provider("moonshot")
    assert second.provider("moonshot") is shared and shared.ceiling == 8 and shared.limit == 8
    release = asyncio.Event()
    entered = [asyncio.Event() for _ in range(4)]
    # The first swarm has 4 calls in flight; one meets a 429: the provider's limit halves to 4 for both swarms.
    calls = [asyncio.create_task(hold(first, entered[i], release, throttle=0.0 if i == 0 else None)) for i in range(4)]
    for event in entered:
        await event.wait()
    assert shared.limit == 4 and shared.cuts == 1
    waiting = asyncio.Event()
    other = asyncio.create_task(hold(second, waiting, asyncio.Event()))
    await asyncio.sleep(0.05)
    assert not waiting.is_set()  # 4 in flight of the 4 allowed, all the first swarm's: the second one waits
    release.set()  # the first swarm's calls end: the freed slot wakes the other swarm's call
    await asyncio.wait_for(waiting.wait(), 5)
    await asyncio.gather(*calls)
    other.cancel()
    first.close()
    second.close()
    assert not pacing._SHARED  # both ended: nothing left for the next swarms


async def test_retry_after_in_one_swarm_holds_the_other():
    first, second = open_pacer(2), open_pacer(2)
    entered, release = asyncio.Event(), asyncio.Event()
    release.set()
    await hold(first, entered, release, throttle=0.3)  # a 429 saying Retry-After: 0.3
    blocked_until = first.provider("moonshot").blocked_until
    started = await hold(second, asyncio.Event(), release)
    assert started >= blocked_until  # the other swarm's next call waited for the provider's Retry-After
    first.close()
    second.close()


async def test_without_429s_each_swarm_keeps_its_own_cap():
    first, second = open_pacer(3), open_pacer(2)
    release = asyncio.Event()
    entered = [asyncio.Event() for _ in range(5)]
    calls = [asyncio.create_task(hold(first if i < 3 else second, entered[i], release)) for i in range(5)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in entered)), 5)  # 3 + 2 at once: none waits
    assert first.provider("moonshot").in_flight == 5
    release.set()
    await asyncio.gather(*calls)
    first.close()
    assert second.provider("moonshot").ceiling == 2 and second.provider("moonshot").limit == 2
    second.close()
