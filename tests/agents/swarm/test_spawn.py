"""agents__spawn end to end through the fake K2: sub-agents run concurrently within the cap, each with only its
tools, results validated against their schema, a compact digest with artifact ids for the parent."""

from __future__ import annotations

import time

from agents.planner.runner import Agent, RunRequest
from storage import repo, swarms
from tests.agents.conftest import collect, of_type
from tests.agents.swarm.script import SwarmScript, goal_of, spawn_args, tools_offered
from tests.fakes.k2_server import FakeK2Server, ToolCall

LATENCY = 0.2


async def test_fifty_sub_agents_run_concurrently_within_the_cap(swarm_agent: Agent, fake_k2: FakeK2Server):
    goals = [f"item {n}" for n in range(50)]
    cap = 10
    script = SwarmScript(spawn_args(goals, cap), latency_s=LATENCY)
    fake_k2.responder = script
    events, times = [], []
    async for event in swarm_agent.run(RunRequest("split it")):
        events.append(event)
        times.append(time.monotonic())
    kinds = [e.type for e in events]
    # The swarm's span (the parent's first call also loads litellm, seconds that say nothing about the swarm).
    wall = times[len(kinds) - 1 - kinds[::-1].index("subagent_finished")] - times[kinds.index("swarm_started")]
    finished = of_type(events, "subagent_finished")
    assert sorted(e.goal for e in finished) == sorted(goals)
    assert all(e.status == "done" for e in finished)
    assert events[-1].reason == "done" and events[-1].answer == "Swarm finished."
    assert script.peak <= cap  # never more sub-agent model calls at once than the cap
    assert script.peak >= cap * 0.8  # and they did run side by side
    # No one watches a sub-agent's text arrive: its calls ask for whole answers; the parent's stream.
    assert all(("stream" in b) == (goal_of(b) is None) for b in fake_k2.requests)
    serial = sum(script.served.values()) * LATENCY  # the same model time, one call after another
    assert wall < serial / 1.5  # (measured 3-4x faster on a loaded 2-core machine)
    tree = of_type(events, "swarm_started")[0]
    assert tree.goals == goals and tree.concurrency == cap
    # The parent read a digest: one line per sub-agent with the artifact id of its full result.
    swarm = swarms.swarms_for_run(swarm_agent.db, events[0].run_id)[0]
    rows = swarms.branches(swarm_agent.db, swarm.id)
    assert all(r.status == "done" and r.artifact_id for r in rows)
    digest = next(m for m in repo.messages_as_openai(swarm_agent.db, events[0].conversation_id)
                  if m["role"] == "tool")["content"]
    assert "Swarm of 50 sub-agents: 50 done" in digest
    assert f"[artifact {rows[7].artifact_id}]" in digest
    assert repo.get_artifact(swarm_agent.db, rows[7].artifact_id) is not None


async def test_a_sub_agent_cannot_call_a_tool_outside_its_subset(swarm_agent: Agent, fake_k2: FakeK2Server):
    """The attack: a sub-agent given only echo asks for add (and for agents__spawn); neither runs."""
    args = spawn_args(["echo only"], 2, task={"tools": ["toolbox__echo"]})
    script = SwarmScript(args, calls=lambda goal: [ToolCall("toolbox__add", {"a": 1, "b": 2}),
                                                   ToolCall("agents__spawn", {"tasks": [{"goal": "x"}]})])
    fake_k2.responder = script
    events = await collect(swarm_agent.run(RunRequest("go")))
    sub = [b for b in fake_k2.requests if goal_of(b) == "echo only"]
    assert sub and all("toolbox__add" not in tools_offered(b) and "agents__spawn" not in tools_offered(b)
                       for b in sub)
    assert "toolbox__echo" in tools_offered(sub[0])
    branch = swarms.branches(swarm_agent.db, of_type(events, "swarm_started")[0].swarm_id)[0]
    steps = repo.steps_for_run(swarm_agent.db, branch.run_id)
    refused = [s for s in steps if s.kind == "tool"]
    assert [s.name for s in refused] == ["toolbox__add", "agents__spawn"]
    assert all("not available in this run" in (s.error or "") for s in refused)
    assert script.served == {"echo only": 3}  # no second swarm was started from inside
    started = [e for e in events if e.type == "tool_call_started"]
    assert [e.name for e in started] == ["agents__spawn"]  # only the parent's call ran


async def test_results_are_validated_against_the_output_schema(swarm_agent: Agent, fake_k2: FakeK2Server):
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}
    answers = iter(['{"score": "high"}', '```json\n{"score": 7}\n```'])  # wrong, then right after the correction
    args = spawn_args(["rate it"], 1, task={"output_schema": schema})
    fake_k2.responder = SwarmScript(args, calls=lambda goal: [], answer=lambda goal: next(answers))
    events = await collect(swarm_agent.run(RunRequest("go")))
    branch = swarms.branches(swarm_agent.db, of_type(events, "swarm_started")[0].swarm_id)[0]
    assert branch.status == "done" and branch.result == {"score": 7}
    correction = [b for b in fake_k2.requests if goal_of(b) == "rate it"][-1]["messages"][-1]["content"]
    assert "does not match the required JSON Schema" in correction and "score" in correction


async def test_unknown_tools_in_a_task_are_refused_before_anything_runs(swarm_agent: Agent, fake_k2: FakeK2Server):
    args = spawn_args(["x"], 1, task={"tools": ["shell__rm_rf"]})
    fake_k2.responder = SwarmScript(args)
    events = await collect(swarm_agent.run(RunRequest("go")))
    done = of_type(events, "tool_call_finished")[0]
    assert done.error and "no tool shell__rm_rf" in done.error
    assert not of_type(events, "swarm_started")
