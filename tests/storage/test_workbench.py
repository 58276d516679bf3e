"""The workbench's queries: search, a page of runs with filters and totals, exports; the .env writer for keys."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import repo, workbench
from storage.db import Database
from storage.env_file import read_env_file, write_env_value


def _conversation(db: Database, title: str, prompt: str, answer: str, provider: str = "groq",
                  model: str = "kimi-k2") -> str:
    conv = repo.create_conversation(db, title)
    run = repo.create_run(db, conv.id, provider, model)
    repo.append_messages(db, conv.id, run.id, [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "workspace__read_file", "arguments": "{\"path\": \"a\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "name": "workspace__read_file", "content": "file text"},
        {"role": "assistant", "content": answer},
    ])  # fmt: skip
    repo.finish_run(db, run.id, "done", steps=3, prompt_tokens=100, completion_tokens=20, cached_tokens=40,
                    cost_usd=0.01)
    return conv.id


def test_search_finds_titles_and_message_text(db: Database) -> None:
    a = _conversation(db, "Capex question", "What was capex?", "It was large.")
    b = _conversation(db, "Weather", "Is it raining in Paris?", "No.")
    assert [c.id for c in workbench.search_conversations(db, "capex")] == [a]
    assert [c.id for c in workbench.search_conversations(db, "PARIS")] == [b]
    assert workbench.search_conversations(db, "nothing like this") == []


def test_runs_page_filters_pages_and_totals(db: Database) -> None:
    for i in range(7):
        _conversation(db, f"c{i}", "p", "a", provider="groq" if i % 2 else "moonshot")
    rows, more = workbench.runs_page(db, limit=3)
    assert more and len(rows) == 3
    assert rows[0].started_at >= rows[-1].started_at  # newest first
    second, _ = workbench.runs_page(db, offset=3, limit=3)
    last, more_after_last = workbench.runs_page(db, offset=6, limit=3)
    assert len(last) == 1 and not more_after_last
    assert len({r.id for r in [*rows, *second, *last]}) == 7  # the pages do not overlap
    groq, _ = workbench.runs_page(db, provider="groq", limit=50)
    assert len(groq) == 3 and {r.provider for r in groq} == {"groq"}
    assert len(workbench.runs_page(db, provider="groq", status="failed", limit=50)[0]) == 0
    today = datetime.now(UTC).date()
    assert len(workbench.runs_page(db, day=today)[0]) == 7
    assert workbench.runs_page(db, day=today - timedelta(days=2))[0] == []
    per_provider = {t["key"]: t for t in workbench.totals_by(db, "provider")}
    assert per_provider["moonshot"]["runs"] == 4 and per_provider["moonshot"]["tokens"] == 480
    assert per_provider["groq"]["cached"] == 120
    assert workbench.run_filters(db)["provider"] == ["groq", "moonshot"]


def test_exports_carry_the_turns_and_the_tool_calls(db: Database) -> None:
    cid = _conversation(db, "Capex question", "What was capex?", "It was $1.5 billion (10-K, p. 58).")
    data = json.loads(workbench.export_json(db, cid))
    assert data["title"] == "Capex question" and data["runs"][0]["cost_usd"] == 0.01
    assert data["messages"][1]["tool_calls"][0]["function"]["name"] == "workspace__read_file"
    md = workbench.export_markdown(db, cid)
    assert md.startswith("# Capex question")
    assert "## You\n\nWhat was capex?" in md and "`workspace__read_file`" in md and "p. 58" in md


def test_keys_are_written_600_and_removed(tmp_path: Path) -> None:
    write_env_value(tmp_path, "GROQ_API_KEY", "gsk_first")
    write_env_value(tmp_path, "K2HUB_MODEL", "kimi-k2")
    write_env_value(tmp_path, "GROQ_API_KEY", "gsk_second")  # replaced, not added twice
    assert read_env_file(tmp_path) == {"GROQ_API_KEY": "gsk_second", "K2HUB_MODEL": "kimi-k2"}
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    write_env_value(tmp_path, "GROQ_API_KEY", None)
    assert read_env_file(tmp_path) == {"K2HUB_MODEL": "kimi-k2"}


def test_a_key_cannot_smuggle_another_variable_into_the_env_file(tmp_path: Path) -> None:
    """The attack: a pasted 'key' with a line break that would set K2HUB_SANDBOX=unsafe-local."""
    with pytest.raises(ValueError):
        write_env_value(tmp_path, "GROQ_API_KEY", "gsk_x\nK2HUB_SANDBOX=unsafe-local")
    with pytest.raises(ValueError):
        write_env_value(tmp_path, "GROQ_API_KEY", "gsk_x K2HUB_SANDBOX=unsafe-local")
    with pytest.raises(ValueError):
        write_env_value(tmp_path, "BAD NAME", "x")
    assert "K2HUB_SANDBOX" not in read_env_file(tmp_path)
