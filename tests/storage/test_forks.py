"""Forks and branches: a fork from step N of a real planner run holds exactly steps 1..N; the original is untouched;
the next run in a fork sends that history (the planner, the toolbox server and the fake K2)."""

from __future__ import annotations

from agents.planner.runner import Agent, RunRequest
from storage import forks, repo
from tests.agents.conftest import agent, collect, fake_k2, run_approving  # noqa: F401 - the fixtures
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn


async def _six_step_run(agent: Agent, fake_k2: FakeK2Server) -> tuple[str, str]:  # noqa: F811
    fake_k2.enqueue(
        Turn(reasoning="Add two pairs.", tool_calls=[ToolCall("toolbox__add", {"a": 1, "b": 2}),
                                                     ToolCall("toolbox__add", {"a": 3, "b": 4})]),
        Turn(reasoning="And one more.", tool_calls=[ToolCall("toolbox__add", {"a": 5, "b": 6})]),
        Turn(reasoning="Done.", content="The sums are 3, 7 and 11."),
    )
    events = await run_approving(agent, agent.run(RunRequest(prompt="Add 1+2, 3+4 and 5+6")))
    finished = events[-1]
    # Six steps in the timeline: three model calls, three tool calls.
    assert finished.reason == "done" and len(repo.steps_for_run(agent.db, finished.run_id)) == 6, finished
    return events[0].conversation_id, finished.run_id


async def test_a_fork_from_step_3_of_a_6_step_run_starts_with_exactly_steps_1_to_3(
    agent: Agent, fake_k2: FakeK2Server  # noqa: F811
):
    cid, run_id = await _six_step_run(agent, fake_k2)
    original_steps = repo.steps_for_run(agent.db, run_id)
    original_messages = repo.messages_as_openai(agent.db, cid)
    assert [s.kind for s in original_steps] == ["model", "tool", "tool", "model", "tool", "model"]

    fork, forked_run = forks.fork_from_step(agent.db, run_id, 3)

    copied = repo.steps_for_run(agent.db, forked_run.id)
    assert [(s.kind, s.name, s.call_id) for s in copied] == [(s.kind, s.name, s.call_id) for s in original_steps[:3]]
    messages = repo.messages_as_openai(agent.db, fork.id)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert messages[0]["content"] == "Add 1+2, 3+4 and 5+6"
    assert {m["tool_call_id"] for m in messages[2:]} == {s.call_id for s in original_steps[1:3]}
    assert forks.fork_summary(forked_run) == f"forked from step 3 of run {run_id[:12]}"
    # The original is untouched.
    assert repo.messages_as_openai(agent.db, cid) == original_messages
    assert len(repo.steps_for_run(agent.db, run_id)) == 6

    # The fork continues from there: its next request carries steps 1-3 and nothing after.
    fake_k2.enqueue(Turn(content="Continuing from the fork."))
    await collect(agent.run(RunRequest(prompt="go on", conversation_id=fork.id)))
    sent = fake_k2.requests[-1]["messages"]
    tool_results = [m for m in sent if m["role"] == "tool"]
    assert len(tool_results) == 2
    assert ["\n3\n" in m["content"] for m in tool_results] == [True, False]  # results of steps 2 and 3 only
    assert "\n7\n" in tool_results[1]["content"] and not any("\n11\n" in m["content"] for m in sent if m["content"])


async def test_a_fork_at_a_model_step_and_out_of_range(agent: Agent, fake_k2: FakeK2Server):  # noqa: F811
    _, run_id = await _six_step_run(agent, fake_k2)
    fork, _ = forks.fork_from_step(agent.db, run_id, 4)  # the second model call
    roles = [m["role"] for m in repo.messages_as_openai(agent.db, fork.id)]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    import pytest

    with pytest.raises(LookupError):
        forks.fork_from_step(agent.db, run_id, 7)


async def test_a_copy_before_a_turn_keeps_the_earlier_turns_only(agent: Agent, fake_k2: FakeK2Server):  # noqa: F811
    fake_k2.enqueue(Turn(content="First answer."), Turn(content="Second answer."))
    first = await collect(agent.run(RunRequest(prompt="one")))
    cid = first[0].conversation_id
    await collect(agent.run(RunRequest(prompt="two", conversation_id=cid)))
    seq = forks.message_seq_of_turn(agent.db, cid, 1)
    copy = forks.copy_conversation(agent.db, cid, seq, "branch")
    assert [(m["role"], m["content"]) for m in repo.messages_as_openai(agent.db, copy.id)] == [
        ("user", "one"), ("assistant", "First answer.")]
    assert len(repo.list_runs(agent.db, copy.id)) == 1
    assert len(repo.messages_as_openai(agent.db, cid)) == 4  # the original keeps both turns
