"""Every number of an executive summary traces to a ledger row, or it is marked and counted — the attacks."""

from __future__ import annotations

from storage.ledger import KpiRow

from mcp_servers.analysis.summary_check import check_summary


def row(row_id: int, metric: str, value: str, period: str = "FY2019", **extra: object) -> KpiRow:
    fields: dict = {"scale": "millions", "currency": "USD", "unit": "currency"} | extra
    return KpiRow(id=row_id, conversation_id="c", company="Amazon", fiscal_period=period, metric=metric,
                  value=value, **fields)  # fmt: skip


LEDGER = [
    row(1, "fcf", "21653", method="derived"),
    row(2, "operating_margin", "5.1836", unit="percent", scale="units", currency="", method="derived"),
    row(3, "revenue", "280522", document_id="d" * 32, page=38),
    row(4, "revenue", "232887", "FY2018", document_id="d" * 32, page=38),
    row(5, "employees", "798000", unit="count", scale="units", currency=""),
]
NAMES = {"d" * 32: "AMAZON_2019_10K"}


def test_every_cited_number_is_verified_with_scale_normalised() -> None:
    summary = (
        "In FY2019 Amazon's free cash flow was $21.7 billion [r1] at an operating margin of 5.18% [r2]; revenue "
        "reached $280,522 million [AMAZON_2019_10K p.38], up from 232,887 in 2018 [r4]. It had 798,000 employees."
    )
    check = check_summary(summary, LEDGER, NAMES)
    assert check.header() == "5 of 5 numbers verified against the ledger"
    assert [n.row for n in check.numbers] == [1, 2, 3, 4, 5]
    assert check.highlighted(summary) == summary


def test_an_invented_number_is_caught_marked_and_counted() -> None:
    summary = "Amazon's FY2019 revenue was $280.5 billion [r3] and its net income $11.6 billion [r3]."
    check = check_summary(summary, LEDGER, NAMES)
    assert check.header() == "1 of 2 numbers verified against the ledger"
    assert [n.text for n in check.unmatched] == ["$11.6 billion"]
    assert "**⚠ $11.6 billion (unverified)**" in check.highlighted(summary)


def test_wrong_period_wrong_unit_and_wrong_precision_are_not_verified() -> None:
    cases = [
        "Revenue was $232,887 million in FY2019.",  # the FY2018 value given for FY2019
        "The operating margin was 21,653%.",  # FCF's digits as a percentage
        "Free cash flow was $21.6 billion.",  # 21,653 million rounds to 21.7
        "Free cash flow was $22 billion.",  # printed to the billion: 22 ± 0.5 ... but 21.653 is within it
    ]
    verified = [check_summary(s, LEDGER, NAMES).verified for s in cases]
    assert verified == [0, 0, 0, 1]


def test_years_quarters_pages_and_markers_are_not_claims() -> None:
    summary = "In FY2019 (Q4 2019, see p.38 and Note 4) revenue was $280,522 million [r3] [AMAZON_2019_10K p.38]."
    check = check_summary(summary, LEDGER, NAMES)
    assert [n.text for n in check.numbers] == ["$280,522 million"] and check.verified == 1
