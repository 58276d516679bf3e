"""kill -9 in the middle of a swarm, then resume: finished sub-agents are replayed from their stored results, only
the unfinished ones run again (and no model call of a finished one is made again)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from storage import repo, swarms
from storage.db import Database
from tests.agents.conftest import REPO, write_mcp_json
from tests.agents.swarm.conftest import MODEL, trusted_toolbox
from tests.agents.swarm.script import SwarmScript, goal_of, spawn_args
from tests.fakes.k2_server import FakeK2Server, ToolCall

GOALS = [f"quick {n}" for n in range(4)] + [f"slow {n}" for n in range(2)]


def _cli(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {"K2HUB_HOME": str(home), "PATH": os.environ["PATH"], "PYTHONPATH": str(REPO),
           "K2HUB_BUILTIN_SERVERS": "workspace"}
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_kill_minus_nine_mid_swarm_then_resume_redoes_only_unfinished(fake_k2: FakeK2Server, _isolated_home: Path):
    write_mcp_json(_isolated_home, {"toolbox": trusted_toolbox()})

    def calls(goal: str) -> list[ToolCall]:
        return [ToolCall("toolbox__nap", {"seconds": 20 if goal.startswith("slow") else 0.05})]

    script = SwarmScript(spawn_args(GOALS, 6), calls=calls)
    fake_k2.responder = script
    proc = _cli(_isolated_home, "ask", "check them", "--provider", "openai-compatible", "--base-url", fake_k2.url,
                "--model", MODEL, "--json")
    seen = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        seen.append(event)
        done = [e for e in seen if e["type"] == "subagent_finished"]
        if len(done) == 4:
            break
        assert time.monotonic() < deadline
    assert {e["goal"] for e in done} == set(GOALS[:4])
    os.killpg(proc.pid, signal.SIGKILL)  # the slow ones are napping: the swarm dies mid-way
    proc.wait(10)
    run_id = seen[0]["run_id"]
    db = Database(f"sqlite:///{_isolated_home}/k2hub.db")
    swarm = swarms.swarms_for_run(db, run_id)[0]
    stored = {b.goal: b.status for b in swarms.branches(db, swarm.id)}
    assert stored == {**{g: "done" for g in GOALS[:4]}, **{g: "running" for g in GOALS[4:]}}
    assert [r.id for r in repo.unfinished_runs(db)] == [run_id]  # the sub-agents' runs are not resumed alone

    before = {g: n for g, n in script.served.items()}
    fake_k2.requests.clear()
    script.calls = lambda goal: [ToolCall("toolbox__nap", {"seconds": 0.05})]  # the slow ones are quick now
    resumed = _cli(_isolated_home, "resume", "--json")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err[-3000:]
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["type"] == "run_started" and events[0]["resumed"] and events[0]["run_id"] == run_id
    asked = {goal_of(b) for b in fake_k2.requests} - {None}
    assert asked == set(GOALS[4:])  # only the unfinished sub-agents asked the model again
    finished = {e["goal"]: e for e in events if e["type"] == "subagent_finished"}
    assert all(finished[g]["replayed"] for g in GOALS[:4])
    assert not any(finished[g]["replayed"] for g in GOALS[4:])
    assert all(e["status"] == "done" for e in finished.values())
    assert events[-1]["type"] == "run_finished" and events[-1]["reason"] == "done"
    assert all(script.served[g] == before[g] for g in GOALS[:4])
    assert {b.status for b in swarms.branches(db, swarm.id)} == {"done"}
    # The digest the parent read holds all six results, the replayed ones from their stored answers.
    digest = next(e for e in events if e["type"] == "tool_call_finished")["preview"]
    assert "Swarm of 6 sub-agents: 6 done" in digest
    interrupted = [repo.get_run(db, r) for r in {e["subagent_run_id"] for e in seen
                                                 if e["type"] == "subagent_started" and e["goal"] in GOALS[4:]}]
    assert {r.status for r in interrupted} == {"interrupted"}
    db.close()


def test_a_request_an_interrupted_branch_waited_for_does_not_stay_pending(tmp_path: Path):
    from agents.workflows.swarm import scheduler
    from storage import approvals

    db = Database(f"sqlite:///{tmp_path / 'k2hub.db'}")
    try:
        conversation = repo.create_conversation(db, "t")
        run = repo.create_run(db, conversation.id, meta={"subagent_of": "parent", "swarm": "s"})
        approvals.request_approval(db, run.id, "1.0", "toolbox__echo", {"text": "x"}, "risk", "why")
        scheduler._interrupted(db, run.id)
        assert repo.get_run(db, run.id).status == "interrupted"
        [row] = approvals.approvals_for_run(db, run.id)
        assert row.decision == "denied" and "interrupted" in row.note
        assert approvals.pending_for_conversation(db, conversation.id) == []
    finally:
        db.close()
