"""An Agent with only the test toolbox (no built-in servers: a swarm test starts no process it does not need)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.planner.runner import Agent
from tests.agents.conftest import agent_config, toolbox_server, write_mcp_json
from tests.fakes.k2_server import FakeK2Server

MODEL = "kimi-k2-0905-preview"  # priced, not thinking: scripted turns need no reasoning


def trusted_toolbox() -> dict:
    """The toolbox marked trusted in mcp.json: its results do not taint the conversation (no approvals asked)."""
    return {**toolbox_server(), "trusted": True}


async def toolbox_agent(home: Path, fake_k2: FakeK2Server, toolbox: dict) -> AsyncIterator[Agent]:
    """An Agent whose only server is `toolbox` (as written into mcp.json), closed when the test ends."""
    write_mcp_json(home, {"toolbox": toolbox})
    config = agent_config(home, fake_k2.url, model=MODEL, builtin=[])
    opened = await Agent.open(config, database_url=f"sqlite:///{home}/k2hub.db")
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
async def swarm_agent(_isolated_home: Path, fake_k2: FakeK2Server, monkeypatch: pytest.MonkeyPatch
                      ) -> AsyncIterator[Agent]:
    monkeypatch.setenv("K2HUB_PRICES", '{"%s": [0.6, 0.15, 2.5]}' % MODEL)  # Moonshot's list prices
    async for opened in toolbox_agent(_isolated_home, fake_k2, trusted_toolbox()):
        yield opened
