"""A reopened conversation shows each swarm's tree, rebuilt from its stored rows (m011_swarms), under the
agents__spawn card that started it; a branch a crash left running shows as interrupted."""

from __future__ import annotations

import json
from pathlib import Path

from agents.workflows.swarm.spawn import swarm_key
from app.ui.reopen import restore
from storage import repo, swarms
from storage.db import Database

ARGS = {"tasks": [{"goal": "read page 1"}, {"goal": "read page 2"}, {"goal": "read page 3"}], "concurrency": 2}


def stored_conversation(tmp_path: Path):
    """A run that spawned a swarm (then made the same call again, which replayed it) and answered."""
    db = Database(f"sqlite:///{tmp_path / 'k2hub.db'}")
    conv = repo.create_conversation(db, "swarm")
    run = repo.create_run(db, conv.id, "moonshot", "kimi-k2-thinking")
    swarm, _ = swarms.open_swarm(db, run.id, conv.id, swarm_key(run.id, ARGS), "spawn", "Be brief.", 2,
                                 [(t["goal"], t) for t in ARGS["tasks"]])
    swarms.update_branch(db, swarm.id, 0, status="done", attempts=1, steps=3, tool_calls=2, prompt_tokens=900,
                         completion_tokens=100, cost_usd=0.0021, last_tool="browser__fetch", answer="Page 1 says hi.",
                         artifact_id=None)
    swarms.update_branch(db, swarm.id, 1, status="running", attempts=1, steps=1)  # the app died here
    other, _ = swarms.open_swarm(db, run.id, conv.id, "another key", "documents", "", 2, [("a report", {})])
    call = lambda cid: {"id": cid, "type": "function",  # noqa: E731
                        "function": {"name": "agents__spawn", "arguments": json.dumps(ARGS)}}
    repo.append_messages(db, conv.id, run.id, [
        {"role": "user", "content": "Read the pages."},
        {"role": "assistant", "content": "", "tool_calls": [call("functions.agents__spawn:0")]},
        {"role": "tool", "tool_call_id": "functions.agents__spawn:0", "name": "agents__spawn", "content": "digest"},
        {"role": "assistant", "content": "", "tool_calls": [call("functions.agents__spawn:1")]},
        {"role": "tool", "tool_call_id": "functions.agents__spawn:1", "name": "agents__spawn", "content": "digest"},
        {"role": "assistant", "content": "Done."},
    ])  # fmt: skip
    runs = repo.list_runs(db, conv.id)
    return db, conv, swarm, other, runs


def titles(history) -> list[str]:
    return [str((m.metadata or {}).get("title") or m.content)[:60] for m in history]


def test_the_stored_tree_shows_under_the_spawn_card(tmp_path: Path):
    db, conv, swarm, other, runs = stored_conversation(tmp_path)
    trees = swarms.trees_for_conversation(db, conv.id)
    assert [w.id for w, _ in trees] == [swarm.id, other.id] and [len(b) for _, b in trees] == [3, 1]
    history, _ = restore(repo.get_messages(db, conv.id), [], runs, trees)
    ids = [str((m.metadata or {}).get("id", "")) for m in history]
    card = ids.index("functions.agents__spawn:0")
    assert ids[card + 1: card + 5] == [f"swarm-{swarm.id}", *(f"swarm-{swarm.id}-{i}" for i in range(3))]
    root, done, left, never = history[card + 1: card + 5]
    assert "3 sub-agents" in root.metadata["title"] and root.metadata["status"] == "done"
    assert "1. read page 1 — done · 3 steps · 2 tools · 1,000 tokens · $0.0021" in done.metadata["title"]
    assert "Page 1 says hi." in done.content and "browser__fetch" in done.content
    # Nothing runs them any more: not a spinner, but what happened.
    assert "2. read page 2 — interrupted" in left.metadata["title"] and left.metadata["status"] == "done"
    assert "3. read page 3 — interrupted" in never.metadata["title"]
    # One tree: the second identical call replayed the first swarm; the documents swarm has its own card.
    assert sum(i.startswith("swarm-") and i.count("-") == 1 for i in ids) == 1
    assert f"swarm-{other.id}" not in ids
    assert history[-1].content == "Done."
    # Without the rows (as before), the chat is the same minus the tree.
    plain, _ = restore(repo.get_messages(db, conv.id), [], runs)
    assert [t for t in titles(history) if "swarm" not in t.lower() and "read page" not in t] == titles(plain)


def test_a_swarm_running_in_this_process_keeps_its_live_states(tmp_path: Path):
    db, conv, swarm, _, runs = stored_conversation(tmp_path)
    history, _ = restore(repo.get_messages(db, conv.id), [], runs, swarms.trees_for_conversation(db, conv.id),
                         running=lambda swarm_id: swarm_id == swarm.id)
    lines = {m.metadata["id"]: m.metadata for m in history if str(m.metadata.get("id", "")).startswith("swarm-")}
    assert "read page 2 — running" in lines[f"swarm-{swarm.id}-1"]["title"]
    assert "read page 3 — pending" in lines[f"swarm-{swarm.id}-2"]["title"]
    assert lines[f"swarm-{swarm.id}"]["status"] == "pending"
