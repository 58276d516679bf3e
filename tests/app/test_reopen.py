"""A reopened conversation shows what the user saw: the partial answer and stop reason of a stopped run, the error of
a failed one, a workflow step's name instead of its internal prompt (through the real planner and the fake K2)."""

from __future__ import annotations

from agents.planner.runner import Agent, RunRequest
from app.ui.reopen import restore
from storage import repo
from tests.agents.conftest import agent, collect  # noqa: F401 - the fixture
from tests.fakes.k2_server import FakeK2Server, Turn

PARTIAL = "The first part of a long answer that the user reads before pressing Stop"


def _reopen(agent: Agent, conversation_id: str) -> tuple[list[str], str]:  # noqa: F811
    runs = repo.list_runs(agent.db, conversation_id)
    steps = [s for r in runs for s in repo.steps_for_run(agent.db, r.id)]
    history, status = restore(repo.get_messages(agent.db, conversation_id), steps, runs)
    return [str(m.content) for m in history], status


async def test_reopen_after_stop_shows_the_partial_text_and_the_stop_reason(agent: Agent, fake_k2: FakeK2Server):  # noqa: F811
    fake_k2.enqueue(Turn(content=PARTIAL + " and a tail that never arrives " * 30, chunk_delay_s=0.05))
    events, seen = [], ""
    async for event in agent.run(RunRequest(prompt="Tell me a long story")):
        events.append(event)
        if event.type == "text_delta":
            seen += event.text
            if PARTIAL in seen:
                agent.stop(event.run_id)
    assert events[-1].reason == "stopped"
    texts, status = _reopen(agent, events[0].conversation_id)
    assert texts[0] == "Tell me a long story"
    assert PARTIAL in texts[1] and texts[1].count("never arrives") < 30  # what was streamed, not the whole reply
    assert "Stopped by the user." in texts[-1]
    assert status.startswith("■ stopped · kimi-k2-thinking · 1 run")

    # The next turn carries the partial answer as history, without the app's private "_partial" mark.
    fake_k2.enqueue(Turn(content="Continuing."))
    await collect(agent.run(RunRequest(prompt="go on", conversation_id=events[0].conversation_id)))
    sent = fake_k2.requests[-1]["messages"]
    assert any(m["role"] == "assistant" and PARTIAL in (m.get("content") or "") for m in sent)
    assert not any("_partial" in m for m in sent)


async def test_a_failed_workflow_run_shows_its_step_and_error_never_its_internal_prompt(
    agent: Agent, fake_k2: FakeK2Server  # noqa: F811
):
    internal = "You are planning a COBOL to Go migration. INTERNAL PLANNER INSTRUCTIONS follow."
    fake_k2.enqueue(*[Turn(status=400, error={"error": {"message": "the prompt is 31011 tokens, too many tokens",
                                                         "code": "context_length_exceeded"}})] * 6)
    events = await collect(agent.run(RunRequest(prompt=internal, label="COBOL · Draft the migration plan")))
    assert events[-1].reason == "error"
    texts, status = _reopen(agent, events[0].conversation_id)
    joined = "\n".join(texts)
    assert "INTERNAL PLANNER INSTRUCTIONS" not in joined
    assert "COBOL · Draft the migration plan" in texts[0]
    assert "The run failed." in texts[-1] and "litellm" not in texts[-1]
    assert status.startswith("✗ failed")


async def test_the_3m_case_a_made_up_figure_with_the_10k_attached_is_not_a_success(
    agent: Agent, fake_k2: FakeK2Server  # noqa: F811
):
    """A scripted small model answers the capex question with a figure, no tool call and no page: ⚠, live and reopened."""
    import hashlib

    from app.config import Settings
    from app.ui.backend import Backend
    from app.ui.render import RunView
    from storage import documents as docs

    conv = repo.create_conversation(agent.db, "3M capex")
    sha = hashlib.sha256(b"3M 2018 10-K").hexdigest()
    doc = docs.Document(id=sha[:32], sha256=sha, title="3M_2018_10K", filename="3M_2018_10K.pdf", page_count=2,
                        token_count=40)
    docs.save_document(agent.db, doc, [(1, "3M annual report 2018.", 20, "pdfium"),
                                       (2, "Purchases of property, plant and equipment (1,577).", 20, "pdfium")])
    docs.attach(agent.db, conv.id, doc.id)
    backend = Backend(Settings(home=agent.config.home))
    backend._agent = agent
    view = RunView(documents=backend.has_documents(conv.id))

    fake_k2.enqueue(Turn(content="3M's FY2018 capital expenditure was $1,000,000,000."))
    async for event in agent.run(RunRequest(prompt="What was 3M's FY2018 capex? Cite the page.",
                                            conversation_id=conv.id)):
        view.apply(event)
    assert view.status.startswith("⚠ uncited numbers")
    _, status = _reopen(agent, conv.id)
    assert status.startswith("⚠ uncited numbers")

    fake_k2.enqueue(Turn(content="Capital expenditure was $1,577 million (3M_2018_10K, p. 2)."))
    view = RunView(documents=True)
    async for event in agent.run(RunRequest(prompt="Again, with the page.", conversation_id=conv.id)):
        view.apply(event)
    assert view.status.startswith("✓ answered")
    assert _reopen(agent, conv.id)[1].startswith("✓ answered")
