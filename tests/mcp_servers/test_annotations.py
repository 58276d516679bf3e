"""Every built-in tool declares what it does (MCP annotations): the approval gate decides from these, so an
undeclared tool must fail here rather than run ungated."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from agents.hub.config import BUILTIN_SERVERS
from agents.workflows import planner_tools
from agents.workflows.subagents import SubagentLimits
from mcp_servers.common.annotations import HOST_PATHS_META
from tests.mcp_servers.conftest import connect

HINTS = ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint")


@pytest.mark.parametrize(("name", "module"), BUILTIN_SERVERS, ids=[n for n, _ in BUILTIN_SERVERS])
async def test_every_builtin_tool_declares_all_four_hints(name: str, module: str, tmp_path: Path) -> None:
    server = importlib.import_module(f"{module}.server").create_server(root=tmp_path)
    async with connect(server) as call:
        tools = (await call.client.list_tools()).tools
    assert tools
    for tool in tools:
        hints = tool.annotations
        assert hints is not None, f"{name}__{tool.name} declares no annotations"
        missing = [h for h in HINTS if getattr(hints, h) is None]
        assert not missing, f"{name}__{tool.name} leaves {missing} undeclared"
        if hints.read_only_hint:
            assert not hints.destructive_hint, f"{name}__{tool.name} is read-only and destructive"
        # A tool that accepts an absolute path must say which argument, so the gate can ask before it reads one.
        described = {k: str(v.get("description", "")) for k, v in tool.input_schema.get("properties", {}).items()}
        absolute = [k for k, text in described.items() if "absolute" in text.lower()]
        declared = (tool.meta or {}).get(HOST_PATHS_META, [])
        assert sorted(absolute) == sorted(declared), f"{name}__{tool.name}: host path arguments {absolute}"


def test_planner_level_tools_that_offer_a_tool_declare_all_four_hints() -> None:
    for tool in planner_tools(SubagentLimits(concurrency=1, max_steps=1, max_tokens=1, max_cost_usd=1.0)):
        if tool.spec is not None:  # it offers the model a tool of its own (the others only watch results)
            assert tool.annotations is not None, tool.name
            assert all(getattr(tool.annotations, h) is not None for h in HINTS), tool.name
