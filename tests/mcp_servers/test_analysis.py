"""Analysis server on real 10-K pages: quotes verified by code, rejections, scales, conflicts, derived metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from mcp_servers.analysis import kpi
from mcp_servers.analysis.server import create_server
from storage import ledger
from storage.ledger import KpiRow
from tests.mcp_servers.conftest import ToolCaller, connect
from tests.mcp_servers.kpi_support import Library, ingest_reports

AMZN19 = "AMAZON_2019_10K"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return ingest_reports(tmp_path_factory, (AMZN19, "3M_2018_10K"))


@pytest.fixture
async def tools(library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ToolCaller]:
    monkeypatch.setenv("K2HUB_HOME", str(library.home))  # the kept original PDFs: column positions
    async with connect(create_server(tmp_path / "ws", database_url=library.db.url)) as caller:
        yield caller


def claim(
    doc: str,
    page: int,
    metric: str,
    value: str,
    quote: str,
    period: str = "FY2019",
    company: str = "Amazon",
    scale: str = "millions",
) -> dict[str, object]:
    return {
        "company": company,
        "fiscal_period": period,
        "metric": metric,
        "value": value,
        "scale": scale,
        "currency": "USD",
        "document": doc,
        "page": page,
        "quote": quote,
    }


def test_normalisation_ignores_nbsp_dashes_minus_and_line_breaks() -> None:
    page = "Net cash provided by (used in)\noperating activities 6,439 6,240\nOther \u2014 net (57)"
    assert kpi.quote_on_page("Net cash provided by (used in) operating activities 6,439", page)
    assert kpi.quote_on_page("Other - net (57)", page)  # em dash on the page, hyphen in the quote
    assert kpi.quote_on_page("operating\u00a0activities 6,439", page)
    assert not kpi.quote_on_page("operating activities 6,493", page)
    assert kpi.parse_value("\u2212370") == Decimal(-370) == kpi.parse_value("(370)")
    assert kpi.numbers_in("Total net sales 177,866 232,887 $8.70 (1,577)") == [
        Decimal(177866),
        Decimal(232887),
        Decimal("8.70"),
        Decimal(-1577),
    ]


async def test_reported_values_are_verified_on_the_real_page(tools: ToolCaller, library: Library) -> None:
    conv = library.conversation()
    doc = library.ids[AMZN19]
    # AMAZON_2019_10K p.38, Consolidated Statements of Operations (in millions): FY2019 column.
    text = await tools.ok(
        "record_kpi", conv, **claim(doc, 38, "revenue", "280,522", "Total net sales 177,866 232,887 280,522")
    )
    assert "verified" in text and "revenue = 280522 USD millions" in text
    rows = ledger.rows(library.db, conv)
    assert [(r.metric, r.value, r.page, r.status) for r in rows] == [("revenue", "280522", 38, "verified")]
    # Recording the same evidence again adds nothing.
    again = await tools.ok(
        "record_kpi", conv, **claim(doc, 38, "revenue", "280522", "Total net sales 177,866 232,887 280,522")
    )
    assert "already recorded" in again


async def test_fabricated_or_misplaced_quotes_are_rejected(tools: ToolCaller, library: Library) -> None:
    conv = library.conversation()
    doc = library.ids[AMZN19]
    fabricated = await tools.error(
        "record_kpi", conv, **claim(doc, 38, "revenue", "290,522", "Total net sales 290,522")
    )
    assert "REJECTED" in fabricated and "quote not found on page 38" in fabricated
    wrong_page = await tools.error(
        "record_kpi", conv, **claim(doc, 37, "revenue", "280,522", "Total net sales 177,866 232,887 280,522")
    )
    assert "quote not found on page 37" in wrong_page
    not_in_quote = await tools.error(
        "record_kpi", conv, **claim(doc, 38, "operating_income", "14,451", "Operating income 4,106 12,421 14,541")
    )
    assert "does not appear in the quote" in not_in_quote and "14541" in not_in_quote
    wrong_scale = await tools.error(
        "record_kpi",
        conv,
        **claim(doc, 38, "net_income", "11,588", "Net income $ 3,033 $ 10,073 $ 11,588", scale="thousands"),
    )
    assert "states amounts in millions" in wrong_scale
    unknown = await tools.error(
        "record_kpi", conv, **claim(doc, 38, "revenues", "280,522", "Total net sales 177,866 232,887 280,522")
    )
    assert "did you mean revenue" in unknown
    kept = ledger.rows(library.db, conv, include_rejected=True)
    assert [r.status for r in kept] == ["rejected"] * 5 and ledger.rows(library.db, conv) == []


async def test_scales_normalised_and_conflicts_flagged(tools: ToolCaller, library: Library) -> None:
    conv = library.conversation()
    doc = library.ids[AMZN19]
    page = _page_with(library, doc, "Cash provided by (used in) operating activities was $30.7 billion")
    quote = "Cash provided by (used in) operating activities was $30.7 billion and $38.5 billion in 2018 and 2019"
    await tools.ok(
        "record_kpi",
        conv,
        **claim(doc, 37, "cfo", "38,514", "Net cash provided by (used in) operating activities 18,365 30,723 38,514"),
    )
    # $38.5 billion (text) and 38,514 million (statement) agree within the precision printed: no conflict.
    agree = await tools.ok("record_kpi", conv, **claim(doc, page, "cfo", "38.5", quote, scale="billions"))
    assert "verified" in agree and "CONFLICT" not in agree
    # The 2018 figure of the same sentence recorded as FY2019: refused, the sentence pairs it with 2018.
    wrong_year = await tools.error("record_kpi", conv, **claim(doc, page, "cfo", "30.7", quote, scale="billions"))
    assert "2018" in wrong_year and "not FY2019" in wrong_year
    # Another report's figure filed under Amazon FY2019 (3M p.60, its 2018 column relabelled): it passes every
    # check of its own page but differs after normalisation: both rows flagged as a conflict, none chosen.
    mmm = library.ids["3M_2018_10K"]
    clash = await tools.ok(
        "record_kpi", conv, **claim(mmm, 60, "cfo", "6,439",
                                    "Net cash provided by (used in) operating activities 6,439 6,240 6,662", "FY2018")
    )
    await tools.ok(
        "record_kpi", conv, **claim(doc, 37, "cfo", "30,723",
                                    "Net cash provided by (used in) operating activities 18,365 30,723 38,514", "FY2018")
    )
    statuses = {(r.value, r.scale): r.status for r in ledger.rows(library.db, conv)}
    assert "verified" in clash and statuses[("6439", "millions")] == "conflict"
    assert statuses[("30723", "millions")] == "conflict" and statuses[("38514", "millions")] == "verified"
    derived = await tools.ok(
        "record_kpi",
        conv,
        **claim(doc, 37, "capex", "(16,861)", "Purchases of property and equipment (11,955) (13,427) (16,861)"),
    )
    assert "kept as a magnitude" in derived
    skipped = await tools.ok("derive", conv, metric="fcf", periods=["FY2018"])
    assert "no capex" in skipped or "in conflict" in skipped
    await tools.ok(
        "record_kpi", conv, **claim(doc, 37, "capex", "(13,427)",
                                    "Purchases of property and equipment (11,955) (13,427) (16,861)", "FY2018")
    )
    skipped = await tools.ok("derive", conv, metric="fcf", periods=["FY2018"])
    assert "in conflict" in skipped  # a conflicted input is not silently resolved


async def test_derived_metrics_match_hand_computed_values(tools: ToolCaller, library: Library) -> None:
    conv = library.conversation()
    doc = library.ids[AMZN19]
    mmm = library.ids["3M_2018_10K"]
    # AMAZON_2019_10K p.38 (in millions): total net sales 280,522 (FY2019), 232,887 (FY2018); operating income 14,541.
    # p.37: operating cash flow 38,514; purchases of property and equipment (16,861).
    for metric, value, period, page, quote in [
        ("revenue", "280,522", "FY2019", 38, "Total net sales 177,866 232,887 280,522"),
        ("revenue", "232,887", "FY2018", 38, "Total net sales 177,866 232,887 280,522"),
        ("operating_income", "14,541", "FY2019", 38, "Operating income 4,106 12,421 14,541"),
        ("cfo", "38,514", "FY2019", 37, "Net cash provided by (used in) operating activities 18,365 30,723 38,514"),
        ("capex", "(16,861)", "FY2019", 37, "Purchases of property and equipment (11,955) (13,427) (16,861)"),
    ]:
        await tools.ok("record_kpi", conv, **claim(doc, page, metric, value, quote, period))
    # 3M_2018_10K p.60 (Millions): CFO 6,439 and PP&E purchases (1,577) for 2018.
    await tools.ok(
        "record_kpi",
        conv,
        **claim(
            mmm,
            60,
            "cfo",
            "6,439",
            "Net cash provided by (used in) operating activities 6,439 6,240 6,662",
            "FY2018",
            "3M",
        ),
    )
    await tools.ok(
        "record_kpi",
        conv,
        **claim(
            mmm,
            60,
            "capex",
            "(1,577)",
            "Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)",
            "FY2018",
            "3M",
        ),
    )
    fcf = await tools.ok("derive", conv, metric="fcf")
    margin = await tools.ok("derive", conv, metric="operating_margin")
    growth = await tools.ok("derive", conv, metric="revenue_growth")
    # By hand: 38,514 − 16,861 = 21,653; 6,439 − 1,577 = 4,862; 14,541 / 280,522 = 5.1836 %;
    # 280,522 / 232,887 − 1 = 20.4541 %.
    assert "= 21653 [rows" in fcf and "= 4862 [rows" in fcf
    assert "cfo − capex = 38514 millions − 16861 millions" in fcf
    assert "= 5.1836%" in margin and "= 20.4541%" in growth
    derived = {(r.company, r.metric): r for r in ledger.rows(library.db, conv) if r.method == "derived"}
    assert derived[("Amazon", "fcf")].base_value == Decimal(21_653_000_000)
    assert derived[("3M", "fcf")].inputs and len(derived[("3M", "fcf")].inputs) == 2
    table = await tools.ok("compare", conv, metrics=["revenue", "fcf", "operating_margin"])
    assert "| Amazon | FY2019 | [280,522](/k2hub/evidence/" in table and "5.18%" in table


def _row(metric: str, value: str, scale: str, row_id: int) -> KpiRow:
    """A bare FY2018 USD ledger row of company X, as kpi.compute receives it."""
    return KpiRow(
        conversation_id="c",
        company="X",
        fiscal_period="FY2018",
        metric=metric,
        value=value,
        scale=scale,
        currency="USD",
        id=row_id,
    )


def test_thousands_and_millions_are_normalised_before_arithmetic() -> None:
    cfo = _row("cfo", "6439", "millions", 1)
    capex = _row("capex", "1577000", "thousands", 2)
    value, scale = kpi.compute(kpi.DERIVED["fcf"], cfo, capex)
    assert (value, scale) == (Decimal(4_862_000), "thousands")  # 6,439,000 k − 1,577,000 k
    revenue = _row("revenue", "32.765", "billions", 3)
    op = _row("operating_income", "7207", "millions", 4)
    assert kpi.compute(kpi.DERIVED["operating_margin"], op, revenue) == (Decimal("21.9960"), "units")


def _page_with(library: Library, doc: str, text: str) -> int:
    from storage import documents

    for page in documents.pages(library.db, doc, 1, 200):
        if kpi.normalize(text) in kpi.normalize(page.text):
            return page.number
    raise AssertionError(f"{text!r} not in {doc}")


def test_concurrent_records_of_one_key_are_both_flagged(tmp_path: Path) -> None:
    """Sub-agents record at the same time: a check-then-insert race once stored two clashing values as verified."""
    from storage import repo
    from storage.db import Database
    from tests.storage.conftest import run_in_threads

    db = Database(f"sqlite:///{tmp_path / 'k2hub.db'}")
    conv = repo.create_conversation(db, "race").id
    page = "Net sales 100 120 140 160 180 200"
    for round_ in range(8):
        period = f"FY{2010 + round_}"

        def record(value: str, period: str = period) -> str:
            claim = kpi.Claim("Acme", period, "revenue", value, "millions", "USD", f"doc{value}", 1, page)
            return kpi.record(db, conv, None, claim, lambda _d, _n: page)

        results = run_in_threads(record, ["100", "200"])
        assert not any(isinstance(r, BaseException) for r in results), results
        statuses = [r.status for r in ledger.rows(db, conv, periods=[period])]
        assert statuses == ["conflict", "conflict"], (period, results)
    db.close()
