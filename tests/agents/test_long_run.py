"""Long-horizon runs: hundreds of sequential tool calls inside a window the fake K2 enforces (sizes scaled down to a
16K-token window so the suite stays fast; benchmarks/bench_long_run.py runs the realistic sizes)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.events import Event
from agents.models.presets import PRESETS, ModelInfo
from agents.models.providers import ModelSpec
from agents.planner.runner import Agent, RunRequest
from storage import repo
from tests.agents.conftest import agent_config, of_type, toolbox_server, write_mcp_json
from tests.fakes.k2_context import long_run_turns
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn

WINDOW = 16_384
TASK = "Audit every record of the ledger, one call per record, and report what you find."
RESULT_CHARS = 1_000
REASONING_CHARS = 300


def spec(url: str, window: int = WINDOW, info: ModelInfo | None = None) -> ModelSpec:
    """K2-Thinking behind the fake, with a scaled-down window."""
    info = info or ModelInfo(context_window=window, thinking=True)
    return ModelSpec("openai-compatible", "kimi-k2-thinking", url, "none", info, "openai/")


def blob_calls(n: int, chars: int = RESULT_CHARS) -> list[Turn]:
    return long_run_turns(n, "toolbox__blob", lambda i: {"chars": chars, "seed": i}, reasoning_chars=REASONING_CHARS,
                          answer=f"Audited {n} records.", chunk_chars=400)


@pytest.fixture
def long_fake() -> FakeK2Server:
    with FakeK2Server(window=WINDOW, prefix_cache=True) as server:
        yield server


@pytest.fixture
async def long_agent(_isolated_home: Path, long_fake: FakeK2Server) -> AsyncIterator[Agent]:
    """An Agent with only the test toolbox (trusted: its results are ours), default budgets."""
    write_mcp_json(_isolated_home, {"toolbox": {**toolbox_server(), "trusted": True}})
    agent = await Agent.open(agent_config(_isolated_home, long_fake.url, builtin=[]),
                             database_url=f"sqlite:///{_isolated_home}/k2hub.db")
    try:
        yield agent
    finally:
        await agent.aclose()


def checkpoint_bytes(db_file: Path, thread_id: str) -> int:
    """Bytes of the run's LangGraph checkpoints and writes (read beside the app's own connection)."""
    with sqlite3.connect(db_file, timeout=30) as conn:
        rows = conn.execute("SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints "
                            "WHERE thread_id = ?", (thread_id,)).fetchone()[0]
        writes = conn.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?",
                              (thread_id,)).fetchone()[0]
    return rows + writes


async def test_300_calls_finish_inside_the_window_then_the_conversation_goes_on(
    long_agent: Agent, long_fake: FakeK2Server, _isolated_home: Path
):
    long_fake.enqueue(*blob_calls(300))
    events: list[Event] = []
    sizes: dict[int, int] = {}
    async for event in long_agent.run(RunRequest(prompt=TASK, chain=[spec(long_fake.url)])):
        events.append(event)
        if event.type == "tool_call_finished":
            done = len(of_type(events, "tool_call_finished"))
            if 20 <= done <= 60 or 240 <= done <= 280:
                sizes[done] = checkpoint_bytes(_isolated_home / "k2hub.db", event.run_id)
    fin = events[-1]
    assert fin.reason == "done" and fin.answer == "Audited 300 records." and fin.tool_calls == 300, fin
    # Never a request over the window: nothing refused, the largest one inside it.
    stats = long_fake.context.stats
    assert stats.refused == 0 and stats.max_prompt_tokens <= WINDOW, stats.as_dict()
    assert len(long_fake.requests) == 301
    # Every request carries the user's task verbatim and the newest result whole.
    for index, request in enumerate(long_fake.requests):
        sent = request["messages"]
        assert any(m["role"] == "user" and m["content"] == TASK for m in sent), index
        if index:
            newest = [m for m in sent if m["role"] == "tool"][-1]
            assert newest["content"].startswith(f"[blob {index - 1}] ") and len(newest["content"]) > RESULT_CHARS
        # K2's rule: an assistant tool-call message that is sent keeps its reasoning.
        assert all(m.get("reasoning_content") for m in sent if m["role"] == "assistant" and m.get("tool_calls"))
    notices = [e.message for e in of_type(events, "notice") if "folded" in e.message]
    contexts = of_type(events, "context")
    assert len(notices) >= 5 and contexts[-1].compactions == len(notices) and contexts[-1].compacted_steps > 250
    assert all(c.window == WINDOW and c.tokens <= WINDOW for c in contexts)
    # The prefix cache works between compactions.
    assert stats.cached_tokens / stats.prompt_tokens > 0.5, stats.as_dict()
    # Nothing lost: 300 distinct tool steps, the run's messages stored whole; its checkpoints pruned.
    steps = [s for s in repo.steps_for_run(long_agent.db, fin.run_id) if s.kind == "tool"]
    assert len({s.call_id for s in steps}) == 300 and {s.args["seed"] for s in steps} == set(range(300))
    stored = repo.messages_as_openai(long_agent.db, events[0].conversation_id)
    # The task, 300 calls with their results, the note that the tool budget is used up, the answer.
    assert len(stored) == 1 + 300 * 2 + 2 and stored[-2]["_note"] and stored[-1]["content"] == "Audited 300 records."
    assert checkpoint_bytes(_isolated_home / "k2hub.db", fin.run_id) == 0
    # Checkpoint bytes per step stay flat: late steps add what early steps did (the whole list would grow ~6×).
    early = (sizes[60] - sizes[20]) / 40
    late = (sizes[280] - sizes[240]) / 40
    assert 0 < late < 1.5 * early, (early, late)

    # A follow-up turn: the history alone is ~10× the window; it is folded the same way, and the turn works.
    long_fake.enqueue(Turn(reasoning="Summing up.", content="Still 300 records."))
    again = [e async for e in long_agent.run(RunRequest(prompt="How many records?",
                                                        conversation_id=events[0].conversation_id,
                                                        chain=[spec(long_fake.url)]))]
    assert again[-1].reason == "done" and again[-1].answer == "Still 300 records."
    last = long_fake.requests[-1]["messages"]
    assert last[-1] == {"role": "user", "content": "How many records?"}
    assert any(m["role"] == "user" and m["content"] == TASK for m in last)
    assert long_fake.context.stats.refused == 0 and long_fake.context.stats.max_prompt_tokens <= WINDOW


async def test_the_model_rereads_a_folded_result_by_its_artifact_id(long_agent: Agent, long_fake: FakeK2Server):
    long_fake.enqueue(*blob_calls(40)[:-1])

    def reread(request: dict) -> Turn:
        """Find the artifact of the very first call in the fold record, as the model would, and read it."""
        # Decided from the request alone, so a request retried after a lost response gets the same answer.
        if request["messages"][-1].get("name") == "context__read_artifact":
            return Turn(content="Read it again.")
        record = next(m["content"] for m in request["messages"] if "Earlier tool calls are folded" in str(m["content"]))
        first = next(line for line in record.splitlines() if line.startswith("1. toolbox__blob"))
        artifact = first.split("artifact ", 1)[1][:12]
        return Turn(reasoning="Re-read step 1.", tool_calls=[ToolCall("context__read_artifact", {"artifact_id": artifact})])

    long_fake.responder = reread
    events = [e async for e in long_agent.run(RunRequest(prompt=TASK, chain=[spec(long_fake.url)]))]
    assert events[-1].reason == "done", events[-1]
    original = next(s for s in repo.steps_for_run(long_agent.db, events[-1].run_id) if s.args.get("seed") == 0)
    whole = repo.get_artifact(long_agent.db, original.artifact_id).data.decode()
    result = long_fake.requests[-1]["messages"][-1]
    assert result["name"] == "context__read_artifact"
    header, _, body = result["content"].partition("\n")
    assert body == whole and whole.startswith("[blob 0] ") and "this is the end" in header


@pytest.mark.parametrize("style", ["moonshot", "openai", "vllm"])
async def test_a_context_length_400_mid_run_folds_harder_and_retries(
    style: str, _isolated_home: Path
):
    """The provider's window is smaller than the one the preset claims: its 400 is recovered from, not fatal."""
    write_mcp_json(_isolated_home, {"toolbox": {**toolbox_server(), "trusted": True}})
    with FakeK2Server(window=9_000, context_style=style) as fake:
        agent = await Agent.open(agent_config(_isolated_home, fake.url, builtin=[]),
                                 database_url=f"sqlite:///{_isolated_home}/k2hub.db")
        try:
            fake.enqueue(*blob_calls(25))
            events = [e async for e in agent.run(RunRequest(prompt=TASK, chain=[spec(fake.url, window=WINDOW)]))]
        finally:
            await agent.aclose()
    assert events[-1].reason == "done" and events[-1].answer == "Audited 25 records.", events[-1]
    assert fake.context.stats.refused >= 1
    retried = [e.message for e in of_type(events, "notice") if "refused the request as longer" in e.message]
    assert len(retried) == fake.context.stats.refused


