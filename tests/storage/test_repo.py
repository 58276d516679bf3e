"""storage.repo against a real database (SQLite here; test_postgres.py reruns these on PostgreSQL)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC

import pytest

from storage import repo
from storage.db import Database

# What a K2 thinking model's turn looks like in the planner's state (ids as Kimi's tool-call parser emits them).
K2_TURN = [
    {"role": "system", "content": "You are K2 Agent Hub."},
    {"role": "user", "content": "Summarise report.pdf"},
    {
        "role": "assistant",
        "content": "",
        "reasoning_content": "I should read the file first.\nThen summarise.",
        "tool_calls": [
            {
                "id": "functions.read_file:3",
                "type": "function",
                "function": {"name": "read_file", "arguments": '{"path": "report.pdf", "pages": [1, 2]}'},
            },
            {"id": "functions.search:4", "type": "function", "function": {"name": "search", "arguments": "{}"}},
        ],
    },
    {"role": "tool", "tool_call_id": "functions.read_file:3", "name": "read_file", "content": "Revenue grew 12 %."},
    {"role": "tool", "tool_call_id": "functions.search:4", "name": "search", "content": "[]"},
    {"role": "assistant", "content": "Revenue grew 12 % — ünïcødé ✓.", "reasoning_content": ""},
]


def test_k2_messages_round_trip_exactly(db: Database) -> None:
    conv = repo.create_conversation(db, "report", "moonshot", "kimi-k2-thinking")
    run = repo.create_run(db, conv.id, "moonshot", "kimi-k2-thinking")
    repo.append_messages(db, conv.id, run.id, K2_TURN)
    assert repo.messages_as_openai(db, conv.id) == K2_TURN


def test_content_none_list_content_and_unknown_keys_round_trip(db: Database) -> None:
    conv = repo.create_conversation(db)
    msgs = [
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "functions.run_python:0", "type": "function", "function": {"name": "run_python", "arguments": ""}}
        ]},
        {"role": "assistant", "content": "Partial answ", "partial": True},
    ]  # fmt: skip
    rows = repo.append_messages(db, conv.id, None, msgs)
    assert rows[0].content == "what is this?"  # searchable text of list-form content
    assert repo.messages_as_openai(db, conv.id) == msgs


def test_append_continues_seq_and_records_run(db: Database) -> None:
    conv = repo.create_conversation(db)
    run = repo.create_run(db, conv.id)
    first = repo.append_messages(db, conv.id, run.id, K2_TURN[:2])
    second = repo.append_messages(db, conv.id, None, K2_TURN[2:])
    assert [m.seq for m in first + second] == list(range(len(K2_TURN)))
    assert all(m.id is not None for m in first + second)
    stored = repo.get_messages(db, conv.id)
    assert [m.seq for m in stored] == list(range(len(K2_TURN)))
    assert [m.run_id for m in stored[:3]] == [run.id, run.id, None]


def test_append_rejects_unknown_conversation_and_bad_messages(db: Database) -> None:
    with pytest.raises(repo.NotFound):
        repo.append_messages(db, "nope", None, [{"role": "user", "content": "hi"}])
    conv = repo.create_conversation(db)
    with pytest.raises(ValueError, match="role"):
        repo.append_messages(db, conv.id, None, [{"role": "user", "content": "ok"}, {"content": "no role"}])
    assert repo.get_messages(db, conv.id) == []  # the whole call was rolled back


def test_conversations_listed_most_recent_first(db: Database) -> None:
    a = repo.create_conversation(db, "a")
    time.sleep(0.002)
    b = repo.create_conversation(db, "b")
    assert [c.id for c in repo.list_conversations(db)] == [b.id, a.id]
    time.sleep(0.002)
    repo.append_messages(db, a.id, None, [{"role": "user", "content": "hi"}])
    assert [c.id for c in repo.list_conversations(db)] == [a.id, b.id]
    time.sleep(0.002)
    touched = repo.touch_conversation(db, b.id, provider="groq", model="kimi-k2-instruct-0905")
    assert (touched.provider, touched.model) == ("groq", "kimi-k2-instruct-0905")
    assert [c.id for c in repo.list_conversations(db, limit=1)] == [b.id]
    repo.rename_conversation(db, a.id, "Annual reports")
    got = repo.get_conversation(db, a.id)
    assert got is not None and got.title == "Annual reports"
    assert got.created_at.tzinfo is UTC and got.updated_at >= got.created_at
    with pytest.raises(repo.NotFound):
        repo.rename_conversation(db, "missing", "x")


def test_delete_conversation_cascades(db: Database) -> None:
    conv = repo.create_conversation(db)
    run = repo.create_run(db, conv.id)
    art = repo.save_artifact(db, "big", name="r.txt", conversation_id=conv.id, run_id=run.id)
    repo.add_step(db, run.id, "tool", "read_file", call_id="functions.read_file:0", artifact_id=art.id)
    repo.append_messages(db, conv.id, run.id, K2_TURN)
    assert repo.delete_conversation(db, conv.id) is True
    assert repo.get_messages(db, conv.id) == [] and repo.get_run(db, run.id) is None
    assert repo.steps_for_run(db, run.id) == [] and repo.get_artifact(db, art.id) is None
    assert repo.delete_conversation(db, conv.id) is False


def test_run_lifecycle(db: Database) -> None:
    conv = repo.create_conversation(db)
    run = repo.create_run(db, conv.id, "groq", "kimi-k2", meta={"max_steps": 5}, skills_used=["pdf-report"])
    other = repo.create_run(db, conv.id, run_id="fixed-id")
    assert other.id == "fixed-id" and run.status == "running"
    assert [r.id for r in repo.unfinished_runs(db)] == [run.id, other.id]
    repo.update_run(db, run.id, steps=2, prompt_tokens=100, meta={"max_steps": 5, "resumed": True})
    done = repo.finish_run(db, run.id, "budget", "step budget exhausted", completion_tokens=7, cost_usd=0.25)
    assert (done.status, done.error, done.steps, done.prompt_tokens) == ("budget", "step budget exhausted", 2, 100)
    assert (done.completion_tokens, done.cost_usd) == (7, 0.25)
    stored = repo.get_run(db, run.id)
    assert stored is not None and stored.finished_at is not None and stored.finished_at.tzinfo is UTC
    assert stored.meta == {"max_steps": 5, "resumed": True} and stored.skills_used == ["pdf-report"]
    assert [r.id for r in repo.unfinished_runs(db)] == [other.id]
    assert [r.id for r in repo.list_runs(db, conv.id)] == [run.id, other.id]


def test_run_rejects_bad_status_fields_and_conversation(db: Database) -> None:
    conv = repo.create_conversation(db)
    run = repo.create_run(db, conv.id)
    with pytest.raises(ValueError):
        repo.finish_run(db, run.id, "running")
    with pytest.raises(ValueError):
        repo.finish_run(db, run.id, "exploded")
    with pytest.raises(ValueError, match="conversation_id"):
        repo.update_run(db, run.id, conversation_id="x")
    with pytest.raises(ValueError, match="colour"):
        repo.update_run(db, run.id, colour="red")
    with pytest.raises(repo.NotFound):
        repo.create_run(db, "missing")
    with pytest.raises(repo.NotFound):
        repo.finish_run(db, "missing", "done")


def test_steps_ordered_and_idempotent_on_call_id(db: Database) -> None:
    conv = repo.create_conversation(db)
    run = repo.create_run(db, conv.id)
    model = repo.add_step(db, run.id, "model", "kimi-k2", prompt_tokens=900, cached_tokens=800, cost_usd=0.01)
    tool = repo.add_step(db, run.id, "tool", "read_file", call_id="functions.read_file:3",
                         args={"path": "a.txt"}, result_preview="hello", duration_s=0.5)  # fmt: skip
    again = repo.add_step(db, run.id, "tool", "read_file", call_id="functions.read_file:3", args={"path": "b"})
    model2 = repo.add_step(db, run.id, "model", "kimi-k2")  # call_id None never collides
    assert again.id == tool.id and again.args == {"path": "a.txt"} and again.result_preview == "hello"
    assert [s.id for s in repo.steps_for_run(db, run.id)] == [model.id, tool.id, model2.id]
    assert [s.seq for s in repo.steps_for_run(db, run.id)] == [0, 1, 2]
    found = repo.get_step(db, run.id, "functions.read_file:3")
    assert found is not None and found.id == tool.id and found.duration_s == 0.5
    assert repo.get_step(db, run.id, "functions.read_file:4") is None
    # The same call id in another run is another call.
    other = repo.create_run(db, conv.id)
    assert repo.add_step(db, other.id, "tool", "read_file", call_id="functions.read_file:3").id != tool.id
    with pytest.raises(ValueError):
        repo.add_step(db, run.id, "thought", "x")


def test_artifacts_keep_bytes_and_hash(db: Database) -> None:
    conv = repo.create_conversation(db)
    blob = bytes(range(256)) * 1000
    art = repo.save_artifact(db, blob, name="dump.bin", kind="file", conversation_id=conv.id)
    text = repo.save_artifact(db, "é" * 10, name="out.txt")
    got = repo.get_artifact(db, art.id)
    assert got is not None and got.data == blob and got.size == len(blob) and got.kind == "file"
    assert got.sha256 == hashlib.sha256(blob).hexdigest() and got.mime == "application/octet-stream"
    got_text = repo.get_artifact(db, text.id)
    assert got_text is not None and got_text.data.decode() == "é" * 10 and got_text.size == 20
    assert got_text.mime.startswith("text/plain") and got_text.kind == "tool_result"
    assert repo.get_artifact(db, "missing") is None


def test_settings_round_trip_json(db: Database) -> None:
    assert repo.get_setting(db, "theme", "light") == "light"
    repo.set_setting(db, "theme", "dark")
    repo.set_setting(db, "budget", {"max_tokens": 2_000_000, "max_cost_usd": 5.0, "fallbacks": ["groq", None]})
    repo.set_setting(db, "theme", "solarized")
    assert repo.get_setting(db, "theme") == "solarized"
    assert repo.get_setting(db, "budget") == {"max_tokens": 2_000_000, "max_cost_usd": 5.0, "fallbacks": ["groq", None]}
    repo.set_setting(db, "max_tokens", 1000)  # 'token' in a budget name is not a secret
    assert repo.get_setting(db, "max_tokens") == 1000


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("api_key", "x"),
        ("MOONSHOT_API_KEY", "x"),
        ("providers", {"groq": {"apiKey": "x"}}),
        ("github_token", "x"),
        ("db_password", "x"),
        ("providers", [{"name": "groq", "key": "gsk_abcdefghijklmnopqrstuvwxyz"}]),
        ("note", "sk-proj-abcdefghijklmnop1234"),
    ],
)
def test_settings_refuse_secrets(db: Database, key: str, value: object) -> None:
    with pytest.raises(repo.SecretRefused):
        repo.set_setting(db, key, value)
    assert repo.get_setting(db, key) is None
