"""The real 0.5B model answers a question about an attached 10-K that does not fit its 8K window, with a page
citation: the app searched the report with the question first and sent the lines that matter (agents/policy/
pre_retrieval, page_lines); the figure is the model's, and the app's page check (page_check) says which page holds it
when the model cites none."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.planner.runner import Agent, RunRequest
from app.config import Settings
from app.services import agent_config as app_agent_config
from storage import documents as store
from storage import repo
from tests.agents.conftest import FAST_RETRY, collect, of_type
from tests.helpers import requires

pytestmark = [pytest.mark.local_model, pytest.mark.slow, pytest.mark.timeout(900)]
REPO = Path(__file__).resolve().parents[3]
# ../shared beside the checkout (a worktree sits one level deeper: ../../shared).
DATA = next((d for d in (REPO.parent / "shared", REPO.parent.parent / "shared") if d.is_dir()),
            REPO.parent / "shared") / "data" / "financebench" / "pdfs"
needs_data = requires((DATA / "3M_2018_10K.pdf").is_file(), "FinanceBench PDFs not found in ../shared/data")


@pytest.fixture
async def local_agent(_isolated_home: Path, local_model: Path) -> AsyncIterator[Agent]:
    config = dataclasses.replace(app_agent_config(Settings(home=_isolated_home, provider="local")), retry=FAST_RETRY,
                                 builtin=["workspace", "pdf_reader"])
    agent = await Agent.open(config, database_url=f"sqlite:///{_isolated_home}/k2hub.db")
    try:
        yield agent
    finally:
        await agent.aclose()


@needs_data
async def test_the_attached_report_question_is_answered_with_a_page_citation(local_agent: Agent):
    from mcp_servers.pdf_reader.ingest import ingest_pdf

    report = ingest_pdf(local_agent.db, DATA / "3M_2018_10K.pdf").document
    conversation = repo.create_conversation(local_agent.db, "3M", "local", "qwen2.5-coder-0.5b-instruct")
    store.attach(local_agent.db, conversation.id, report.id)
    prompt = "What was 3M's FY2018 capex? Cite the page."
    events = await collect(local_agent.run(RunRequest(prompt=prompt, conversation_id=conversation.id)))
    finished = events[-1]
    assert finished.reason == "done", finished
    notices = " ".join(e.message for e in of_type(events, "notice"))
    assert "Searched the documents for your question first" in notices
    cited = [int(n) for n in re.findall(r"(?:p\.|page)\s*(\d+)", finished.answer, re.I)]
    assert cited, finished.answer
    pages = {p.number: p.text for p in store.pages(local_agent.db, report.id, 1, report.page_count)}
    # A cited page holds the figure the answer gives (3M's FY2018 capex: $1,577 million), and the figure is the
    # model's own: it is in the answer before the app's page-check line.
    assert "1,577" in finished.answer.split("Page check (by the app")[0], finished.answer
    assert "1,577" in finished.answer and any("1,577" in pages.get(n, "") for n in cited), finished.answer
    assert not finished.tool_not_called
