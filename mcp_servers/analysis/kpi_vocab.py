"""Canonical KPI names, their units, and the derived metrics with the formula each one is computed by.

One vocabulary for the extractor (record_kpi refuses unknown names and suggests the closest), the arithmetic
(derive evaluates DerivedSpec in Decimal) and the XLSX export (the same spec becomes an Excel formula).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """A reported metric: its unit kind, a line telling the extractor which line item it is, and the row labels
    that name it in filings (US-GAAP line items and their usual captions) — a quote whose label is not one of
    them is refused."""

    name: str
    unit: str  # currency, percent, ratio, per_share, count
    hint: str
    labels: str
    """Regular expression (case-insensitive) over the quote's label, parentheses and punctuation removed."""
    excludes: str = ""
    """Labels that contain a synonym but name another line item ('cost of sales' is not revenue)."""
    absolute: bool = False  # sign conventions differ between reports (capex shown as (1,577)): keep the magnitude

    @property
    def label_pattern(self) -> re.Pattern[str]:
        return re.compile(self.labels, re.IGNORECASE)

    @property
    def exclude_pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.excludes, re.IGNORECASE) if self.excludes else None


_OTHER_INCOME_LINES = r"\bcost of\b|\bgross\b|\bincome\b|\bper share\b|\bdeferred\b|\bunearned\b|receivable|\bexpenses?$"
# fmt: off
REPORTED: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("revenue", "currency", "total net sales / total revenues",
               r"\b(?:net )?(?:sales|revenues?)\b|\bturnover\b", _OTHER_INCOME_LINES),
        Metric("cost_of_revenue", "currency", "cost of sales / cost of revenues",
               r"\bcosts? of (?:net )?(?:sales|revenues?|goods|products|services)", absolute=True),
        Metric("gross_profit", "currency", "gross profit / gross margin (amount)", r"\bgross (?:profit|margin)"),
        Metric("operating_income", "currency", "operating income / income from operations (loss negative)",
               r"\boperating (?:income|profit|earnings|loss)|\b(?:income|earnings|loss) from operations\b",
               r"\bnon-?operating\b|\bother operating\b|\bmargin\b"),
        Metric("net_income", "currency", "net income attributable to the company (loss negative)",
               r"\bnet (?:income|earnings|loss|profit)\b",
               r"comprehensive|per (?:common )?share|non-?controlling|minority|before"),
        Metric("eps_diluted", "per_share", "diluted earnings per share",
               r"\bdiluted\b|\bper (?:diluted |common )*share\b", r"weighted|shares outstanding|dividends"),
        Metric("cfo", "currency", "net cash provided by operating activities",
               r"\bcash (?:flows? )?(?:provided|generated|from|used)?.{0,20}\boperati(?:ng activities|ons)\b"
               r"|\boperating cash flows?\b"),
        Metric("capex", "currency", "purchases of property, plant and equipment (capital expenditures)",
               r"\bcapital (?:expenditures?|spending|investments?)\b|\b(?:purchases?|acquisitions?|additions?|payments?"
               r"|expenditures?|investments?) (?:for |of |to |in )?(?:the )?(?:purchases? of |acquisition of |acquire )?"
               r"(?:property|premises|plant|fixed assets|pp&e)|\bproperty,? plant,? and equipment additions\b",
               r"\bproceeds\b|\bsales? of\b|\bdisposals?\b", absolute=True),
        Metric("depreciation_amortization", "currency", "depreciation and amortization (cash flow statement)",
               r"\bdepreciation\b|\bamortization\b", r"\baccumulated\b"),
        Metric("total_debt", "currency", "short-term plus long-term debt, as the report totals it",
               r"\bdebt\b|\bborrowings\b", r"\bextinguishment\b|\bissuance costs\b|\bproceeds\b|\brepayments?\b"),
        Metric("long_term_debt", "currency", "long-term debt (excluding current portion)",
               r"\blong[- ]term (?:debt|borrowings)\b", r"\bproceeds\b|\brepayments?\b"),
        Metric("cash", "currency", "cash and cash equivalents",
               r"^(?:total )?cash\b|\bcash and (?:cash )?equivalents\b|\bcash and short[- ]term investments\b",
               r"\bflows?\b|\bprovided\b|\bused\b|\bactivities\b|\bdividends\b|\bchange\b|\bincrease\b|\bdecrease\b"),
        Metric("total_assets", "currency", "total assets", r"\btotal assets\b"),
        Metric("total_liabilities", "currency", "total liabilities", r"\btotal liabilities\b",
               r"\band (?:share|stock)holders|\band (?:total )?equity\b"),
        Metric("shareholders_equity", "currency", "total shareholders' equity attributable to the company",
               r"\b(?:share|stock)(?:holders|owners)'? equity\b|\btotal equity\b|\bequity attributable\b",
               r"\bliabilities and\b|\bnon-?controlling interests? only\b"),
        Metric("accounts_payable", "currency", "accounts payable", r"\b(?:accounts|trade) payables?\b",
               r"\bchange|increase|decrease\b"),
        Metric("inventory", "currency", "inventories", r"\binventor(?:y|ies)\b",
               r"\bchange|increase|decrease|turnover\b"),
        Metric("interest_expense", "currency", "interest expense", r"\binterest (?:expense|cost|charges)\b|\binterest,? net\b",
               absolute=True),
        Metric("research_development", "currency", "research and development expense",
               r"\bresearch,? (?:and|&) development\b|\br&d\b|\bresearch, development\b", absolute=True),
        Metric("dividends_paid", "currency", "dividends paid to shareholders", r"\bdividends?\b",
               r"\bper share\b|\bpayable\b", absolute=True),
        Metric("effective_tax_rate", "percent", "effective income tax rate", r"\beffective (?:income )?tax rate\b|\beffective rate\b"),
        Metric("shares_diluted", "count", "weighted-average diluted shares outstanding",
               r"\bdiluted\b|\bweighted[- ]average\b.*\bshares\b|\bshares\b.*\bdiluted\b", r"per share"),
        Metric("employees", "count", "number of employees", r"\bemployees\b|\bheadcount\b|\bworkforce\b|\bpeople\b"),
    ]
}
# fmt: on


