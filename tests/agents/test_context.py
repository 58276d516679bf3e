"""Long-context policy: token counting, calibration, the whole / retrieval / sub-agent decision, and the planner
sending attached documents whole or a retrieval note (fake K2 over HTTP, a real FinanceBench PDF, real ingest)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agents.policy import context
from agents.models import providers
from agents.policy.context import WINDOW_CURRENT, WINDOW_OLDER, Calibration, DocumentRef, plan_documents
from agents.models.presets import PRESETS
from agents.planner.runner import Agent, RunRequest
from storage import documents as store
from storage import repo
from tests.agents.conftest import collect, of_type
from tests.fakes.k2_server import FakeK2Server, Turn
from tests.helpers import requires

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "financebench" / "pdfs"
needs_data = requires(DATA.is_dir(), "FinanceBench PDFs not found in ../shared/data")


def test_count_tokens_is_a_real_bpe():
    assert context.count_tokens("") == 0
    assert context.count_tokens("hello world") == 2  # o200k_base: "hello", " world"
    sentence = "Net sales increased 20% to $177.9 billion."
    long = " ".join([sentence] * 20_000)  # 860K characters: longer than one bpe-openai chunk
    # Counted in chunks, the total matches the per-sentence count up to a few tokens split at chunk edges.
    assert abs(context.count_tokens(long) - 20_000 * context.count_tokens(" " + sentence)) < 10


def test_request_tokens_count_messages_tool_calls_and_schemas():
    messages = [{"role": "user", "content": "read page 3"}]
    tools = [{"type": "function", "function": {"name": "pdf_reader__read_pages", "parameters": {"type": "object"}}}]
    bare = context.count_request_tokens(messages)
    assert bare == 4 + context.count_tokens("read page 3")
    assert context.count_request_tokens(messages, tools) > bare
    call = {"role": "assistant", "content": "", "tool_calls": [{"id": "functions.x:0", "function": {"name": "x"}}]}
    assert context.count_request_tokens([call]) > 4


def test_calibration_is_a_bounded_running_ratio():
    cal = Calibration()
    assert cal.ratio("m") == 1.0
    assert cal.observe("m", 1000, 1200) == pytest.approx(1.2)  # first observation taken as is
    assert cal.observe("m", 1000, 1000) == pytest.approx(1.2 + 0.3 * (1.0 - 1.2))  # then a moving average
    assert cal.observe("other", 1000, 10_000) == 2.0  # a wild figure is clamped
    assert cal.observe("m", 0, 500) == cal.ratio("m")  # nothing to learn from a zero estimate
    assert cal.ratio("unknown") == 1.0


def spec_for(url: str, model: str = "kimi-k2-thinking", window: int | None = None) -> providers.ModelSpec:
    spec = providers.resolve("openai-compatible", model, url, home=Path("/nonexistent"))
    return (
        spec
        if window is None
        else dataclasses.replace(spec, info=dataclasses.replace(spec.info, context_window=window))
    )


def test_context_windows_from_presets():
    assert context.context_window(spec_for("http://127.0.0.1:9/v1")) == WINDOW_CURRENT
    assert context.context_window(spec_for("http://127.0.0.1:9/v1", "kimi-k2-0711-preview")) == WINDOW_OLDER
    assert PRESETS["groq"].info("moonshotai/kimi-k2-instruct-0905").context_window == WINDOW_CURRENT
    assert context.reserve_for(WINDOW_CURRENT) == WINDOW_CURRENT // 8
    assert context.reserve_for(8192) == context.MIN_RESERVE  # a small window keeps the floor (documents never fit)


def doc(tokens: int, pages: int = 100, name: str = "r") -> DocumentRef:
    return DocumentRef(id=name * 8, title=name, pages=pages, tokens=tokens)


def test_decisions_whole_retrieval_sub_agents():
    assert plan_documents([], WINDOW_CURRENT).mode == "none"
    # 3M 2022 (198K tokens, 252 pages) fits a 262K window whole; PepsiCo 2022 (259K, 503 pages) does not.
    fits = plan_documents([doc(198_000, 252)], WINDOW_CURRENT, used=5_000)
    assert fits.mode == "whole" and fits.needed == 198_000 + 252 * 6 + 40
    assert fits.available == WINDOW_CURRENT - WINDOW_CURRENT // 8 - 5_000
    assert plan_documents([doc(259_000, 503)], WINDOW_CURRENT).mode == "retrieval"
    # The same report is too big for an older 128K model.
    assert plan_documents([doc(198_000, 252)], WINDOW_OLDER).mode == "retrieval"
    # What the request already holds (history, tools) counts.
    assert plan_documents([doc(220_000)], WINDOW_CURRENT, used=0).mode == "whole"
    assert plan_documents([doc(220_000)], WINDOW_CURRENT, used=20_000).mode == "retrieval"
    # Several reports: too big together, each fine alone -> one sub-agent per document.
    three = [doc(100_000, name="a"), doc(110_000, name="b"), doc(90_000, name="c")]
    assert plan_documents(three, WINDOW_CURRENT).mode == "sub_agents"
    assert plan_documents([*three[:2], doc(259_000, 503, "p")], WINDOW_CURRENT).mode == "retrieval"
    # Calibration: a provider counting 30% more tokens than o200k turns a fit into retrieval.
    assert plan_documents([doc(190_000)], WINDOW_CURRENT, ratio=1.0).mode == "whole"
    assert plan_documents([doc(190_000)], WINDOW_CURRENT, ratio=1.3).mode == "retrieval"


def test_describe_names_mode_and_pages():
    whole = plan_documents([doc(50_000, 85, "AMAZON")], WINDOW_CURRENT)
    assert "sent whole" in whole.describe() and "AMAZON pages 1–85" in whole.describe()
    assert "retrieval" in plan_documents([doc(300_000, 500, "PEP")], WINDOW_CURRENT).describe()
    assert whole.summary()["documents"][0]["pages"] == 85 and whole.summary()["mode"] == "whole"


# --- end to end: the planner against the fake K2 server, a real PDF through the real ingest ------------------------


@pytest.fixture
def amazon(agent: Agent) -> store.Document:
    from mcp_servers.pdf_reader.ingest import ingest_pdf

    return ingest_pdf(agent.db, DATA / "AMAZON_2017_10K.pdf").document


def conversation_with(agent: Agent, document: store.Document) -> str:
    conversation = repo.create_conversation(agent.db, "report chat", "openai-compatible", "kimi-k2-thinking")
    store.attach(agent.db, conversation.id, document.id)
    return conversation.id


@needs_data
async def test_small_document_is_sent_whole(agent: Agent, fake_k2: FakeK2Server, amazon: store.Document):
    conversation_id = conversation_with(agent, amazon)
    fake_k2.enqueue(Turn(content="Net sales were $177,866 million (AMAZON_2017_10K, p. 38)."))
    events = await collect(
        agent.run(RunRequest(prompt="What were net sales in 2017?", conversation_id=conversation_id))
    )
    assert events[-1].reason == "done", events[-1]
    notice = [e.message for e in of_type(events, "notice") if "Documents" in e.message]
    assert notice and "sent whole" in notice[0] and f"pages 1–{amazon.page_count}" in notice[0]
    sent = fake_k2.requests[0]["messages"]
    lead = sent[1]["content"]  # right after the system prompt, before the history and the question
    assert lead.startswith("Documents attached to this conversation, included whole")
    assert "[page 1]\n" in lead and f"[page {amazon.page_count}]\n" in lead and "177,866" in lead
    assert sent[-1] == {"role": "user", "content": "What were net sales in 2017?"}
    run = repo.get_run(agent.db, events[0].run_id)
    assert run.meta["context"]["mode"] == "whole"
    # The documents are part of the run, not of the stored conversation.
    assert [m["role"] for m in repo.messages_as_openai(agent.db, conversation_id)] == ["user", "assistant"]
    # The provider's reported prompt tokens calibrated the estimate.
    assert context.CALIBRATION.ratio("openai-compatible/kimi-k2-thinking") != 1.0
    assert context.last_plan(agent.db, conversation_id)["mode"] == "whole"


@needs_data
async def test_big_document_gets_retrieval(agent: Agent, fake_k2: FakeK2Server, amazon: store.Document):
    conversation_id = conversation_with(agent, amazon)
    small_model = spec_for(fake_k2.url, window=32_768)  # a 32K-window model: the 63K-token report cannot go whole
    fake_k2.enqueue(Turn(content="I will search the report."))
    events = await collect(
        agent.run(
            RunRequest(prompt="What were net sales in 2017?", conversation_id=conversation_id, chain=[small_model])
        )
    )
    assert events[-1].reason == "done", events[-1]
    notice = [e.message for e in of_type(events, "notice") if "Documents" in e.message]
    assert notice and "retrieval" in notice[0]
    lead = fake_k2.requests[0]["messages"][1]["content"]
    assert "too large to include whole" in lead and "pdf_reader__search" in lead and "[page 1]" not in lead
    assert len(lead) < 2000
    assert repo.get_run(agent.db, events[0].run_id).meta["context"]["mode"] == "retrieval"


async def test_conversation_without_documents_is_unchanged(agent: Agent, fake_k2: FakeK2Server):
    fake_k2.enqueue(Turn(content="hi"))
    events = await collect(agent.run(RunRequest(prompt="hello")))
    assert not [e for e in of_type(events, "notice") if "Documents" in e.message]
    assert [m["role"] for m in fake_k2.requests[0]["messages"]] == ["system", "user"]
    assert "context" not in (repo.get_run(agent.db, events[0].run_id).meta or {})