async def test_the_local_models_8k_window_uses_the_same_policy(_isolated_home: Path):
    """The embedded model's preset (8K, results cut to 2,000 characters) through the same planner path."""
    local = PRESETS["local"].info("qwen2.5-coder-0.5b-instruct")
    write_mcp_json(_isolated_home, {"toolbox": {**toolbox_server(), "trusted": True}})
    with FakeK2Server(window=local.context_window, prefix_cache=True) as fake:
        agent = await Agent.open(agent_config(_isolated_home, fake.url, builtin=[]),
                                 database_url=f"sqlite:///{_isolated_home}/k2hub.db")
        try:
            fake.enqueue(*long_run_turns(30, "toolbox__blob", lambda i: {"chars": 1_500, "seed": i},
                                         reasoning_chars=0, answer="Done.", chunk_chars=400))
            info = dataclasses.replace(local, thinking=False)
            events = [e async for e in agent.run(RunRequest(prompt=TASK, chain=[spec(fake.url, info=info)]))]
        finally:
            await agent.aclose()
    assert events[-1].reason == "done", events[-1]
    assert fake.context.stats.refused == 0 and fake.context.stats.max_prompt_tokens <= local.context_window
    contexts = of_type(events, "context")
    assert contexts[-1].window == 8192 and contexts[-1].compactions >= 2
    assert all(json.dumps(r["messages"]).count(TASK) == 1 for r in fake.requests)


