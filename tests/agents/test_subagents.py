"""Multi-report analysis end to end: the planner fans out one sub-agent per real 10-K (fake K2 scripted per
document), they read pages through pdf_reader and record rows the analysis server verifies, then reconciliation
derives metrics by code, flags a real restatement conflict, and the report writes charts and exports."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agents.workflows import subagents
from agents.planner.runner import Agent, RunRequest
from storage import documents, ledger, repo
from tests.agents.conftest import agent_config, of_type, run_approving
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn
from tests.mcp_servers.kpi_support import Library, ingest_reports

A19, A17, MMM = "AMAZON_2019_10K", "AMAZON_2017_10K", "3M_2018_10K"
MODEL_DELAY_S = 0.6  # each sub-agent model call takes this long, so overlapping runs are unmistakable

# What each sub-agent reads and records: (pages to read, [(metric, period, value, page, quote)]), by hand from
# the pages. AMAZON_2019_10K p.37-38 (in millions); AMAZON_2017_10K p.37-38; 3M_2018_10K p.56 and p.60 (Millions).
SCRIPTS: dict[str, tuple[tuple[int, int], list[tuple[str, str, str, int, str]], str]] = {
    A19: (
        (37, 38),
        [
            ("revenue", "FY2019", "280,522", 38, "Total net sales 177,866 232,887 280,522"),
            ("operating_income", "FY2019", "14,541", 38, "Operating income 4,106 12,421 14,541"),
            ("cfo", "FY2019", "38,514", 37, "Net cash provided by (used in) operating activities 18,365 30,723 38,514"),
            ("capex", "FY2019", "(16,861)", 37, "Purchases of property and equipment (11,955) (13,427) (16,861)"),
            # The 2019 report restates 2017 operating cash flow (18,365; the 2017 report said 18,434).
            ("cfo", "FY2017", "18,365", 37, "Net cash provided by (used in) operating activities 18,365 30,723 38,514"),
        ],
        "Amazon",
    ),
    A17: (
        (37, 38),
        [
            ("revenue", "FY2017", "177,866", 38, "Total net sales 107,006 135,987 177,866"),
            ("operating_income", "FY2017", "4,106", 38, "Operating income 2,233 4,186 4,106"),
            ("cfo", "FY2017", "18,434", 37, "Net cash provided by (used in) operating activities 12,039 17,272 18,434"),
        ],
        "Amazon",
    ),
    MMM: (
        (56, 60),
        [
            ("revenue", "FY2018", "32,765", 56, "Net sales $ 32,765 $ 31,657 $ 30,109"),
            ("operating_income", "FY2018", "7,207", 56, "Operating income 7,207 7,692 7,027"),
            ("cfo", "FY2018", "6,439", 60, "Net cash provided by (used in) operating activities 6,439 6,240 6,662"),
            (
                "capex",
                "FY2018",
                "(1,577)",
                60,
                "Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)",
            ),
        ],
        "3M",
    ),
}
FABRICATED = ("revenue", "FY2018", "33,765", 56, "Net sales $ 33,765")  # 3M's first attempt: not on the page
METRICS = ["revenue", "operating_income", "cfo", "capex", "fcf", "operating_margin"]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return ingest_reports(tmp_path_factory, (A19, A17, MMM))


def record(doc_id: str, company: str, row: tuple[str, str, str, int, str]) -> ToolCall:
    metric, period, value, page, quote = row
    return ToolCall(
        "analysis__record_kpi",
        {
            "company": company,
            "fiscal_period": period,
            "metric": metric,
            "value": value,
            "scale": "millions",
            "currency": "USD",
            "document": doc_id,
            "page": page,
            "quote": quote,
        },
    )


def responder(library: Library) -> Any:
    """Scripted model: sub-agent requests are told apart by the document id in their system prompt."""
    by_id = {library.ids[name]: name for name in SCRIPTS}

    def answer(body: dict) -> Turn:
        system = body["messages"][0]["content"]
        step = sum(m["role"] == "assistant" for m in body["messages"])
        doc_id = next((i for i in by_id if f"document id {i}" in system), None)
        if doc_id is None:
            return main_planner(step)
        (first, last), rows, company = SCRIPTS[by_id[doc_id]]
        if step == 0:
            return Turn(
                delay_s=MODEL_DELAY_S,
                tool_calls=[ToolCall("pdf_reader__read_pages", {"doc": doc_id, "first": first, "last": last})],
            )
        if step == 1 and by_id[doc_id] == MMM:
            return Turn(delay_s=MODEL_DELAY_S, tool_calls=[record(doc_id, company, FABRICATED)])
        if step <= 2:
            return Turn(delay_s=MODEL_DELAY_S, tool_calls=[record(doc_id, company, r) for r in rows])
        return Turn(delay_s=MODEL_DELAY_S, content=f"Recorded {len(rows)} values from {by_id[doc_id]}.")

    return answer


def main_planner(step: int) -> Turn:
    if step == 0:
        return Turn(
            reasoning="Several reports: one sub-agent each.",
            tool_calls=[
                ToolCall(subagents.TOOL_NAME, {"metrics": METRICS, "task": "Compare revenue, operating margin and FCF"})
            ],
        )
    if step == 1:
        return Turn(
            tool_calls=[
                ToolCall(
                    "analysis__report",
                    {
                        "metrics": ["revenue", "operating_margin", "fcf"],
                        "title": "Amazon and 3M",
                        "summary": "3M's operating margin was 21.9960% in FY2018 [3M_2018_10K p.56].",
                    },
                )
            ]
        )
    return Turn(content="Done: see the table and the report files.")


@pytest.fixture
async def analyst(
    library: Library, _isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Agent, FakeK2Server]]:
    monkeypatch.setenv("DATABASE_URL", library.db.url)  # the built-in servers share the ingested library
    monkeypatch.setenv("K2HUB_SUBAGENT_CONCURRENCY", "2")  # the settings reach the sub-agents through the agent
    monkeypatch.setenv("K2HUB_SUBAGENT_MAX_STEPS", "8")
    with FakeK2Server(responder=responder(library)) as fake:
        agent = await Agent.open(
            agent_config(_isolated_home, fake.url, model="kimi-k2-0905-preview"), database_url=library.db.url
        )
        try:
            yield agent, fake
        finally:
            await agent.aclose()


async def test_three_reports_fan_out_and_build_a_verified_ledger(
    analyst: tuple[Agent, FakeK2Server], library: Library, _isolated_home: Path
) -> None:
    agent, _fake = analyst
    conv = library.conversation()
    # The reports are attached (untrusted content): the fan-out and the report ask first; the user says yes.
    events = await run_approving(agent, agent.run(RunRequest(prompt="Compare these reports", conversation_id=conv)))
    finished = events[-1]
    assert finished.type == "run_finished" and finished.reason == "done", finished
    assert [e.name for e in of_type(events, "approval_requested")] == [subagents.TOOL_NAME, "analysis__report"]

    # Every stored value's quote is on its cited page of the real report (checked here again, independently).
    rows = ledger.rows(library.db, conv, include_rejected=True)
    reported = [r for r in rows if r.method == "reported" and r.status != "rejected"]
    assert len(reported) == sum(len(s[1]) for s in SCRIPTS.values())
    for r in reported:
        page = " ".join((documents.page_text(library.db, r.document_id, r.page) or "").split())
        assert " ".join((r.quote or "").split()) in page, (r.id, r.quote)
    rejected = [r for r in rows if r.status == "rejected"]
    assert [(r.value, r.page) for r in rejected] == [("33,765", 56)] and "quote not found" in (rejected[0].note or "")

    # The restated FY2017 operating cash flow is flagged on both rows, not resolved.
    conflicts = {(r.document_id, r.value) for r in rows if r.status == "conflict"}
    assert conflicts == {(library.ids[A19], "18365"), (library.ids[A17], "18434")}

    # Derived by code; hand values: 38,514 − 16,861 = 21,653; 6,439 − 1,577 = 4,862; 7,207 / 32,765 = 21.9960 %;
    # 14,541 / 280,522 = 5.1836 %; 4,106 / 177,866 = 2.3085 %.
    derived = {(r.company, r.fiscal_period, r.metric): r.decimal for r in rows if r.method == "derived"}
    assert derived == {
        ("Amazon", "FY2019", "fcf"): Decimal(21653),
        ("3M", "FY2018", "fcf"): Decimal(4862),
        ("3M", "FY2018", "operating_margin"): Decimal("21.996"),
        ("Amazon", "FY2019", "operating_margin"): Decimal("5.1836"),
        ("Amazon", "FY2017", "operating_margin"): Decimal("2.3085"),
    }  # Amazon FY2017 fcf: skipped, its cfo is in conflict (and no capex was recorded)

    # Per sub-agent cost and tokens reach the event stream; the parent run's totals include them.
    updates = of_type(events, "subagent_update")
    final = {u.title: u for u in updates if u.status != "running"}
    assert set(final) == {A19, A17, MMM} and all(u.status == "done" and u.tokens > 0 for u in final.values())
    assert final[MMM].rows == 4 and final[MMM].rejected == 1
    assert finished.tokens > sum(u.tokens for u in final.values())

    # The tool result the planner saw: per-document lines, the conflict, the table with evidence links.
    tool_msgs = [m for m in repo.messages_as_openai(library.db, conv) if m["role"] == "tool"]
    fan_out = tool_msgs[0]["content"]
    assert "3M_2018_10K: done, 4 row(s) recorded, 1 rejected" in fan_out
    assert "2 row(s) in conflict" in fan_out and "| 3M | FY2018 | [32,765](/k2hub/evidence/" in fan_out
    folder = _isolated_home / "workspaces" / conv / "analysis"
    assert {p.name for p in folder.iterdir()} >= {
        "report.md",
        "kpi_comparison.xlsx",
        "ledger.csv",
        "dotplot_fcf.png",
        "dotplot_operating_margin.png",
    }

    # Sub-agents ran concurrently, never more than the limit (2) at once: their run rows' time spans overlap.
    spans = sorted(
        (r.started_at.timestamp(), r.finished_at.timestamp())
        for r in repo.list_runs(library.db, conv)
        if (r.meta or {}).get("subagent_of") == finished.run_id
    )
    assert len(spans) == 3
    assert _max_overlap(spans) == 2


def _max_overlap(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    best = now = 0
    for _, step in edges:
        now += step
        best = max(best, now)
    return best


def test_plan_orders_derived_after_inputs() -> None:
    from mcp_servers.analysis.kpi_vocab import plan

    assert plan(["fcf_margin", "revenue"]) == {
        "reported": ["cfo", "capex", "revenue"],
        "derived": ["fcf", "fcf_margin"],
    }
    assert json.loads(json.dumps(plan(["operating_margin"])))["reported"] == ["operating_income", "revenue"]


def test_a_sub_agent_reads_whole_only_what_the_context_policy_says_fits() -> None:
    """The reading plan in a sub-agent's prompt follows agents/policy/context.py: page markers, the document header
    and the calibrated token ratio count, as when the run chose sub-agents (it once called a function that did not
    exist and fell back to a cruder rule that ignored them)."""
    fan = subagents.FanOutContext(None, None, ["revenue"], [], "", subagents.SubagentLimits(2, 8, 1000, 1.0))  # type: ignore[arg-type]
    report = {"id": "d1", "title": "Report", "pages": 100, "tokens": 50_000}
    window = 100_000
    # Half the window in text, but its 100 page markers and the header push it past what one sub-agent reads whole.
    assert "too long to read whole" in subagents._prompt(report, fan, window)
    assert "It fits in your context" in subagents._prompt({**report, "tokens": 40_000}, fan, window)
    # A provider that counts 30% more tokens than our estimate (the calibration ratio) makes the same report too long.
    assert "too long to read whole" in subagents._prompt({**report, "tokens": 40_000}, fan, window, 1.3)
