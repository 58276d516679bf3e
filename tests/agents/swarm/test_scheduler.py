"""The swarm's scheduler through the fake K2: a 429 storm halves concurrency and the swarm finishes, the parent's
budget is never exceeded in total, one branch can be stopped while the others run on, a failure is retried once."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from agents.planner.runner import Agent, RunRequest
from agents.workflows.swarm import scheduler
from storage import repo, swarms
from tests.agents.conftest import collect, of_type, with_limits
from tests.agents.swarm.script import SwarmScript, goal_of, spawn_args
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn


async def test_a_429_storm_halves_concurrency_and_the_swarm_finishes(swarm_agent: Agent, fake_k2: FakeK2Server):
    cap = 8
    lock = threading.Lock()
    refused: dict[str, float] = {}  # request (its messages) -> when it met a 429
    retried: dict[str, float] = {}  # the same request -> when it came again
    script: SwarmScript

    def storm(body: dict) -> Turn | None:
        key = json.dumps(body["messages"], sort_keys=True)
        with lock:  # once the probe call came back, every call for 0.4 s meets a 429 with Retry-After 0.8 s
            now = time.monotonic()
            if key in refused:
                retried.setdefault(key, now)
            elif script.served and (not refused or now - min(refused.values()) < 0.4):
                refused[key] = now
                return Turn(status=429, retry_after=0.8, delay_s=0.05)
        return None

    goals = [f"page {n}" for n in range(24)]
    script = SwarmScript(spawn_args(goals, cap), latency_s=0.1, storm=storm)
    fake_k2.responder = script
    events = await collect(swarm_agent.run(RunRequest("go")))
    finished = of_type(events, "subagent_finished")
    assert len(finished) == 24 and all(e.status == "done" for e in finished)
    assert len(refused) >= 3  # a storm: several calls in flight refused at once
    cuts = [e.message for e in of_type(events, "notice") if "answered 429" in e.message]
    # Halved once for the storm: the other 429s of calls started before the cut do not cut again.
    assert len(cuts) == 1 and f"{cap} → {cap // 2}" in cuts[0] and "Retry-After" in cuts[0]
    # Retry-After honoured: every refused call came again, none of them sooner than 0.8 s after its 429.
    assert set(retried) == set(refused)
    assert min(retried[k] - refused[k] for k in refused) >= 0.8


async def test_the_total_cost_never_exceeds_the_parent_budget(swarm_agent: Agent, fake_k2: FakeK2Server):
    budget = 0.05
    with_limits(swarm_agent, max_cost_usd=budget)
    filler = "x" * 12_000  # each sub-agent call costs about $0.002 at the test's prices
    goals = [f"audit {n}" for n in range(12)]
    script = SwarmScript(spawn_args(goals, 4, brief=filler),
                         calls=lambda goal: [ToolCall("toolbox__echo", {"text": goal})] * 6)
    fake_k2.responder = script
    events = await collect(swarm_agent.run(RunRequest("go")))
    final = events[-1]
    run = repo.get_run(swarm_agent.db, final.run_id)
    branches = swarms.branches(swarm_agent.db, of_type(events, "swarm_started")[0].swarm_id)
    spent = sum(b.cost_usd for b in branches)
    unconstrained = 12 * 7  # model calls the swarm wanted
    assert sum(script.served.values()) < unconstrained  # the budget did stop it ...
    assert any(b.status == "budget" for b in branches)
    assert spent <= budget  # ... and the sub-agents together stayed inside it
    assert run.cost_usd <= budget  # so did the whole run, the parent's own calls included
    assert final.cost_usd == pytest.approx(run.cost_usd)
    sub_runs = [repo.get_run(swarm_agent.db, b.run_id) for b in branches if b.run_id]
    assert sum(r.cost_usd for r in sub_runs) == pytest.approx(spent)


async def test_stopping_one_branch_leaves_the_others_running(swarm_agent: Agent, fake_k2: FakeK2Server):
    goals = ["slow one", "quick a", "quick b"]

    def calls(goal: str) -> list[ToolCall]:
        return [ToolCall("toolbox__nap", {"seconds": 30 if goal == "slow one" else 0.3})]

    fake_k2.responder = SwarmScript(spawn_args(goals, 3), calls=calls)
    events = []
    async for event in swarm_agent.run(RunRequest("go")):
        events.append(event)
        if event.type == "subagent_progress" and event.goal == "slow one" and event.last_tool == "toolbox__nap":
            assert scheduler.stop(event.swarm_id, event.index)
    by_goal = {e.goal: e for e in of_type(events, "subagent_finished")}
    assert by_goal["slow one"].status == "stopped"
    assert by_goal["quick a"].status == "done" and by_goal["quick b"].status == "done"
    assert events[-1].reason == "done"
    stored = {b.goal: b.status for b in swarms.branches(swarm_agent.db, by_goal["slow one"].swarm_id)}
    assert stored == {"slow one": "stopped", "quick a": "done", "quick b": "done"}
    run = repo.get_run(swarm_agent.db, by_goal["slow one"].subagent_run_id)
    assert run.status == "stopped"
    assert by_goal["slow one"].steps == run.steps >= 1  # what it spent before the stop is kept


async def test_a_failed_sub_agent_is_retried_once_then_reported(swarm_agent: Agent, fake_k2: FakeK2Server):
    def storm(body: dict) -> Turn | None:  # "broken" always gets a 400 (not retryable): its run fails
        return Turn(status=400) if goal_of(body) == "broken" else None

    fake_k2.responder = SwarmScript(spawn_args(["broken", "fine"], 2), storm=storm)
    events = await collect(swarm_agent.run(RunRequest("go")))
    by_goal = {e.goal: e for e in of_type(events, "subagent_finished")}
    assert by_goal["fine"].status == "done"
    assert by_goal["broken"].status == "failed" and by_goal["broken"].attempt == 2 and by_goal["broken"].error
    assert sum(goal_of(b) == "broken" for b in fake_k2.requests) == 2  # once, then once more, no more
    assert any("starting it once more" in e.message for e in of_type(events, "notice"))
    assert events[-1].reason == "done"
    digest = of_type(events, "tool_call_finished")[0].preview
    assert "Swarm of 2 sub-agents: 1 done, 1 failed" in digest and "[failed] broken — " in digest


async def test_stopping_the_parent_stops_every_branch(swarm_agent: Agent, fake_k2: FakeK2Server):
    fake_k2.responder = SwarmScript(spawn_args(["a", "b"], 2),
                                    calls=lambda goal: [ToolCall("toolbox__nap", {"seconds": 30})])
    events = []
    async for event in swarm_agent.run(RunRequest("go")):
        events.append(event)
        if event.type == "subagent_progress" and event.last_tool == "toolbox__nap":
            swarm_agent.stop(event.run_id)
    assert events[-1].reason == "stopped"
    await asyncio.sleep(0.2)
    swarm_id = of_type(events, "swarm_started")[0].swarm_id
    assert not scheduler.running(swarm_id)
    for branch in swarms.branches(swarm_agent.db, swarm_id):
        assert repo.get_run(swarm_agent.db, branch.run_id).status == "stopped"
