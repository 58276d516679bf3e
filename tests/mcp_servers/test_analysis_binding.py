"""A recorded value must be the metric its row label names, in the period its column header names — the attacks.

Pages are real PDFs with real columns (pdfium reads their character boxes): hand-placed statements and, when the
data is there, tuning-part FinanceBench pages. Each case is a way a model (or a hostile document) could get a wrong
number stored as verified; each must be refused, or flagged when the page cannot settle it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from mcp_servers.analysis import kpi
from mcp_servers.analysis.binding import bind_period
from mcp_servers.pdf_reader.extract import normalise
from mcp_servers.pdf_reader.layout import PageLayout, page_layout
from tests.mcp_servers.pdf_support import financebench_pdf, have_financebench, positioned_pdf
from tests.helpers import requires

STATEMENT = [
    (220, 40, "ACME CORP"),
    (160, 55, "CONSOLIDATED STATEMENTS OF INCOME"),
    (200, 68, "(in millions, except per share data)"),
    (330, 90, "Note"),
    (400, 90, "2022"),
    (470, 90, "2021"),
    (50, 110, "Total revenues"),
    (392, 110, "80,000"),
    (462, 110, "70,000"),
    (50, 124, "Inventories"),
    (335, 124, "4"),
    (392, 124, "12,000"),
    (462, 124, "11,000"),
    (50, 138, "Income taxes (Note 7)"),
    (396, 138, "1,200"),
    (466, 138, "1,100"),
    (50, 152, "Net income"),
    (396, 152, "5,777"),
    (466, 152, "4,000"),
    (50, 166, "Purchases of property, plant and equipment"),
    (392, 166, "(2,100)"),
    (462, 166, "(1,900)"),
    (300, 770, "37"),
]
QUARTERS = [
    (160, 50, "CONDENSED CONSOLIDATED STATEMENTS OF EARNINGS"),
    (200, 62, "($ in millions)"),
    (330, 80, "Three Months Ended"),
    (460, 80, "Six Months Ended"),
    (320, 92, "July 29, 2023"),
    (385, 92, "July 30, 2022"),
    (450, 92, "July 29, 2023"),
    (515, 92, "July 30, 2022"),
    (50, 110, "Revenue"),
    (325, 110, "9,583"),
    (390, 110, "10,329"),
    (455, 110, "19,050"),
    (520, 110, "20,976"),
]
NO_HEADER = [(50, 60, "Selected figures in millions"), (50, 80, "Revenue"), (300, 80, "1,000"), (370, 80, "900")]


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[PageLayout, str]]:
    folder = tmp_path_factory.mktemp("binding")
    out = {}
    for name, cells in {"statement": STATEMENT, "quarters": QUARTERS, "no_header": NO_HEADER}.items():
        path = folder / f"{name}.pdf"
        path.write_bytes(positioned_pdf([cells]))
        layout = page_layout(path, 1)
        assert layout is not None
        out[name] = (layout, normalise(layout.text))
    return out


def verifier(layout: PageLayout | None, text: str) -> Callable[..., tuple]:
    def check(metric: str, value: str, quote: str, period: str = "FY2022") -> tuple:
        claim = kpi.Claim("Acme", period, metric, value, "millions", "USD", "doc", 1, quote)
        row, notes = kpi.verify(claim, lambda _d, _n: text, lambda _d, _n: layout)
        return row.status, notes

    return check


def refused(check: Callable[..., tuple], *args: str) -> str:
    with pytest.raises(kpi.Rejected) as err:
        check(*args)
    return str(err.value)


def test_the_three_fooling_cases_are_refused(pages) -> None:
    check = verifier(*pages["statement"])
    # 1. A column header recorded as capex = 2022.
    assert "year" in refused(check, "capex", "2022", "2022 2021")
    # 2. Net income's row recorded as revenue.
    assert "label 'net income' is not revenue" in refused(check, "revenue", "5,777", "Net income 5,777")
    # 3. The prior-year column recorded as FY2022.
    assert "2021 column" in refused(check, "revenue", "70,000", "Total revenues 80,000 70,000")
    # ... while the right column and the right label are verified.
    assert check("revenue", "80,000", "Total revenues 80,000 70,000") == ("verified", "")
    assert check("net_income", "4,000", "Net income 5,777 4,000", "FY2021") == ("verified", "")
    assert check("capex", "(2,100)", "Purchases of property, plant and equipment (2,100) (1,900)")[0] == "verified"


def test_header_years_page_numbers_and_note_references_are_refused(pages) -> None:
    check = verifier(*pages["statement"])
    assert "column header" in refused(check, "revenue", "2022", "2022 2021 Total revenues 80,000")
    assert "page number" in refused(check, "net_income", "37", "Net income 5,777 4,000 37")
    assert "Note column" in refused(check, "inventory", "4", "Inventories 4 12,000 11,000")
    assert "note reference" in refused(check, "inventory", "7", "Income taxes (Note 7) 1,200 1,100 Net income")
    assert check("inventory", "12,000", "Inventories 4 12,000 11,000") == ("verified", "")


def test_quarter_columns_of_a_10q(pages) -> None:
    check = verifier(*pages["quarters"])
    # Three months ended July 29, 2023 is a quarter of the fiscal year that ends early in 2024 or late in 2023:
    # the header settles the quarter, not which fiscal year it belongs to.
    assert check("revenue", "9,583", "Revenue 9,583 10,329 19,050 20,976", "FY2023-Q2") == ("verified", "")
    status, note = check("revenue", "9,583", "Revenue 9,583 10,329 19,050 20,976", "FY2024-Q2")
    assert status == "flagged" and "not confirmed" in note
    assert "not a quarter" in refused(check, "revenue", "19,050", "Revenue 9,583 10,329 19,050 20,976", "FY2023-Q2")
    assert "not the fiscal year" in refused(check, "revenue", "9,583", "Revenue 9,583 10,329 19,050 20,976", "FY2023")
    assert "2022" in refused(check, "revenue", "10,329", "Revenue 9,583 10,329 19,050 20,976", "FY2024-Q2")


def test_undecidable_periods_are_flagged_not_guessed(pages) -> None:
    status, note = verifier(*pages["no_header"])("revenue", "1,000", "Revenue 1,000 900")
    assert status == "flagged" and "not confirmed" in note
    # Running text: the year its sentence gives it decides; two numbers and one year each, in order.
    sentence = "Revenue was $38.5 billion and $30.7 billion in 2019 and 2018, respectively"
    assert bind_period(None, sentence, sentence, Decimal("38.5"), "FY2019").status == "bound"
    assert bind_period(None, sentence, sentence, Decimal("30.7"), "FY2019").status == "refused"
    vague = "Revenue grew to $38.5 billion from $30.7 billion"
    assert bind_period(None, vague, vague, Decimal("38.5"), "FY2019").status == "flagged"


def test_without_the_original_pdf_the_text_lines_still_bind(pages) -> None:
    _, text = pages["statement"]
    check = verifier(None, text)
    assert check("revenue", "80,000", "Total revenues 80,000 70,000") == ("verified", "")
    assert "2021 column" in refused(check, "revenue", "70,000", "Total revenues 80,000 70,000")


@requires(have_financebench("AMAZON_2019_10K", "3M_2018_10K"), "FinanceBench PDFs not found")
def test_real_statement_pages(tmp_path: Path) -> None:
    amazon = page_layout(financebench_pdf("AMAZON_2019_10K"), 38)  # statements of operations: 2017 2018 2019
    assert amazon is not None
    check = verifier(amazon, normalise(amazon.text))
    row = "Total net sales 177,866 232,887 280,522"
    assert check("revenue", "280,522", row, "FY2019") == ("verified", "")
    assert "2018 column" in refused(check, "revenue", "232,887", row, "FY2019")
    assert "is not revenue" in refused(check, "revenue", "165,536", "Cost of sales 111,934 139,156 165,536", "FY2019")
    mmm = page_layout(financebench_pdf("3M_2018_10K"), 60)  # cash flows: 2018 2017 2016
    assert mmm is not None
    check = verifier(mmm, normalise(mmm.text))
    capex = "Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)"
    assert check("capex", "(1,577)", capex, "FY2018")[0] == "verified"
    assert "2017 column" in refused(check, "capex", "(1,373)", capex, "FY2018")
