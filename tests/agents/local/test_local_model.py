"""The real local model end to end: our provider and planner, litellm over HTTP to our server on 127.0.0.1, the
workspace server through the hub. Prompts are directive: this is a 0.5B model, and each test runs once, no retries."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import pytest

from agents.models.local import runtime
from agents.models.local.runtime import LocalServer, ServerKey
from agents.planner.runner import Agent, RunRequest
from app.config import Settings
from app.services import agent_config as app_agent_config
from storage import repo
from tests.agents.conftest import FAST_RETRY, collect, of_type

pytestmark = [pytest.mark.local_model, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
async def local_agent(_isolated_home: Path, local_model: Path) -> AsyncIterator[Agent]:
    """An Agent on the `local` provider with the built-in workspace server."""
    config = dataclasses.replace(app_agent_config(Settings(home=_isolated_home, provider="local")), retry=FAST_RETRY)
    agent = await Agent.open(config, database_url=f"sqlite:///{_isolated_home}/k2hub.db")
    try:
        yield agent
    finally:
        await agent.aclose()


async def test_plain_answer(local_agent: Agent):
    events = await collect(local_agent.run(RunRequest(prompt="What is the capital of France? Answer with one word.")))
    started, finished = events[0], events[-1]
    assert started.provider == "local" and started.model == "qwen2.5-coder-0.5b-instruct"
    assert finished.reason == "done", finished
    assert "paris" in finished.answer.lower() and finished.steps == 1
    assert not of_type(events, "tool_call_started")  # no tool was relevant, none was sent or called
    assert "".join(e.text for e in of_type(events, "text_delta")).strip() == finished.answer
    assert of_type(events, "usage")[-1].cost_usd == 0.0


async def test_tool_call_through_the_hub_and_its_result_in_the_answer(local_agent: Agent, _isolated_home: Path):
    conversation = repo.create_conversation(local_agent.db, "notes", "local", "qwen2.5-coder-0.5b-instruct")
    workspace = _isolated_home / "workspaces" / conversation.id
    workspace.mkdir(parents=True)
    (workspace / "notes.txt").write_text("The code is 7421.\n")
    prompt = "Call workspace__read_file with path notes.txt, then answer with the code written in the file."
    events = await collect(local_agent.run(RunRequest(prompt=prompt, conversation_id=conversation.id)))
    finished = events[-1]
    assert finished.reason == "done", finished
    calls = of_type(events, "tool_call_finished")
    assert [c.name for c in calls][:1] == ["workspace__read_file"] and calls[0].error is None
    assert "7421" in calls[0].preview
    assert "7421" in finished.answer  # only the file knew it
    texts = "".join(e.text for e in of_type(events, "text_delta"))
    assert '"name"' not in texts and "<tool_call>" not in texts  # the raw call never reached the screen
    # The second step re-read only what was new: the system prompt and tool list came from the prefix cache.
    step_usage = of_type(events, "usage")
    assert step_usage[-1].cached_tokens >= step_usage[0].prompt_tokens * 0.9


def _our_servers() -> set[int]:
    """Model servers started by this test process (other test sessions on the machine may run their own)."""
    pids = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "agents.models.local.server" in " ".join(child.cmdline()):
                pids.add(child.pid)
        except psutil.Error:  # exited while we looked
            continue
    return pids


def test_the_server_binds_loopback_and_stops_without_a_trace(local_model: Path):
    before = _our_servers()
    server = LocalServer(ServerKey(model=local_model, context=2048))
    url = server.start()
    try:
        assert url.startswith("http://127.0.0.1:") and server.proc.pid in _our_servers()
        assert httpx.get(url.removesuffix("/v1") + "/health", timeout=10).json()["status"] == "ok"
        listening = {c.laddr.ip for c in psutil.Process(server.proc.pid).net_connections() if c.status == "LISTEN"}
        assert listening == {"127.0.0.1"}
    finally:
        server.stop()
    assert server.proc.poll() is not None and not psutil.pid_exists(server.proc.pid)
    assert _our_servers() == before


def test_a_killed_parent_takes_its_server_along(local_model: Path, tmp_path: Path):
    """kill -9 on the app cannot run atexit: the server notices its parent is gone and exits by itself."""
    script = ("import sys\nfrom pathlib import Path\nfrom agents.models.local import runtime\n"
              f"print(runtime.ensure_server(Path({str(local_model)!r}), 2048), flush=True)\n"
              "print(runtime.current().proc.pid, flush=True)\nimport time\ntime.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        parent.stdout.readline()  # type: ignore[union-attr]
        child = psutil.Process(int(parent.stdout.readline()))  # type: ignore[union-attr]
        assert child.is_running()
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    started = time.monotonic()
    gone, alive = psutil.wait_procs([child], timeout=10)
    assert not alive and time.monotonic() - started < 10
    assert runtime.current() is None or runtime.current().proc.pid != child.pid


def test_a_fresh_server_restores_the_system_prompt_from_disk_instead_of_reading_it(local_model: Path, tmp_path: Path):
    """The second server (a later start of the app) reuses the state the first one stored, and answers the same."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    system = (REPO / "agents" / "prompts" / "system.md").read_text()
    body = {"messages": [{"role": "system", "content": system},
                         {"role": "user", "content": "What is 2 + 3? Answer with the number only."}],
            "max_tokens": 8, "temperature": 0}
    runs = []
    for _ in range(2):
        server = LocalServer(ServerKey(model=local_model, context=4096, state_dir=home / "cache" / "model-state"))
        url = server.start()
        try:
            runs.append(httpx.post(f"{url}/chat/completions", json=body, timeout=600).json())
        finally:
            server.stop()
    cold, warm = (r["usage"]["prompt_tokens_details"]["cached_tokens"] for r in runs)
    assert cold == 0 and warm >= 300  # the system prompt, not read again
    assert runs[1]["timings"]["prompt_n"] == runs[0]["usage"]["prompt_tokens"] - warm
    assert runs[0]["choices"][0]["message"]["content"] == runs[1]["choices"][0]["message"]["content"]
    assert list((home / "cache" / "model-state").glob("*.kv"))