async def test_notes_survive_every_fold_and_reads_stay_in_their_conversation(
    long_agent: Agent, long_fake: FakeK2Server
):
    plan = "Plan: audit records 0-59; flag totals over 1000."
    notes = lambda action, text="": Turn(reasoning=f"Notes: {action}.", tool_calls=[  # noqa: E731
        ToolCall("context__notes", {"action": action, "text": text})])
    long_fake.enqueue(notes("write", plan), *blob_calls(60)[:-1], notes("append", "Done: 60."), notes("read"),
                      Turn(content="Finished."))
    events = [e async for e in long_agent.run(RunRequest(prompt=TASK, chain=[spec(long_fake.url)]))]
    assert events[-1].reason == "done" and of_type(events, "context")[-1].compactions >= 2
    # After every fold the newest record repeats the notes; the read returns them with the appended line.
    folded = [r for r in long_fake.requests if "Earlier tool calls are folded" in json.dumps(r["messages"])]
    assert folded and all(plan in json.dumps(r["messages"]) for r in folded)
    last = [m for m in long_fake.requests[-1]["messages"] if m["role"] == "tool"][-1]["content"]
    assert last.endswith(f"{plan}\nDone: 60.")
    # Another conversation cannot read this one's artifacts, not even by full id.
    artifact = next(e.artifact_id for e in of_type(events, "tool_call_finished") if e.artifact_id)
    long_fake.enqueue(Turn(reasoning="Peek.", tool_calls=[ToolCall("context__read_artifact", {"artifact_id": artifact})]),
                      Turn(content="Could not."))
    other = [e async for e in long_agent.run(RunRequest(prompt="peek", chain=[spec(long_fake.url)]))]
    refused = of_type(other, "tool_call_finished")[0]
    assert refused.error and "No artifact" in refused.error


async def test_a_kept_untrusted_result_read_again_is_fenced_again_and_never_asks(
    _isolated_home: Path, long_fake: FakeK2Server
):
    # The toolbox is an external server not marked trusted: what it returns is text from outside.
    write_mcp_json(_isolated_home, {"toolbox": toolbox_server()})
    agent = await Agent.open(agent_config(_isolated_home, long_fake.url, builtin=[]),
                             database_url=f"sqlite:///{_isolated_home}/k2hub.db")
    try:
        def turns(request: dict) -> Turn:
            last = request["messages"][-1]
            if last["role"] == "user":
                return Turn(reasoning="Fetch it.", tool_calls=[ToolCall("toolbox__blob", {"chars": 1_000, "seed": 7})])
            if last.get("name") == "toolbox__blob":
                kept = repo.steps_for_run(agent.db, repo.unfinished_runs(agent.db)[0].id)[-1].artifact_id
                return Turn(reasoning="Read it again.",
                            tool_calls=[ToolCall("context__read_artifact", {"artifact_id": kept[:12]})])
            return Turn(content="Done.")

        long_fake.responder = turns
        events = [e async for e in agent.run(RunRequest(prompt=TASK, chain=[spec(long_fake.url)]))]
    finally:
        await agent.aclose()
    assert events[-1].reason == "done", events[-1]
    assert of_type(events, "approval_requested") == []  # re-reading is read-only, tainted conversation or not
    first, again = long_fake.requests[1]["messages"][-1], long_fake.requests[2]["messages"][-1]
    assert first["content"].startswith("<untrusted-data") and "[blob 7]" in first["content"]
    assert again["name"] == "context__read_artifact"
    assert again["content"].startswith("<untrusted-data") and "[blob 7]" in again["content"]
    assert again["content"].rstrip().endswith("</untrusted-data>")
