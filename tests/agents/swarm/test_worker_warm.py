"""The model worker (agents/models/call_worker.py) is started when the web app's agent opens if it can swarm (a plain
Agent.open starts nothing), so a swarm does not pay its seconds-long litellm import on its own clock; and the worker
warms litellm's call path without sending anything before it says it is ready."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.models import providers
from agents.planner.runner import Agent
from tests.agents.conftest import agent_config
from tests.fakes.k2_server import FakeK2Server

ROOT = Path(__file__).resolve().parents[3]


async def opened_starts(home: Path, config, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many times opening an agent with `config` started the model worker (the start itself is recorded only)."""
    started: list[None] = []
    monkeypatch.setattr(providers, "start_model_worker", lambda: started.append(None))
    agent = await Agent.open(config, database_url=f"sqlite:///{home}/k2hub.db")
    assert not started  # opening alone starts nothing: a one-shot CLI question would pay for it
    agent.warm_model_worker()
    await agent.aclose()
    return len(started)


async def test_an_agent_that_can_swarm_starts_the_model_worker_when_it_opens(
        _isolated_home: Path, fake_k2: FakeK2Server, monkeypatch: pytest.MonkeyPatch):
    config = agent_config(_isolated_home, fake_k2.url, builtin=[])
    assert await opened_starts(_isolated_home, config, monkeypatch) == 1


async def test_no_model_worker_for_an_agent_without_the_swarm_tool_or_on_the_local_model(
        _isolated_home: Path, fake_k2: FakeK2Server, monkeypatch: pytest.MonkeyPatch):
    config = agent_config(_isolated_home, fake_k2.url, builtin=[])
    no_swarm = dataclasses.replace(config, planner_tools=[t for t in config.planner_tools if not t.model_worker])
    assert await opened_starts(_isolated_home, no_swarm, monkeypatch) == 0
    local = dataclasses.replace(config, provider="local", model="", base_url="")  # its calls stay in the app
    assert await opened_starts(_isolated_home, local, monkeypatch) == 0


WARM_UP = """
import asyncio, json, socket, sys
from agents.models import call_worker_main, providers

providers.litellm_module()
tried = []
def refuse(self, address, *args):
    tried.append(str(address))
    raise OSError("the warm-up must not connect anywhere")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
warnings = []
call_worker_main.logger.warning = lambda *args, **kw: warnings.append(args[0])
lazy = "litellm.proxy.openai_files_endpoints.common_utils"  # imported by litellm's first call, not by its import
before = lazy in sys.modules
asyncio.run(call_worker_main.warm_up())
print(json.dumps({"tried": tried, "warnings": warnings, "before": before, "after": lazy in sys.modules}))
"""


@pytest.mark.slow
def test_the_worker_warms_litellms_call_path_without_sending_anything(_isolated_home):
    """In a process of its own, as in the worker (this one's litellm stays as it is)."""
    done = subprocess.run([sys.executable, "-c", WARM_UP], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["tried"] == [] and out["warnings"] == []
    assert not out["before"] and out["after"]  # litellm's first-call work was done by the warm-up


async def test_the_web_apps_backend_warms_the_worker_when_its_agent_opens(
        _isolated_home: Path, monkeypatch: pytest.MonkeyPatch):
    """The web app opens its agent at page load, while the user types: that is when the worker starts."""
    from app.config import Settings
    from app.ui.backend import Backend

    class Opened:
        warmed = 0

        def warm_model_worker(self) -> None:
            self.warmed += 1

    opened = Opened()

    async def open_agent(settings: Settings) -> Opened:
        return opened

    monkeypatch.setattr("app.services.open_agent", open_agent)
    backend = Backend(Settings(home=_isolated_home))
    assert await backend.agent() is opened and await backend.agent() is opened
    assert opened.warmed == 1  # once, when it opened
