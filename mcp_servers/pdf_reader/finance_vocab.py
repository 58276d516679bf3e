"""A finance vocabulary for page search: what a question's words mean in an annual report.

Each Concept names a notion analysts ask about, the words that trigger it in a question, the words and phrases a
report uses for it (query expansion), and where in a report it lives: which financial statement (income, balance,
cash_flow, equity) and which sections (regular expressions matched against a page's Item / note headings).
General 10-K / annual-report vocabulary only; nothing here is tuned to particular questions or companies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Concept:
    """One finance notion: its triggers, its report wording, and where reports put it."""

    name: str
    triggers: str
    """Regular expression (case-insensitive, word-bounded by the caller) that finds the notion in a question."""
    terms: tuple[tuple[str, float], ...] = ()
    """(word or phrase as reports write it, weight) added to the query."""
    statements: dict[str, float] = field(default_factory=dict)
    """Financial statements holding the figures, with how strongly."""
    sections: tuple[str, ...] = ()
    """Regular expressions for Item / note headings where the notion is discussed."""
    quantitative: bool = True
    """Answered from figures (tables) rather than prose."""


def _c(
    name: str,
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
    return Concept(name, triggers, tuple(parsed), statements or {}, sections, quantitative)


# fmt: off
CONCEPTS: tuple[Concept, ...] = (
    # --- the statements themselves, named explicitly -------------------------------------------------------------
    _c("cash flow statement", r"cash[- ]flows? statements?|statements? of cash flows?|cash[- ]flows? from",
       "net cash provided by operating activities@0.6; investing activities@0.5; financing activities@0.5",
       {"cash_flow": 1.0}),
    _c("income statement", r"income statements?|statements? of (?:income|operations|earnings)|p&l|profit and loss",
       "total revenues@0.4; net income@0.4; operating income@0.4", {"income": 1.0}),
    _c("balance sheet", r"balance sheets?|statements? of financial (?:position|condition)",
       "total assets@0.5; total liabilities@0.5; total current assets@0.4", {"balance": 1.0}),
    # --- investment and assets ------------------------------------------------------------------------------------
    _c("capital expenditure", r"capex|capital expenditures?|capital spending|capital investments?",
       "purchases of property plant and equipment; purchases of property and equipment; capital expenditures; "
       "additions to property@0.8; "
       "payments for property@0.7; capital spending@0.7", {"cash_flow": 0.8}),
    _c("capital intensity", r"capital[- ]intensive|capital intensity|asset[- ]heavy|asset[- ]light",
       "capital expenditures; purchases of property plant and equipment; property plant and equipment@0.8; "
       "total assets@0.8; depreciation@0.5; return on assets@0.5; net sales@0.4",
       {"cash_flow": 0.5, "balance": 0.5}),
    _c("ppe", r"pp&?e|ppne|property,? plant,? (?:and|&) equipment|fixed assets",
       "property plant and equipment; accumulated depreciation@0.6; property plant and equipment net",
       {"balance": 0.8}),
    _c("total assets", r"total assets|asset base|return on assets|roa|asset turnover",
       "total assets; net income@0.5; net sales@0.4", {"balance": 0.7}),
    _c("goodwill", r"goodwill|intangibles?|impairments?",
       "goodwill; intangible assets@0.8; impairment@0.8", {"balance": 0.4}, (r"goodwill|intangible",)),
    # --- working capital ------------------------------------------------------------------------------------------
    _c("payables", r"dpo|days payables?(?: outstanding)?|accounts payables?|payables? turnover",
       "accounts payable; cost of sales@0.8; cost of goods sold@0.8; cost of products sold@0.6; inventories@0.6",
       {"balance": 0.7, "income": 0.5}),
    _c("receivables", r"dso|days sales outstanding|receivables?(?: turnover)?",
       "accounts receivable; receivables@0.8; net sales@0.5; revenues@0.5", {"balance": 0.7, "income": 0.4}),
    _c("inventory", r"dio|days inventory(?: outstanding)?|inventor(?:y|ies)(?: turnover)?",
       "inventories; cost of sales@0.6; finished goods@0.5", {"balance": 0.7, "income": 0.4}),
    _c("working capital", r"working capital|current ratio|quick ratio|acid[- ]test|liquidity",
       "total current assets; total current liabilities; cash and cash equivalents@0.6; inventories@0.6; "
       "accounts receivable@0.5; marketable securities@0.4", {"balance": 1.0}),
    # --- profitability --------------------------------------------------------------------------------------------
    _c("revenue", r"revenues?|net sales|top[- ]line|sales growth|turnover",
       "total revenues; net sales; revenues@0.8", {"income": 0.7}),
    _c("net income", r"net (?:income|earnings|profit|loss)|bottom[- ]line|attributable to (?:shareholders|stockholders)",
       "net income; net earnings; attributable@0.6; net income attributable@0.8", {"income": 0.8}),
    _c("operating income", r"operating (?:income|profit|margin|earnings|loss)|ebit\b|operating expenses?",
       "operating income; operating profit; earnings from operations@0.8; income from operations@0.8; "
       "operating margin@0.8; total costs and expenses@0.5", {"income": 0.8}, (r"management.s discussion",)),
    _c("gross margin", r"gross (?:margin|profit)s?|cogs|cost of (?:goods|sales|revenues?)",
       "gross profit; gross margin; cost of sales@0.8; cost of products@0.7; cost of services@0.5; revenues@0.5",
       {"income": 1.0}),
    _c("ebitda", r"ebitda|ebitda margin",
       "operating income; depreciation and amortization; operating profit@0.8; net revenue@0.4",
       {"income": 0.7, "cash_flow": 0.7}),
    _c("d&a", r"d&a|depreciation|amortization",
       "depreciation and amortization; depreciation@0.8; amortization@0.6", {"cash_flow": 0.8}),
    _c("eps", r"eps|earnings per share|per share",
       "earnings per share; per share@0.8; diluted@0.7; weighted average shares@0.5", {"income": 0.8}),
    _c("restructuring", r"restructuring|severance|reorgani[sz]ation|impairment charges?",
       "restructuring; impairment charges@0.7; severance@0.6; restructuring and impairment@0.8",
       {"income": 0.6}, (r"restructuring",)),
    _c("interest", r"interest (?:expense|coverage)|times interest earned",
       "interest expense; operating income@0.5; interest income@0.4", {"income": 0.8}),
    _c("r&d", r"r&d|research and development",
       "research and development; research development and related@0.6", {"income": 0.7}),
    _c("tax", r"tax(?:es)?|effective (?:tax )?rate|etr",
       "effective tax rate; income taxes; provision for income taxes@0.8; statutory rate@0.6; "
       "income tax expense@0.7; tax rate@0.8", {"income": 0.3},
       (r"income taxes", r"management.s discussion"), ),
    _c("margin trend", r"margins?(?: profile)?|profitability",
       "margin@0.7; percentage of revenues@0.5; compared to@0.3", {"income": 0.5}, (r"management.s discussion",)),
    # --- cash flow, capital and returns ---------------------------------------------------------------------------
    _c("free cash flow", r"fcf|free cash flows?|cash conversion",
       "net cash provided by operating activities; capital expenditures; purchases of property plant and equipment; "
       "operating activities@0.7", {"cash_flow": 1.0}),
    _c("operating cash flow", r"cash (?:from|provided by) operations|operating cash flows?|cfo",
       "net cash provided by operating activities; operating activities@0.8", {"cash_flow": 1.0}),
    _c("dividends", r"dividends?|payout ratio|shareholder returns?|buybacks?|share repurchases?|repurchases?",
       "dividends paid; cash dividends@0.8; repurchases of common stock@0.8; treasury stock@0.6; "
       "share repurchases@0.8", {"cash_flow": 0.6, "equity": 0.5}),
    _c("debt", r"debt|leverage|borrowings?|solvency|debt[- ]to[- ]equity|net debt|credit facilit(?:y|ies)",
       "long-term debt; short-term borrowings@0.8; total debt@0.8; notes payable@0.6; credit facility@0.6; "
       "total equity@0.5", {"balance": 0.7}, (r"\bdebt\b|borrowings|financing arrangements",)),
    _c("equity", r"shareholders'? equity|stockholders'? equity|book value|return on equity|roe",
       "total equity; shareholders equity; stockholders equity; net income@0.4", {"balance": 0.6, "equity": 0.5}),
    _c("pension", r"pensions?|postretirement|defined benefit",
       "pension; postretirement@0.8; benefit obligation@0.7; plan assets@0.6", {}, (r"pension|retirement",)),
    # --- segments, geography, customers ---------------------------------------------------------------------------
    _c("segment", r"segments?|business (?:units?|lines?)|divisions?|product (?:lines?|categories)|service categories"
       r"|categories",
       "segment; segments; reportable segments@0.8; business segment@0.8; revenues@0.4; operating segments@0.6",
       {}, (r"segment", r"business"), True),
    _c("organic growth", r"organic|m&a|acquisitions?|divestitures?|mergers?|growth|dragged|drag|declined?",
       "organic sales@0.9; organic@0.8; acquisitions@0.6; divestitures@0.6; sales change@0.7; "
       "total sales change@0.7; segment@0.5; decreased@0.4; increase@0.3", {},
       (r"management.s discussion", r"segment"), True),
    _c("geography", r"geograph(?:y|ies|ic|ical)|regions?|countries|international|domestic|markets? (?:we|it) operates?"
       r"|operates? in|where .* operates?",
       "geographic; region@0.8; north america@0.7; europe@0.7; latin america@0.7; asia@0.6; international@0.6; "
       "countries@0.6; divisions@0.5; united states@0.5", {}, (r"segment", r"business", r"geographic"), False),
    _c("customers", r"customers?|clients?|buyers?|concentration",
       "customers; customer@0.8; government@0.6; contracts@0.6; sales to@0.6; percent of revenues@0.6; "
       "airlines@0.3; distributors@0.3; retailers@0.3", {}, (r"^item 1\b", r"business", r"customers"), False),
    # --- business and risk ----------------------------------------------------------------------------------------
    _c("cyclicality", r"cyclical(?:ity)?|cycles?|seasonal(?:ity)?|economic (?:conditions|downturns?)",
       "cyclical; cycles@0.8; economic conditions@0.7; demand@0.5; seasonal@0.7; downturn@0.6; industry@0.3",
       {}, (r"^item 1\b", r"business", r"risk factors"), False),
    _c("outlook", r"forecast(?:ing|s)?|outlook|guidance|expects?|anticipat\w+|plans?|next year|future",
       "expect@0.6; anticipate@0.5; outlook@0.6; plan@0.4; future@0.3; we expect@0.6", {},
       (r"management.s discussion", r"business"), False),
    _c("production", r"production(?: rates?)?|(?:build|delivery) rates?|deliver(?:y|ies)|backlog|capacity|units? (?:sold|shipped)",
       "production rate; production@0.8; deliveries@0.7; per month@0.7; backlog@0.5; rate@0.5", {},
       (r"management.s discussion", r"business"), False),
    _c("legal", r"legal|litigation|lawsuits?|suits?|court|proceedings?|disputes?|investigations?|settlements?"
       r"|regulatory (?:matters|actions)|claims?",
       "legal proceedings; litigation; contingencies@0.8; lawsuits@0.8; claims@0.6; settlement@0.6; "
       "investigation@0.6; court@0.6; plaintiffs@0.6; alleged@0.5; legal@0.7", {},
       (r"legal proceedings", r"contingencies", r"litigation"), False),
    _c("risk", r"risks?|uncertaint(?:y|ies)|exposures?|headwinds?",
       "risk factors@0.8; risks@0.6; adversely@0.5; uncertainty@0.4", {}, (r"risk factors",), False),
    _c("employees", r"employees|headcount|workforce|human capital|unions?",
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
