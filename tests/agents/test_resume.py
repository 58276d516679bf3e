"""kill -9 in the middle of a run, then resume: no completed step is lost or run twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from storage import repo
from storage.db import Database
from tests.agents.conftest import REPO, toolbox_server, write_mcp_json
from tests.fakes.k2_context import ContextModel, filler
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn


def _cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    env = {"K2HUB_HOME": str(home), "PATH": os.environ["PATH"], "PYTHONPATH": str(REPO),
           "K2HUB_BUILTIN_SERVERS": "workspace", **(env or {})}  # the only built-in the scripted run calls
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_kill_minus_nine_mid_run_then_resume(fake_k2: FakeK2Server, _isolated_home: Path):
    write_mcp_json(_isolated_home, {"toolbox": toolbox_server()})
    fake_k2.enqueue(
        Turn(reasoning="Append a line and nap, both at once.", tool_calls=[
            ToolCall("workspace__write_file", {"path": "log.txt", "content": "x\n", "append": True}),
            ToolCall("toolbox__nap", {"seconds": 4}),
        ]),
        Turn(reasoning="Now answer.", content="All done."),
    )
    proc = _cli(_isolated_home, "ask", "go", "--provider", "openai-compatible", "--base-url", fake_k2.url,
                "--model", "kimi-k2-thinking", "--json")
    seen = []
    deadline = time.monotonic() + 90
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        seen.append(event)
        if event["type"] == "tool_call_finished" and event["name"] == "workspace__write_file":
            break
        assert time.monotonic() < deadline
    # The append finished, the nap is still running: kill the whole process group without warning.
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    run_id = seen[0]["run_id"]
    conversation = seen[0]["conversation_id"]
    workspace = _isolated_home / "workspaces" / conversation
    assert (workspace / "log.txt").read_text() == "x\n"
    db = Database(f"sqlite:///{_isolated_home}/k2hub.db")
    assert repo.get_run(db, run_id).status == "running"  # interrupted, resumable

    resumed = _cli(_isolated_home, "resume", "--json")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err[-3000:]
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["type"] == "run_started" and events[0]["resumed"] and events[0]["run_id"] == run_id
    rerun = [e["name"] for e in events if e["type"] == "tool_call_started"]
    assert rerun == ["toolbox__nap"]  # only the step that had not finished runs again
    assert events[-1]["type"] == "run_finished" and events[-1]["answer"] == "All done."
    assert len(fake_k2.requests) == 2  # the model step finished before the kill was not asked again
    assert (workspace / "log.txt").read_text() == "x\n"  # the append ran exactly once
    assert repo.get_run(db, run_id).status == "done"
    roles = [m["role"] for m in repo.messages_as_openai(db, conversation)]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    tool_steps = [s.name for s in repo.steps_for_run(db, run_id) if s.kind == "tool"]
    assert sorted(tool_steps) == ["toolbox__nap", "workspace__write_file"]
    db.close()


def test_kill_minus_nine_at_call_150_of_a_long_folded_run(fake_k2: FakeK2Server, _isolated_home: Path):
    """A long run whose older steps are folded (16K window): killed after 150 calls, resumed, nothing lost or redone."""
    total, kill_at = 160, 150
    log = _isolated_home / "workspaces"

    def next_line(request: dict) -> Turn:
        # The script follows the file, not a queue: a request cut off by the kill is simply asked again.
        files = list(log.glob("*/log.txt"))
        n = len(files[0].read_text().splitlines()) if files else 0
        if n >= total:
            return Turn(reasoning="Every line is written.", content=f"Wrote {total} lines.")
        line = f"line {n} " + filler(600, n) + "\n"
        return Turn(reasoning=f"Line {n}. " + filler(300, n), chunk_chars=400, tool_calls=[
            ToolCall("workspace__write_file", {"path": "log.txt", "content": line, "append": True})])

    fake_k2.responder = next_line
    fake_k2.context = ContextModel(window=16_384)
    env = {"K2HUB_CONTEXT_WINDOW": "16384"}
    proc = _cli(_isolated_home, "ask", "write the log", "--provider", "openai-compatible", "--base-url", fake_k2.url,
                "--model", "kimi-k2-thinking", "--json", env=env)
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(json.loads(line))
        if sum(e["type"] == "tool_call_finished" for e in seen) == kill_at:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    run_id, conversation = seen[0]["run_id"], seen[0]["conversation_id"]
    assert any(e["type"] == "context" and e["compactions"] >= 2 for e in seen)  # folded before the kill

    resumed = _cli(_isolated_home, "resume", run_id, "--json", env=env)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-3000:]
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["type"] == "run_finished" and events[-1]["answer"] == f"Wrote {total} lines."
    lines = (log / conversation / "log.txt").read_text().splitlines()
    assert [int(x.split()[1]) for x in lines] == list(range(total))  # every step once: none lost, none repeated
    db = Database(f"sqlite:///{_isolated_home}/k2hub.db")
    steps = repo.steps_for_run(db, run_id)
    assert sum(s.kind == "tool" for s in steps) == total and sum(s.kind == "model" for s in steps) == total + 1
    assert fake_k2.context.stats.refused == 0 and fake_k2.context.stats.max_prompt_tokens <= 16_384
    db.close()
