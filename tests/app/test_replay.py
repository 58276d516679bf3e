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

    src = prepare(agent.db, second[0].run_id, "openai-compatible", "kimi-k2-0905-preview")
    copy, prompt = src.conversation_id, src.prompt
    assert prompt == "second question" and src.label is None and copy != cid and src.images == []
    assert [(m.role, m.content) for m in repo.get_messages(agent.db, copy)] == before[:2]
    await collect(agent.run(RunRequest(prompt=prompt, conversation_id=copy, provider="openai-compatible",
                                       model="kimi-k2-0905-preview", base_url=fake_k2.url)))
    sent = fake_k2.requests[-1]
    assert sent["model"] == "kimi-k2-0905-preview"
    assert [m["content"] for m in sent["messages"] if m["role"] != "system"][-3:] == [
        "first question", "First answer.", "second question"]
    assert [(m.role, m.content) for m in repo.get_messages(agent.db, cid)] == before  # the original is untouched
    assert "(replay on kimi-k2-0905-preview)" in repo.get_conversation(agent.db, copy).title


async def test_a_replay_sends_the_images_attached_to_the_prompt_again(
    agent: Agent, fake_k2: FakeK2Server  # noqa: F811
) -> None:
    import base64
    import io

    from PIL import Image

    from agents.planner.images import Attachment

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    fake_k2.enqueue(Turn(content="A red square."), Turn(content="Still a red square."))
    vision = {"provider": "openai-compatible", "model": "kimi-k2.5", "base_url": fake_k2.url}
    first = await collect(agent.run(RunRequest(prompt="What is in this picture?",
                                               images=[Attachment("square.png", out.getvalue())], **vision)))
    cid = first[0].conversation_id
    sent_first = fake_k2.requests[-1]["messages"][-1]["content"]
    assert [p["type"] for p in sent_first].count("image_url") == 1

    src = prepare(agent.db, first[0].run_id, "openai-compatible", "kimi-k2.5")
    assert src.prompt == "What is in this picture?" and [a.name for a in src.images] == ["square.png"]
    await collect(agent.run(RunRequest(prompt=src.prompt, conversation_id=src.conversation_id,
                                       images=src.images, **vision)))
    replayed = fake_k2.requests[-1]["messages"][-1]["content"]
    urls = [p["image_url"]["url"] for p in replayed if p["type"] == "image_url"]
    assert len(urls) == 1 and urls == [p["image_url"]["url"] for p in sent_first if p["type"] == "image_url"]
    assert base64.b64decode(urls[0].split(",", 1)[1])[:4] == b"\x89PNG"
    assert repo.get_messages(agent.db, cid)[-1].content == "A red square."  # the original is untouched
