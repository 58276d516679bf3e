"""The planner end to end: fake K2 over HTTP, real MCP servers, real SQLite."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path


from agents.events import event_from_dict
from agents.planner.runner import Agent, RunRequest
from storage import repo
from tests.agents.conftest import REPO, agent_config, collect, of_type, with_limits, write_mcp_json
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn
from tests.helpers import free_port


def ws_call(tool: str, **args) -> Turn:
    return Turn(reasoning=f"Use {tool}.", tool_calls=[ToolCall(f"workspace__{tool}", args)])


async def test_multi_step_run_over_stdio_is_persisted(agent: Agent, fake_k2: FakeK2Server, _isolated_home: Path):
    fake_k2.enqueue(
        ws_call("write_file", path="notes/a.txt", content="hello K2"),
        ws_call("read_file", path="notes/a.txt"),
        Turn(reasoning="It worked.", content="The file says: hello K2."),
    )
    events = await collect(agent.run(RunRequest(prompt="Write and read a note")))
    finished = events[-1]
    assert finished.type == "run_finished" and finished.reason == "done", finished
    assert finished.answer == "The file says: hello K2." and finished.steps == 3
    started = events[0]
    assert (_isolated_home / "workspaces" / started.conversation_id / "notes" / "a.txt").read_text() == "hello K2"
    assert [e.name for e in of_type(events, "tool_call_finished")] == ["workspace__write_file", "workspace__read_file"]
    assert of_type(events, "usage")[-1].prompt_tokens > 0
    # The conversation, its run and its steps survive in SQLite.
    messages = repo.messages_as_openai(agent.db, started.conversation_id)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert messages[1]["reasoning_content"] == "Use write_file." and messages[4]["content"] == "hello K2"
    run = repo.get_run(agent.db, started.run_id)
    assert run.status == "done" and run.steps == 3 and run.prompt_tokens == of_type(events, "usage")[-1].prompt_tokens
    kinds = [(s.kind, s.name) for s in repo.steps_for_run(agent.db, started.run_id)]
    assert kinds.count(("tool", "workspace__write_file")) == 1 and sum(k == "model" for k, _ in kinds) == 3
    # A follow-up turn sees the whole history, reasoning included.
    fake_k2.enqueue(Turn(content="Still hello K2."))
    again = await collect(agent.run(RunRequest(prompt="And now?", conversation_id=started.conversation_id)))
    assert again[-1].reason == "done"
    sent = fake_k2.requests[-1]["messages"]
    assert sent[-1] == {"role": "user", "content": "And now?"} and sent[2]["reasoning_content"] == "Use write_file."


async def test_workspace_over_streamable_http(fake_k2: FakeK2Server, _isolated_home: Path):
    port = free_port()
    env = {"K2HUB_HOME": str(_isolated_home), "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, "-m", "mcp_servers.workspace", "--http", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Our own server over HTTP: trusted, so its results are not untrusted content and its annotations count.
        write_mcp_json(_isolated_home, {"remote": {"url": f"http://127.0.0.1:{port}/mcp", "trusted": True}})
        deadline = time.monotonic() + 20
        agent = None
        while agent is None or not any(t["function"]["name"] == "remote__write_file" for t in agent.hub.tools()):
            if agent is not None:
                await agent.aclose()
            assert time.monotonic() < deadline, "HTTP workspace server did not come up"
            await asyncio.sleep(0.3)
            agent = await Agent.open(agent_config(_isolated_home, fake_k2.url, builtin=[]),
                                     database_url=f"sqlite:///{_isolated_home}/k2hub.db")
        fake_k2.enqueue(Turn(reasoning="w", tool_calls=[ToolCall("remote__write_file", {"path": "h.txt", "content": "via http"})]),
                        Turn(reasoning="r", tool_calls=[ToolCall("remote__read_file", {"path": "h.txt"})]),
                        Turn(content="done"))
        events = await collect(agent.run(RunRequest(prompt="use the remote server")))
        await agent.aclose()
    finally:
        proc.terminate()
        proc.wait(10)
    assert events[-1].reason == "done", events[-1]
    assert [e.preview for e in of_type(events, "tool_call_finished")][-1] == "via http"
    cid = events[0].conversation_id
    assert (_isolated_home / "workspaces" / cid / "h.txt").read_text() == "via http"


async def test_invalid_tool_arguments_come_back_as_a_correctable_error(agent: Agent, fake_k2: FakeK2Server):
    fake_k2.enqueue(Turn(reasoning="a", tool_calls=[ToolCall("workspace__write_file", '{"path": "x.txt"')]),  # broken JSON
                    Turn(reasoning="b", tool_calls=[ToolCall("workspace__write_file", {"path": 7})]),  # schema violation
                    Turn(content="gave up"))
    events = await collect(agent.run(RunRequest(prompt="write")))
    assert events[-1].reason == "done"
    errors = [e.error for e in of_type(events, "tool_call_finished")]
    assert all(errors) and len(errors) == 2
    tool_results = [m["content"] for m in fake_k2.requests[-1]["messages"] if m["role"] == "tool"]
    assert all("Invalid arguments" in r for r in tool_results), tool_results


async def test_all_tool_calls_of_one_message_run_concurrently(agent: Agent, fake_k2: FakeK2Server):
    naps = [ToolCall("toolbox__nap", {"seconds": 1.0}) for _ in range(3)]
    fake_k2.enqueue(Turn(reasoning="naps", tool_calls=naps), Turn(content="rested"))
    started = time.monotonic()
    events = await collect(agent.run(RunRequest(prompt="nap thrice")))
    assert events[-1].reason == "done"
    assert len(of_type(events, "tool_call_finished")) == 3
    assert time.monotonic() - started < 2.5  # 3 × 1 s sequentially would take 3 s


async def test_step_budget_counts_tool_calls_and_leaves_room_for_the_answer(agent: Agent, fake_k2: FakeK2Server):
    with_limits(agent, max_steps=2)
    fake_k2.enqueue(ws_call("list_files", path="."), ws_call("list_files", path="a"),
                    Turn(reasoning="Out of tools.", content="Here is what I found."))
    events = await collect(agent.run(RunRequest(prompt="list everything")))
    fin = events[-1]
    assert fin.reason == "done" and fin.answer == "Here is what I found." and fin.tool_calls == 2
    # The third request is the last: tools disabled ("none" is valid with thinking on) and a note asking for the answer.
    assert len(fake_k2.requests) == 3
    assert [r.get("tool_choice") for r in fake_k2.requests] == ["auto", "auto", "none"]
    assert "used its 2 tool calls" in fake_k2.requests[-1]["messages"][-1]["content"]
    assert any(e.type == "notice" and "Tool-call budget used up: 2 of 2" in e.message for e in events)


async def test_a_model_that_still_calls_tools_after_the_budget_is_stopped(agent: Agent, fake_k2: FakeK2Server):
    with_limits(agent, max_steps=1)
    fake_k2.enqueue(*[ws_call("list_files", path=str(i)) for i in range(3)])
    fin = (await collect(agent.run(RunRequest(prompt="loop forever"))))[-1]
    assert fin.reason == "budget" and "Tool-call budget used up: 1 of 1" in fin.error
    assert len(fake_k2.requests) == 2
    assert repo.get_run(agent.db, fin.run_id).status == "budget"


async def test_token_and_cost_budgets(agent: Agent, fake_k2: FakeK2Server, monkeypatch):
    with_limits(agent, max_tokens=100)
    big = {"prompt_tokens": 90, "completion_tokens": 20, "total_tokens": 110}
    fake_k2.enqueue(Turn(reasoning="t", tool_calls=[ToolCall("workspace__list_files", {})], usage=big))
    fin = (await collect(agent.run(RunRequest(prompt="x"))))[-1]
    assert fin.reason == "budget" and "Token budget" in fin.error
    with_limits(agent, max_tokens=10**9, max_cost_usd=0.000001)
    fake_k2.reset()
    fake_k2.enqueue(Turn(reasoning="t", tool_calls=[ToolCall("workspace__list_files", {})], usage=big))
    # A hosted preset whose model has a known price, pointed at the fake: its own key never goes to another host,
    # the key for a server the user names (K2HUB_API_KEY) does.
    monkeypatch.setenv("K2HUB_API_KEY", "test")
    agent.config.provider, agent.config.model = "moonshot", "kimi-k2-0905-preview"
    fin = (await collect(agent.run(RunRequest(prompt="y"))))[-1]
    assert fin.reason == "budget" and "Cost budget" in fin.error, fin


async def test_loop_detector_nudges_at_three_and_stops_at_five(agent: Agent, fake_k2: FakeK2Server):
    fake_k2.enqueue(*[ws_call("list_files", path=".") for _ in range(6)])
    events = await collect(agent.run(RunRequest(prompt="repeat")))
    fin = events[-1]
    assert fin.reason == "loop" and "5 times in a row" in fin.error
    nudged = [i for i, r in enumerate(fake_k2.requests) if "[K2 Agent Hub]" in str(r["messages"][-1].get("content"))]
    assert nudged and nudged[0] == 3  # the 4th request follows the 3rd identical call
    assert len(fake_k2.requests) == 5
    assert any(e.type == "notice" and "repeated 3×" in e.message for e in events)


async def test_stop_cancels_a_running_tool_and_keeps_history_valid(agent: Agent, fake_k2: FakeK2Server):
    fake_k2.enqueue(Turn(reasoning="z", tool_calls=[ToolCall("toolbox__nap", {"seconds": 30})]))
    events = []
    async for ev in agent.run(RunRequest(prompt="sleep")):
        events.append(ev)
        if ev.type == "tool_call_started":
            agent.stop(ev.run_id)
    fin = events[-1]
    assert fin.reason == "stopped"
    cid = events[0].conversation_id
    messages = repo.messages_as_openai(agent.db, cid)
    assert messages[-1]["role"] == "tool" and messages[-1]["content"].startswith("Not run")
    assert repo.get_run(agent.db, fin.run_id).status == "stopped"


async def test_unknown_provider_stores_nothing(agent: Agent):
    events = await collect(agent.run(RunRequest(prompt="hi", provider="nope")))
    assert events[-1].reason == "error" and "Unknown provider 'nope'" in events[-1].error
    assert repo.list_conversations(agent.db) == []


async def test_wrong_key_is_a_clear_message_and_the_run_is_marked_failed(_isolated_home: Path):
    with FakeK2Server(api_key="right") as server:
        cfg = agent_config(_isolated_home, server.url, api_key="wrong")
        agent = await Agent.open(cfg, database_url=f"sqlite:///{_isolated_home}/k2hub.db")
        try:
            events = await collect(agent.run(RunRequest(prompt="hi")))
        finally:
            await agent.aclose()
    fin = events[-1]
    assert fin.reason == "error" and "Key missing or wrong for openai-compatible" in fin.error
    run = repo.get_run(agent.db, fin.run_id)
    assert run.status == "failed" and "Key missing" in run.error
    assert [m["role"] for m in repo.messages_as_openai(agent.db, run.conversation_id)] == ["user"]


async def test_large_tool_results_are_artifacts_with_a_bounded_view(agent: Agent, fake_k2: FakeK2Server):
    agent.config.result_chars = 50
    text = "line of text\n" * 200
    fake_k2.enqueue(ws_call("write_file", path="big.txt", content=text), ws_call("read_file", path="big.txt"),
                    Turn(content="ok"))
    events = await collect(agent.run(RunRequest(prompt="big")))
    finished = of_type(events, "tool_call_finished")[-1]
    assert finished.artifact_id
    seen = [m["content"] for m in fake_k2.requests[-1]["messages"] if m["role"] == "tool"][-1]
    assert len(seen) < 200 and f"artifact {finished.artifact_id}" in seen
    assert repo.get_artifact(agent.db, finished.artifact_id).data.decode().startswith(text[:100])


def test_cli_ask_json_streams_typed_events(fake_k2: FakeK2Server, _isolated_home: Path):
    fake_k2.enqueue(ws_call("write_file", path="cli.txt", content="from the cli"), Turn(reasoning="ok", content="Done."))
    env = {"K2HUB_HOME": str(_isolated_home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
           "K2HUB_BUILTIN_SERVERS": "workspace"}
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "ask", "write it", "--provider", "openai-compatible", "--base-url",
         fake_k2.url, "--model", "kimi-k2-thinking", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    events = [json.loads(line) for line in out.stdout.splitlines()]
    # Every line is one of the typed events consumers can rebuild.
    assert [event_from_dict(e).type for e in events] == [e["type"] for e in events]
    assert events[0]["type"] == "run_started" and events[-1]["type"] == "run_finished"
    assert {"answer": "Done.", "steps": 2}.items() <= events[-1].items()
    assert events[-1]["tokens"] > 0 and "cost_usd" in events[-1]