@dataclass(frozen=True)
class DerivedSpec:
    """A derived metric: op applied to input metrics of the same company (growth: the previous period too).

    ops: 'sub' a-b, 'add' a+b, 'pct' a/b*100, 'ratio' a/b, 'growth_pct' (a_t/a_{t-1}-1)*100.
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    unit: str
    text: str  # the formula as people write it

    def symbol(self) -> str:
        return {"sub": " − ", "add": " + ", "pct": " / ", "ratio": " / "}.get(self.op, "")


DERIVED: dict[str, DerivedSpec] = {
    d.name: d
    for d in [
        DerivedSpec("gross_margin", "pct", ("gross_profit", "revenue"), "percent", "gross_profit / revenue × 100"),
        DerivedSpec(
            "operating_margin", "pct", ("operating_income", "revenue"), "percent", "operating_income / revenue × 100"
        ),
        DerivedSpec("net_margin", "pct", ("net_income", "revenue"), "percent", "net_income / revenue × 100"),
        DerivedSpec("fcf", "sub", ("cfo", "capex"), "currency", "cfo − capex"),
        DerivedSpec("fcf_margin", "pct", ("fcf", "revenue"), "percent", "fcf / revenue × 100"),
        DerivedSpec(
            "ebitda",
            "add",
            ("operating_income", "depreciation_amortization"),
            "currency",
            "operating_income + depreciation_amortization",
        ),
        DerivedSpec("ebitda_margin", "pct", ("ebitda", "revenue"), "percent", "ebitda / revenue × 100"),
        DerivedSpec("capex_to_revenue", "pct", ("capex", "revenue"), "percent", "capex / revenue × 100"),
        DerivedSpec(
            "debt_to_equity",
            "ratio",
            ("total_debt", "shareholders_equity"),
            "ratio",
            "total_debt / shareholders_equity",
        ),
        DerivedSpec("revenue_growth", "growth_pct", ("revenue",), "percent", "(revenue_t / revenue_t−1 − 1) × 100"),
        DerivedSpec(
            "net_income_growth", "growth_pct", ("net_income",), "percent", "(net_income_t / net_income_t−1 − 1) × 100"
        ),
        DerivedSpec(
            "operating_income_growth",
            "growth_pct",
            ("operating_income",),
            "percent",
            "(operating_income_t / operating_income_t−1 − 1) × 100",
        ),
    ]
}

_PERIOD = re.compile(r"^(?:FY\s*)?(\d{4}|\d{2})(?:\s*[-/ ]?\s*(Q[1-4]))?$", re.IGNORECASE)
_QFIRST = re.compile(r"^(Q[1-4])\s*(?:FY\s*)?(\d{4})$", re.IGNORECASE)


def unit_of(metric: str) -> str:
    """Unit kind of a reported or derived metric."""
    if metric in REPORTED:
        return REPORTED[metric].unit
    return DERIVED[metric].unit


def check_metric(name: str, *, derived: bool = False) -> str:
    """The canonical name, or ValueError naming the closest known ones."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    known = DERIVED if derived else REPORTED
    if key in known:
        return key
    if not derived and key in DERIVED:
        raise ValueError(
            f"'{key}' is a derived metric: record its inputs ({', '.join(DERIVED[key].inputs)}) and "
            f"call derive(metric='{key}') instead of recording it"
        )
    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return _raise(f"unknown metric '{name}': {hint}known: {', '.join(known)}")


def _raise(message: str) -> str:
    raise ValueError(message)


def normalize_period(raw: str) -> str:
    """'FY2022', '2022', 'fy22' → 'FY2022'; 'FY2022 Q3', 'Q3 2022' → 'FY2022-Q3'."""
    text = raw.strip()
    m = _QFIRST.match(text)
    if m:
        return f"FY{m.group(2)}-{m.group(1).upper()}"
    m = _PERIOD.match(text)
    if not m:
        raise ValueError(f"fiscal_period '{raw}' not understood: write it like FY2022 (or FY2022-Q3)")
    year = m.group(1)
    if len(year) == 2:
        year = "20" + year
    return f"FY{year}" + (f"-{m.group(2).upper()}" if m.group(2) else "")


def previous_period(period: str) -> str:
    """FY2022 → FY2021 (quarters: the same quarter a year earlier)."""
    year = int(period[2:6])
    return f"FY{year - 1}{period[6:]}"


def describe() -> str:
    """The vocabulary as the tool descriptions list it."""
    reported = "; ".join(f"{m.name} ({m.hint})" for m in REPORTED.values())
    derived = "; ".join(f"{d.name} = {d.text}" for d in DERIVED.values())
    return f"Reported metrics: {reported}.\nDerived metrics (use derive): {derived}."


def plan(metrics: list[str]) -> dict[str, list[str]]:
    """Reported metrics to extract and derived ones to compute (dependencies first) for the requested names."""
    reported: list[str] = []
    derived: list[str] = []

    def need(name: str) -> None:
        key = name.strip().lower().replace(" ", "_").replace("-", "_")
        if key in DERIVED:
            for dep in DERIVED[key].inputs:
                need(dep)
            if key not in derived:
                derived.append(key)
        elif check_metric(key) not in reported:
            reported.append(key)

    for m in metrics:
        need(m)
    return {"reported": reported, "derived": derived}
