"""The swarm tree in the chat (pure: events -> nested collapsible blocks), the sub-agent's approval card, and the
controls' state read for a live swarm (running branches, the request a branch waits for)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agents.events import ApprovalRequested, SubagentFinished, SubagentProgress, SubagentStarted, SwarmStarted
from agents.planner.runner import Agent, RunRequest
from app.ui.approval_card import approval_message
from app.ui.render import RunView
from app.ui.swarm_tree import controls_state
from tests.agents.conftest import agent_config, toolbox_server, write_mcp_json
from tests.agents.swarm.conftest import MODEL
from tests.agents.swarm.script import SwarmScript, spawn_args
from tests.fakes.k2_server import FakeK2Server, ToolCall


def test_the_tree_nests_one_live_line_per_sub_agent_under_the_swarm():
    view = RunView()
    view.apply(SwarmStarted(swarm_id="s1", goals=["read page 1", "read page 2"], concurrency=2))
    view.apply(SubagentStarted(swarm_id="s1", index=0, goal="read page 1", subagent_run_id="r1"))
    view.apply(SubagentProgress(swarm_id="s1", index=0, goal="read page 1", steps=2, tool_calls=1, tokens=1500,
                                cost_usd=0.0012, last_tool="browser__fetch"))
    root = view.messages[0]
    assert root.metadata["id"] == "swarm-s1" and root.metadata["status"] == "pending"
    assert "2 sub-agents" in root.metadata["title"] and "1 running" in root.metadata["title"]
    assert len(view.messages) == 3  # the root and one line per planned sub-agent, in plan order
    assert "2. read page 2 — pending" in view.messages[2].metadata["title"]
    line = view.messages[1]
    assert line.metadata["parent_id"] == "swarm-s1"  # nested under the root: collapsible with it
    assert "1. read page 1 — running · 2 steps · 1 tools · 1,500 tokens · $0.0012" in line.metadata["title"]
    assert "browser__fetch" in line.content
    view.apply(SubagentFinished(swarm_id="s1", index=0, goal="read page 1", status="done", steps=3, tool_calls=1,
                                tokens=2000, cost_usd=0.002, preview="It says <b>hi</b>", artifact_id="abc123"))
    view.apply(SubagentFinished(swarm_id="s1", index=1, goal="read page 2", status="failed", attempt=2,
                                error="ProviderError: boom"))
    assert len(view.messages) == 3  # updated in place, one line per branch
    assert view.messages[1].metadata["status"] == "done" and "abc123" in view.messages[1].content
    assert "<b>" not in view.messages[1].content  # a sub-agent's result is untrusted text: escaped
    assert "attempt 2" in view.messages[2].metadata["title"] and "boom" in view.messages[2].content
    assert root.metadata["status"] == "done" and "1 done" in root.metadata["title"]
    assert "1 failed" in root.metadata["title"]


def test_a_sub_agents_approval_card_names_it():
    event = ApprovalRequested(call_id="3.0", name="toolbox__echo", arguments={"text": "x"}, reason="tainted",
                              subagent_run_id="r9", subagent="Sub-agent 3: summarise page 7")
    card = approval_message(event)
    assert "Asked by Sub-agent 3: summarise page 7: only that sub-agent waits" in card.content


async def test_the_controls_list_running_branches_and_the_request_one_waits_for(
    _isolated_home: Path, fake_k2: FakeK2Server
):
    write_mcp_json(_isolated_home, {"toolbox": toolbox_server()})  # untrusted: its second call asks
    config = agent_config(_isolated_home, fake_k2.url, model=MODEL, builtin=[])
    agent = await Agent.open(config, database_url=f"sqlite:///{_isolated_home}/k2hub.db")
    try:
        fake_k2.responder = SwarmScript(spawn_args(["asker"], 1), calls=lambda goal: [
            ToolCall("toolbox__echo", {"text": "one"}), ToolCall("toolbox__echo", {"text": "two"})])
        seen = None
        async for event in agent.run(RunRequest("go")):
            if event.type == "subagent_progress" and event.status == "waiting":
                await asyncio.sleep(0.1)
                choices, waiting = await asyncio.to_thread(controls_state, agent, event.run_id)
                seen = (choices, waiting)
                await anext(aiter(agent.approve(waiting[2].run_id, waiting[2].call_id, True)))
        assert seen is not None
        choices, (idx, goal, row) = seen
        assert [label for label, _ in choices] == ["1. asker"] and (idx, goal) == (0, "asker")
        assert row.tool == "toolbox__echo" and row.arguments == {"text": "two"}
        assert controls_state(agent, "") == ([], None)
    finally:
        await agent.aclose()
