"""Replaying a run on another model through the real planner and the fake K2: the new conversation holds the history
before the run and sends its prompt again on the chosen model; the original stays as it was."""

from __future__ import annotations

from agents.planner.runner import Agent, RunRequest
from app.ui.replay import prepare
from storage import repo
from tests.agents.conftest import agent, collect  # noqa: F401 - the fixture
from tests.fakes.k2_server import FakeK2Server, Turn


async def test_replay_copies_the_history_before_the_run_and_sends_its_prompt_on_another_model(
    agent: Agent, fake_k2: FakeK2Server  # noqa: F811
) -> None:
    fake_k2.enqueue(Turn(content="First answer."), Turn(content="Second answer."), Turn(content="Replayed answer."))
    first = await collect(agent.run(RunRequest(prompt="first question")))
    cid = first[0].conversation_id
    second = await collect(agent.run(RunRequest(prompt="second question", conversation_id=cid)))
    before = [(m.role, m.content) for m in repo.get_messages(agent.db, cid)]

    copy, prompt, label, _ = prepare(agent.db, second[0].run_id, "openai-compatible", "kimi-k2-0905-preview")
    assert prompt == "second question" and label is None and copy != cid
    assert [(m.role, m.content) for m in repo.get_messages(agent.db, copy)] == before[:2]
    await collect(agent.run(RunRequest(prompt=prompt, conversation_id=copy, provider="openai-compatible",
                                       model="kimi-k2-0905-preview", base_url=fake_k2.url)))
    sent = fake_k2.requests[-1]
    assert sent["model"] == "kimi-k2-0905-preview"
    assert [m["content"] for m in sent["messages"] if m["role"] != "system"][-3:] == [
        "first question", "First answer.", "second question"]
    assert [(m.role, m.content) for m in repo.get_messages(agent.db, cid)] == before  # the original is untouched
    assert "(replay on kimi-k2-0905-preview)" in repo.get_conversation(agent.db, copy).title
