"""Planner fixtures: the fake K2 server and an Agent wired to it with the real built-in servers."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.hub.config import load_mcp_json
from agents.hub.pins import PinStore
from agents.policy.budget import Limits
from agents.events import Event
from agents.models.providers import RetryPolicy
from agents.planner.runner import Agent, AgentConfig
from app.config import Settings
from app.services import agent_config as app_agent_config
from tests.fakes.k2_server import FakeK2Server

REPO = Path(__file__).resolve().parents[2]
FAST_RETRY = RetryPolicy(attempts=3, base_delay_s=0.05, max_delay_s=1.0)


@pytest.fixture
def fake_k2() -> Iterator[FakeK2Server]:
    """A fresh fake K2 endpoint on 127.0.0.1."""
    with FakeK2Server() as server:
        yield server


def agent_config(home: Path, url: str, model: str = "kimi-k2-thinking", **kw: Any) -> AgentConfig:
    """The app's AgentConfig (its settings and features) pointing at a fake endpoint via the openai-compatible preset."""
    settings = Settings(home=home, provider="openai-compatible", model=model, base_url=url)
    return dataclasses.replace(app_agent_config(settings), retry=FAST_RETRY, **kw)


def write_mcp_json(home: Path, servers: dict[str, Any], *, enable: bool = True) -> None:
    """Register external servers the way a user does: $K2HUB_HOME/mcp.json, then (enable) consent to each, as
    `python run.py mcp enable NAME` does for a server whose tools are pinned when first listed."""
    (home / "mcp.json").write_text(json.dumps({"mcpServers": servers}))
    if enable:
        configs, _ = load_mcp_json(home / "mcp.json")
        for config in configs:
            PinStore(home).approve(config, None)


# The built-ins the planner tests use; each server is a process that costs ~1 s of CPU to start, and the rest
# (browser, analysis, cobol) have tests that open an Agent with them.
LEAN_SERVERS = ("workspace", "sandbox", "skills_hub", "pdf_reader")


def toolbox_server() -> dict[str, Any]:
    """The test toolbox (nap, hang, crash, echo ...) as an mcp.json stdio entry."""
    return {"command": sys.executable, "args": ["-m", "tests.agents.hub_servers.toolbox"], "cwd": str(REPO),
            "env": {"PYTHONPATH": str(REPO)}}


@pytest.fixture
async def agent(_isolated_home: Path, fake_k2: FakeK2Server) -> AsyncIterator[Agent]:
    """An Agent with the built-in workspace server (stdio) and the test toolbox, talking to the fake K2."""
    write_mcp_json(_isolated_home, {"toolbox": toolbox_server()})
    config = agent_config(_isolated_home, fake_k2.url, builtin=list(LEAN_SERVERS))
    opened = await Agent.open(config, database_url=f"sqlite:///{_isolated_home}/k2hub.db")
    try:
        yield opened
    finally:
        await opened.aclose()


async def collect(events: AsyncIterator[Event]) -> list[Event]:
    """Every event of a run, in order."""
    return [e async for e in events]


async def run_approving(agent: Agent, events: AsyncIterator[Event], limit: int = 10) -> list[Event]:
    """Every event of a run whose approvals the user grants as they come (a user who trusts this task)."""
    seen = await collect(events)
    start = 0
    while seen[-1].type == "run_finished" and seen[-1].reason == "waiting" and limit:
        limit -= 1
        asked = [e for e in seen[start:] if e.type == "approval_requested"]
        start = len(seen)
        for event in asked:
            seen += await collect(agent.approve(event.run_id, event.call_id, True))
    return seen


def of_type(events: list[Event], kind: str) -> list[Any]:
    """The events of one type."""
    return [e for e in events if e.type == kind]


def with_limits(agent: Agent, **kw: Any) -> None:
    """Tighten the agent's budgets for one test."""
    base = agent.config.limits
    agent.config.limits = Limits(**{**base.__dict__, **kw})
