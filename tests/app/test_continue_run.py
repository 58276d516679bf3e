"""Continue after Stop through the real planner and the fake K2: what may be continued, what the model receives, and
how the live chat grows the partial bubble."""

from __future__ import annotations

import gradio as gr

from agents.planner.runner import Agent, RunRequest
from app.ui.continue_run import CONTINUE_PROMPT, LABEL, can_continue, joined, split_partial
from app.ui.render import notice_html
from tests.agents.conftest import agent, collect  # noqa: F401 - the fixture
from tests.fakes.k2_server import FakeK2Server, Turn

PARTIAL = "The first part of a long answer"


async def _stopped(agent: Agent) -> str:  # noqa: F811
    seen, cid = "", ""
    async for event in agent.run(RunRequest(prompt="Tell me a long story")):
        cid = getattr(event, "conversation_id", "") or cid
        if event.type == "text_delta":
            seen += event.text
            if PARTIAL in seen:
                agent.stop(event.run_id)
    return cid


async def test_only_a_stopped_partial_answer_can_be_continued(
    agent: Agent, fake_k2: FakeK2Server  # noqa: F811
) -> None:
    fake_k2.enqueue(Turn(content=PARTIAL + " and more " * 40, chunk_delay_s=0.05))
    cid = await _stopped(agent)
    assert can_continue(agent.db, cid)

    fake_k2.enqueue(Turn(content=" and the end."))
    await collect(agent.run(RunRequest(prompt=CONTINUE_PROMPT, label=LABEL, conversation_id=cid)))
    sent = fake_k2.requests[-1]["messages"]
    assert sent[-1] == {"role": "user", "content": CONTINUE_PROMPT}  # the label stays in the app
    assert sent[-2]["role"] == "assistant" and sent[-2]["content"].startswith(PARTIAL)
    assert "_partial" not in sent[-2]
    assert not can_continue(agent.db, cid)  # the continuation finished: nothing left to continue

    fake_k2.enqueue(Turn(content="A whole answer."))
    done = [e async for e in agent.run(RunRequest(prompt="Another question"))]
    assert not can_continue(agent.db, done[0].conversation_id)
    assert not can_continue(agent.db, None)


def test_the_continuation_grows_the_partial_bubble_and_the_stop_notice_goes() -> None:
    history = [
        {"role": "user", "content": [{"type": "text", "text": "Tell me"}]},
        {"role": "assistant", "content": "Thinking", "metadata": {"title": "Thinking"}},
        {"role": "assistant", "content": [{"type": "text", "text": "Once upon a "}], "metadata": None},
        {"role": "assistant", "content": notice_html("info", "Stopped by the user.")},
    ]
    base, partial = split_partial(history)
    assert len(base) == 3 and partial == 2
    thought = gr.ChatMessage(content="go on", metadata={"title": "Thinking"})
    shown = joined(base, partial, [thought, gr.ChatMessage(content="time, the end.")])
    assert shown[2].content == "Once upon a time, the end."
    assert shown[3] is thought and len(shown) == 4
    # Nothing streamed yet: the partial stays as it was.
    assert joined(base, partial, []) == base
    # No partial answer (a stop before any text): the continuation is simply appended.
    assert split_partial(history[:2])[1] is None


def test_the_partial_and_its_continuation_do_not_run_words_together() -> None:
    from app.ui.continue_run import glued

    assert glued("word8", "and the end") == "word8 and the end"
    assert glued("word8 ", "and the end") == "word8 and the end"
    assert glued("word8", ", and the end") == "word8, and the end"
    assert glued("well-", "known") == "well-known"
    assert glued("", "start") == "start"
