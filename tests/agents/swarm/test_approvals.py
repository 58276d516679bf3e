"""An approval needed inside a swarm's sub-agent reaches the parent's view (one card naming the sub-agent) and
only that branch waits: the others finish meanwhile; the user's decision lets it continue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.planner.runner import Agent, RunRequest
from storage import approvals, repo, swarms
from tests.agents.conftest import collect, of_type, toolbox_server
from tests.agents.swarm.conftest import toolbox_agent
from tests.agents.swarm.script import SwarmScript, spawn_args
from tests.fakes.k2_server import FakeK2Server, ToolCall


@pytest.fixture
async def wary_agent(_isolated_home: Path, fake_k2: FakeK2Server) -> AsyncIterator[Agent]:
    """The toolbox as an external server NOT marked trusted: what it returns taints the conversation, and its
    tools (whose annotations are not believed) then wait for the user's approval."""
    async for opened in toolbox_agent(_isolated_home, fake_k2, toolbox_server()):
        yield opened


def calls(goal: str) -> list[ToolCall]:
    if goal == "asker":  # the first echo reads untrusted text; the second then needs the user's approval
        return [ToolCall("toolbox__echo", {"text": "one"}), ToolCall("toolbox__echo", {"text": "two"})]
    return []


@pytest.mark.parametrize("approved", [True, False])
async def test_an_approval_inside_a_sub_agent_shows_in_the_parent_and_the_branch_waits(
    wary_agent: Agent, fake_k2: FakeK2Server, approved: bool
):
    fake_k2.responder = SwarmScript(spawn_args(["asker", "other 1", "other 2"], 3), calls=calls)
    events = []
    asked = None
    waiting_seen = False
    async for event in wary_agent.run(RunRequest("go")):
        events.append(event)
        if event.type == "approval_requested":
            asked = event
        if event.type == "subagent_progress" and event.goal == "asker" and event.status == "waiting":
            waiting_seen = True
        finished = {e.goal for e in of_type(events, "subagent_finished")}
        if asked is not None and {"other 1", "other 2"} <= finished and "asker" not in finished:
            # The others are done while the asker still waits: the user decides now, from the parent's view.
            decided = await collect(wary_agent.approve(asked.subagent_run_id, asked.call_id, approved))
            assert "continues in its swarm" in decided[-1].message
            asked = None
    cards = of_type(events, "approval_requested")
    assert len(cards) == 1  # one card for the one request
    card = cards[0]
    assert card.name == "toolbox__echo" and card.arguments == {"text": "two"}
    assert card.subagent == "Sub-agent 1: asker" and card.subagent_run_id
    assert card.run_id == events[0].run_id  # shown in the parent's stream
    assert waiting_seen
    by_goal = {e.goal: e for e in of_type(events, "subagent_finished")}
    assert set(by_goal) == {"asker", "other 1", "other 2"} and all(e.status == "done" for e in by_goal.values())
    order = [e.goal for e in of_type(events, "subagent_finished")]
    assert order[-1] == "asker"  # the branch waited; the others did not
    [row] = approvals.approvals_for_run(wary_agent.db, card.subagent_run_id)
    assert row.decision == ("approved" if approved else "denied")
    steps = [s for s in repo.steps_for_run(wary_agent.db, card.subagent_run_id) if s.kind == "tool"]
    second = [s for s in steps if (s.args or {}).get("text") == "two"]
    assert len(second) == 1 and (second[0].error is None) == approved
    assert events[-1].reason == "done"
    assert approvals.pending_for_conversation(wary_agent.db, events[0].conversation_id) == []
    swarm = swarms.swarms_for_run(wary_agent.db, events[0].run_id)[0]
    assert swarm.status == "done"
