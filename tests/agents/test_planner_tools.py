"""Planner-level tools: a feature registers itself on the run context; the planner core never names it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from agents.hub.hub import ToolResult
from agents.planner.runner import Agent, RunRequest
from agents.planner.tools import PlannerTool, PlannerTools
from tests.agents.conftest import REPO, agent_config, collect, of_type
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn


def _spec(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": "d", "parameters": {"type": "object"}}}


def test_the_registry_offers_a_tool_only_while_what_it_needs_is_up() -> None:
    async def run(ctx: Any, args: Any, emit: Any) -> tuple[ToolResult, dict[str, Any]]:
        return ToolResult("ran", False, [], None, 0.0), {}

    own = PlannerTool("notes__add", spec=_spec("notes__add"), run=run, needs=frozenset({"workspace__read_file"}))
    watcher = PlannerTool("workspace__read_file", after=lambda *a: None)  # type: ignore[arg-type,return-value]
    tools = PlannerTools.of([own, watcher])
    hub = [_spec("workspace__read_file")]
    assert [t["function"]["name"] for t in tools.offer(hub)] == ["workspace__read_file", "notes__add"]
    assert tools.offer([_spec("other__x")]) == [_spec("other__x")]  # what it needs is down: not offered
    assert tools.runner("notes__add") is own and tools.runner("workspace__read_file") is None
    assert tools.watchers("workspace__read_file") == [watcher] and tools.watchers("notes__add") == []
    assert tools.without_runners().runner("notes__add") is None and tools.without_runners().watchers(
        "workspace__read_file") == [watcher]
    with pytest.raises(ValueError, match="registered twice: notes__add"):
        PlannerTools.of([own, own])


async def test_a_feature_adds_a_tool_without_the_planner_knowing_it(
    _isolated_home: Path, fake_k2: FakeK2Server
) -> None:
    """What the notes tool of the long-horizon issue needs: one PlannerTool in AgentConfig.planner_tools."""
    notes: list[str] = []
    seen: list[str] = []

    async def add_note(ctx: Any, args: Any, emit: Any) -> tuple[ToolResult, dict[str, Any]]:
        notes.append(args["text"])
        return ToolResult(f"noted ({len(notes)} notes)", False, [], None, 0.0), {}

    async def after(ctx: Any, args: Any, result: ToolResult) -> None:
        seen.append(f"{ctx.run_id}:{result.text}")

    tool = PlannerTool("notes__add", spec=_spec("notes__add"), run=add_note, after=after,
                       prompt=lambda db, run_id, offered, window: "\n## Notes\nKeep notes with notes__add.\n")
    config = agent_config(_isolated_home, fake_k2.url, builtin=[])
    config.planner_tools = [*config.planner_tools, tool]
    agent = await Agent.open(config, database_url=f"sqlite:///{_isolated_home}/k2hub.db")
    try:
        fake_k2.enqueue(Turn(reasoning="Note it.", tool_calls=[ToolCall("notes__add", {"text": "revenue is on p.37"})]),
                        Turn(content="ok"))
        events = await collect(agent.run(RunRequest(prompt="Take a note")))
    finally:
        await agent.aclose()
    assert events[-1].reason == "done", events[-1]
    assert notes == ["revenue is on p.37"]
    first = fake_k2.requests[0]
    assert "notes__add" in [t["function"]["name"] for t in first["tools"]]
    assert "Keep notes with notes__add." in first["messages"][0]["content"]
    assert [e.name for e in of_type(events, "tool_call_finished")] == ["notes__add"]
    assert seen == [f"{events[0].run_id}:noted (1 notes)"]
    assert fake_k2.requests[1]["messages"][-1]["content"] == "noted (1 notes)"


def test_the_planner_core_names_no_feature() -> None:
    """graph, nodes, state and tools import nothing from agents.workflows (the features register themselves)."""
    for name in ("graph", "nodes", "state", "tools", "runner"):
        tree = ast.parse((REPO / "agents" / "planner" / f"{name}.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m.startswith("agents.workflows")}, name
