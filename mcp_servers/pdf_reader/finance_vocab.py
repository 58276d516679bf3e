"""Finance notions for page search: what an analyst's words mean in a filing, and where filings put them.

Each Concept says why it exists (`source`): a US-GAAP line item or its accounting topic (ASC), a financial statement's
title, a standard ratio's definition (a ratio needs the pages of each of its inputs), or a section every SEC filing
has (Regulation S-K items: 1 Business, 1A Risk Factors, 3 Legal Proceedings, 7 MD&A). Triggers are the usual
names and abbreviations of the notion (compounds match written open, hyphenated or closed: "cash flow",
"cash-flow", "cashflow"); terms are how filings label it; nothing names a company, a segment, a
customer or a figure, and no entry was written for one benchmark question (benchmarks/financebench_split.py keeps a
held-out part; tests/benchmarks/test_financebench_split.py checks that none of it is written here). Line-item
synonyms beyond these come from the US-GAAP taxonomy (mcp_servers/pdf_reader/gaap_terms.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Concept:
    """One finance notion: why it exists, its triggers, its report wording, and where filings put it."""

    name: str
    source: str
    """Why the entry exists: the GAAP line item / ASC topic, statement title, ratio definition or S-K item."""
    triggers: str
    """Regular expression (case-insensitive, word-bounded by the caller) that finds the notion in a question."""
    terms: tuple[tuple[str, float], ...] = ()
    """(word or phrase as filings write it, weight) added to the query."""
    statements: dict[str, float] = field(default_factory=dict)
    """Financial statements holding the figures, with how strongly."""
    sections: tuple[str, ...] = ()
    """Regular expressions for Item / note headings where the notion is discussed."""
    quantitative: bool = True
    """Answered from figures (tables) rather than prose."""


def _c(
    name: str,
    source: str,
    triggers: str,
    terms: str = "",
    statements: dict[str, float] | None = None,
    sections: tuple[str, ...] = (),
    quantitative: bool = True,
) -> Concept:
    parsed = []
    for item in filter(None, (part.strip() for part in terms.split(";"))):
        phrase, _, weight = item.partition("@")
        parsed.append((phrase.strip(), float(weight) if weight else 1.0))
    return Concept(name, source, triggers, tuple(parsed), statements or {}, sections, quantitative)


MDNA = r"management.s discussion"
# fmt: off
CONCEPTS: tuple[Concept, ...] = (
    # --- the statements, named explicitly (their titles under ASC 205/210/220/230) ---------------------------------
    _c("cash flow statement", "statement title (ASC 230): its three section totals",
       r"cash[- ]?flows? statements?|statements? of cash[- ]?flows?|cash[- ]?flows? from",
       "net cash provided by operating activities@0.6; investing activities@0.5; financing activities@0.5",
       {"cash_flow": 1.0}),
    _c("income statement", "statement title (ASC 220/225): its headline lines",
       r"income statements?|statements? of (?:income|operations|earnings)|p&l|profit and loss",
       "total revenues@0.4; net income@0.4; operating income@0.4", {"income": 1.0}),
    _c("balance sheet", "statement title (ASC 210): its totals",
       r"balance sheets?|statements? of financial (?:position|condition)",
       "total assets@0.5; total liabilities@0.5; total current assets@0.4", {"balance": 1.0}),
    # --- investment and assets ------------------------------------------------------------------------------------
    _c("capital expenditure", "cash-flow line item (ASC 230-10-45-13c: payments to acquire PP&E)",
       r"capex|capital expenditures?|capital spending|capital investments?",
       "purchases of property plant and equipment; purchases of property and equipment; capital expenditures; "
       "additions to property@0.8; payments for property@0.7; capital spending@0.7", {"cash_flow": 0.8}),
    _c("capital intensity", "ratio definition: capital expenditures and PP&E against total assets and revenue",
       r"capital[- ]intensive|capital intensity|asset[- ]heavy|asset[- ]light",
       "capital expenditures; purchases of property plant and equipment; property plant and equipment@0.8; "
       "total assets@0.8; depreciation@0.5; net sales@0.4", {"cash_flow": 0.5, "balance": 0.5}),
    _c("ppe", "balance-sheet line item (ASC 360: property, plant and equipment, net of accumulated depreciation)",
       r"pp&?n?e|property,? plant,? (?:and|&) equipment|fixed assets",
       "property plant and equipment; accumulated depreciation@0.6; property plant and equipment net",
       {"balance": 0.8}),
    _c("total assets", "balance-sheet total (ASC 210); ratio definitions ROA, asset turnover",
       r"total assets|asset base|return on assets|roa|asset turnover",
       "total assets; net income@0.5; net sales@0.4", {"balance": 0.7}),
    _c("goodwill", "balance-sheet line items and note (ASC 350: goodwill and other intangible assets)",
       r"goodwill|intangibles?|impairments?",
       "goodwill; intangible assets@0.8; impairment@0.8", {"balance": 0.4}, (r"goodwill|intangible",)),
    # --- working capital (ratio definitions: their inputs' line items) --------------------------------------------
    _c("payables", "ratio definitions DPO and payables turnover: accounts payable, cost of sales, inventories",
       r"dpo|days payables?(?: outstanding)?|accounts payables?|payables? turnover",
       "accounts payable; cost of sales@0.8; cost of goods sold@0.8; cost of products sold@0.6; inventories@0.6",
       {"balance": 0.7, "income": 0.5}),
    _c("receivables", "ratio definitions DSO and receivables turnover: accounts receivable, revenue",
       r"dso|days sales outstanding|receivables?(?: turnover)?",
       "accounts receivable; receivables@0.8; net sales@0.5; revenues@0.5", {"balance": 0.7, "income": 0.4}),
    _c("inventory", "ratio definitions DIO and inventory turnover: inventories, cost of sales (ASC 330)",
       r"dio|days inventory(?: outstanding)?|inventor(?:y|ies)(?: turnover)?",
       "inventories; cost of sales@0.6; cost of products sold@0.5; finished goods@0.5",
       {"balance": 0.7, "income": 0.4}),
    _c("working capital", "ratio definitions current, quick and working capital: current assets and liabilities",
       r"working capital|current ratio|quick ratio|acid[- ]test|liquidity",
       "total current assets; total current liabilities; cash and cash equivalents@0.6; inventories@0.6; "
       "accounts receivable@0.5; marketable securities@0.4", {"balance": 1.0}),
    # --- profitability --------------------------------------------------------------------------------------------
    _c("revenue", "income-statement line item (ASC 606: revenue from contracts with customers)",
       r"revenues?|net sales|top[- ]?line|sales growth|turnover",
       "total revenues; net sales; revenues@0.8", {"income": 0.7}),
    _c("net income", "income-statement line item (ASC 220: net income attributable to the parent)",
       r"net (?:income|earnings|profit|loss)|bottom[- ]?line|attributable to (?:shareholders|stockholders)",
       "net income; net earnings; attributable@0.6; net income attributable@0.8", {"income": 0.8}),
    _c("operating income", "income-statement subtotal (operating income/loss) and the MD&A results discussion",
       r"operating (?:income|profit|margin|earnings|loss)|ebit\b|operating expenses?",
       "operating income; operating profit; earnings from operations@0.8; income from operations@0.8; "
       "operating margin@0.8; total costs and expenses@0.5", {"income": 0.8}, (MDNA,)),
    _c("gross margin", "income-statement lines cost of sales and gross profit; ratio gross margin",
       r"gross (?:margin|profit)s?|cogs|cost of (?:goods|sales|revenues?)",
       "gross profit; gross margin; cost of sales@0.8; cost of products@0.7; cost of services@0.5; revenues@0.5",
       {"income": 1.0}),
    _c("ebitda", "ratio definition: operating income plus depreciation and amortization (cash-flow statement)",
       r"ebitda|ebitda margin",
       "operating income; depreciation and amortization; operating profit@0.8; net revenue@0.4",
       {"income": 0.7, "cash_flow": 0.7}),
    _c("d&a", "cash-flow adjustment line item depreciation and amortization (ASC 230, ASC 360)",
       r"d&a|depreciation|amortization",
       "depreciation and amortization; depreciation@0.8; amortization@0.6", {"cash_flow": 0.8}),
    _c("eps", "income-statement per-share lines (ASC 260: basic and diluted earnings per share)",
       r"eps|earnings per share|per share",
       "earnings per share; per share@0.8; diluted@0.7; weighted average shares@0.5", {"income": 0.8}),
    _c("restructuring", "line item and note (ASC 420: exit or disposal costs; restructuring charges)",
       r"restructuring|severance|reorgani[sz]ation|impairment charges?",
       "restructuring; impairment charges@0.7; severance@0.6; restructuring and impairment@0.8",
       {"income": 0.6}, (r"restructuring",)),
    _c("interest", "income-statement line interest expense; ratio interest coverage",
       r"interest (?:expense|coverage)|times interest earned",
       "interest expense; operating income@0.5; interest income@0.4", {"income": 0.8}),
    _c("r&d", "income-statement line item (ASC 730: research and development)", r"r&d|research and development",
       "research and development; research development and related@0.6", {"income": 0.7}),
    _c("tax", "income-tax note (ASC 740: provision, effective rate reconciliation to the statutory rate)",
       r"tax(?:es)?|effective (?:tax )?rate|etr",
       "effective tax rate; income taxes; provision for income taxes@0.8; statutory rate@0.6; "
       "income tax expense@0.7; tax rate@0.8", {"income": 0.3}, (r"income taxes", MDNA)),
    _c("margin trend", "MD&A results of operations (S-K Item 303): margins discussed against the prior year",
       r"margins?(?: profile)?|profitability",
       "margin@0.7; percent of net sales@0.5; percentage of revenues@0.5; results of operations@0.5",
       {"income": 0.5}, (MDNA,)),
    # --- cash flow, capital and returns ---------------------------------------------------------------------------
    _c("free cash flow", "ratio definition: cash from operations less capital expenditures",
       r"fcf|free cash[- ]?flows?|cash conversion",
       "net cash provided by operating activities; capital expenditures; purchases of property plant and equipment; "
       "operating activities@0.7", {"cash_flow": 1.0}),
    _c("operating cash flow", "cash-flow statement total (ASC 230: net cash provided by operating activities)",
       r"cash (?:from|provided by) operations|operating cash[- ]?flows?|cfo",
       "net cash provided by operating activities; operating activities@0.8", {"cash_flow": 1.0}),
    _c("dividends", "financing cash-flow lines and equity statement (dividends paid, repurchases of common stock)",
       r"dividends?|payout ratio|shareholder returns?|buybacks?|share repurchases?|repurchases?",
       "dividends paid; cash dividends@0.8; repurchases of common stock@0.8; treasury stock@0.6; "
       "share repurchases@0.8", {"cash_flow": 0.6, "equity": 0.5}),
    _c("debt", "balance-sheet lines and debt note (ASC 470: short-term borrowings, long-term debt)",
       r"debt|leverage|borrowings?|solvency|debt[- ]to[- ]equity|net debt|credit facilit(?:y|ies)",
       "long-term debt; short-term borrowings@0.8; total debt@0.8; notes payable@0.6; credit facility@0.6; "
       "total equity@0.5", {"balance": 0.7}, (r"\bdebt\b|borrowings|financing arrangements",)),
    _c("equity", "balance-sheet total and ratio definitions ROE, book value (ASC 505)",
       r"shareholders'? equity|stockholders'? equity|book value|return on equity|roe",
       "total equity; shareholders equity; stockholders equity; net income@0.4", {"balance": 0.6, "equity": 0.5}),
    _c("pension", "retirement-benefits note (ASC 715: benefit obligation, plan assets, and the benefit payments "
       "expected in each of the next five years, ASC 715-20-50-1f)",
       r"pensions?|postretirement|defined benefit|retirees?|retirement benefits?|opeb",
       "pension; postretirement@0.8; benefit obligation@0.7; plan assets@0.6; benefit payments@0.6", {},
       (r"pension|retirement",)),
    # --- segments, geography, customers (ASC 280 disclosures) ------------------------------------------------------
    _c("segment", "segment note (ASC 280-10-50: reportable segments, revenues by products and services)",
       r"segments?|business (?:units?|lines?)|reportable|product lines?|products and services",
       "segment; segments; reportable segments@0.8; business segment@0.8; operating segments@0.6; "
       "products and services@0.5; revenues@0.4", {}, (r"segment", r"business"), True),
    _c("organic growth", "non-GAAP sales bridge in MD&A (organic sales: excluding acquisitions, divestitures, FX)",
       r"organic|m&a|constant currency|currency[- ]neutral",
       "organic sales@0.9; organic@0.8; acquisitions@0.5; divestitures@0.5; foreign currency@0.5; "
       "constant currency@0.6", {}, (MDNA, r"segment"), True),
    _c("geography", "geographic information (ASC 280-10-50-41: revenues and long-lived assets by geographic area)",
       r"geograph(?:y|ies|ic|ical)|regions?|countries|international|domestic|foreign operations",
       "geographic areas@0.9; geographic@0.8; united states@0.6; international@0.6; foreign countries@0.6; "
       "long-lived assets@0.4", {}, (r"segment", r"business", r"geographic"), False),
    _c("customers", "major customers (ASC 280-10-50-42: revenue from single external customers of 10 % or more)",
       r"customers?|clients?|concentration",
       "customers; customer@0.8; major customers@0.8; concentration@0.6; percent of revenues@0.6",
       {}, (r"^item 1\b", r"business", r"customers|concentration"), False),
    # --- business and risk (Regulation S-K items) ------------------------------------------------------------------
    _c("risk", "S-K Item 1A (Risk Factors) and Item 101 (seasonality)",
       r"risks?|uncertaint(?:y|ies)|exposures?|headwinds?|cyclical(?:ity)?|seasonal(?:ity)?",
       "risk factors@0.8; risks@0.6; adversely@0.5; uncertainty@0.4; cyclical@0.6; seasonal@0.6", {},
       (r"risk factors", r"^item 1\b"), False),
    _c("outlook", "forward-looking statements and guidance (MD&A outlook; earnings-release guidance)",
       r"forecast(?:ing|s)?|outlook|guidance|expects?|anticipat\w+|next year",
       "outlook@0.6; guidance@0.6; expect@0.6; anticipate@0.5; we expect@0.6", {}, (MDNA, r"business"), False),
    _c("backlog", "S-K Item 101 disclosure and remaining performance obligations (ASC 606-10-50-13)",
       r"backlog|order book|remaining performance obligations?",
       "backlog; remaining performance obligations@0.8; orders@0.5", {}, (MDNA, r"business"), False),
    _c("legal", "S-K Item 3 (Legal Proceedings) and contingencies note (ASC 450: loss contingencies, litigation)",
       r"legal|litigation|lawsuits?|court|proceedings?|disputes?|investigations?|settlements?"
       r"|regulatory (?:matters|actions)|claims?",
       "legal proceedings; litigation; contingencies@0.8; commitments and contingencies@0.8; "
       "loss contingencies@0.6; legal@0.7", {}, (r"legal proceedings", r"contingencies", r"litigation"), False),
    _c("employees", "S-K Item 101(c) human capital disclosure", r"employees|headcount|workforce|human capital|unions?",
       "employees; workforce@0.8; human capital@0.8; collective bargaining@0.6", {}, (r"human capital", r"business"),
       False),
)
# fmt: on

_COMPILED = tuple(
    (concept, re.compile(rf"(?<![\w&])(?:{concept.triggers})(?![\w&])", re.IGNORECASE)) for concept in CONCEPTS
)


def concepts_in(question: str) -> list[Concept]:
    """The concepts a question mentions, in vocabulary order."""
    return [concept for concept, pattern in _COMPILED if pattern.search(question)]
