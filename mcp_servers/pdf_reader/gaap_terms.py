"""US-GAAP line items as a search vocabulary: which statement a line item lives on, and how filings label it.

The table (gaap_terms.json beside this module) is derived from the US-GAAP taxonomy's element names — the FASB's
standard names, one per line item, e.g. PaymentsToAcquirePropertyPlantAndEquipment — as grouped into standard
line items with a display name and a statement by edgartools' `edgar/xbrl/standardization/gaap_mappings.json`
(edgartools 5.62.1, MIT licence, © Dwight Gunning; the taxonomy's element names are public identifiers published
by the FASB for SEC filings). Only elements used by at least MIN_COMPANIES filers are kept. Nothing in it was
written for a benchmark question. Rebuild: `python -m mcp_servers.pdf_reader.gaap_terms PATH/gaap_mappings.json`.

Used by search.analyse: a question naming a line item ("accounts payable", "total current assets") gets the
statement holding it as a preference and the item's other labels as expansion terms; words that appear in no
line-item label and no finance concept weigh less than finance words (question boilerplate, "relying", "outlined").
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("gaap_terms.json")
MIN_COMPANIES = 100
MAX_PHRASES = 6
"""Labels kept per line item (the most used elements first)."""
STATEMENTS = {
    "BalanceSheet": "balance",
    "IncomeStatement": "income",
    "CashFlowStatement": "cash_flow",
    "StatementOfEquity": "equity",
    "ComprehensiveIncome": "comprehensive",
    "PerShareData": "income",
}
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z][a-z]*|[a-z]+|\d+")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class LineItem:
    """A standard line item: its display name, the statements it appears on, and labels filings use for it."""

    name: str
    statements: tuple[str, ...]
    phrases: tuple[str, ...]


def stem(word: str) -> str:
    """A light plural/derivation fold so 'liabilities' meets 'liability' and 'expenditures' 'expenditure'."""
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ses", "s"), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2 and not word.endswith("ss"):
            return word[: -len(suffix)] + repl
    return word


def words_of(text: str) -> list[str]:
    """Lowercased word tokens with '&' spelled 'and' (labels say 'and', filings print both)."""
    return _WORD.findall(text.lower().replace("&", " and "))


def label_of(element: str) -> str:
    """'PaymentsToAcquirePropertyPlantAndEquipment' → 'payments to acquire property plant and equipment'."""
    return " ".join(w.lower() for w in _CAMEL.findall(element))


def build(mappings: dict) -> dict:
    """The compact table from edgartools' gaap_mappings.json."""
    items: dict[str, dict] = {}
    for element, spec in sorted(mappings.items(), key=lambda kv: -kv[1].get("company_count", 0)):
        if ":" in element or element.startswith("ifrs") or spec.get("company_count", 0) < MIN_COMPANIES:
            continue
        statement = STATEMENTS.get(spec.get("statement") or "")
        name = spec.get("display_name")
        if not statement or not name:
            continue
        item = items.setdefault(name, {"name": name, "statements": [], "phrases": []})
        if statement not in item["statements"]:
            item["statements"].append(statement)
        label = label_of(element)
        if len(item["phrases"]) < MAX_PHRASES and label not in item["phrases"] and len(label.split()) <= 9:
            item["phrases"].append(label)
    return {
        "source": "US-GAAP taxonomy element names grouped by edgartools 5.62.1 gaap_mappings.json (MIT)",
        "min_companies": MIN_COMPANIES,
        "items": sorted(items.values(), key=lambda i: i["name"]),
    }


@lru_cache(maxsize=1)
def line_items() -> tuple[LineItem, ...]:
    """The table, loaded once."""
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    return tuple(LineItem(i["name"], tuple(i["statements"]), tuple(i["phrases"])) for i in data["items"])


@lru_cache(maxsize=1)
def finance_words() -> frozenset[str]:
    """Every (stemmed) word of every line-item name and label: the domain's own vocabulary."""
    return frozenset(stem(w) for item in line_items() for text in (item.name, *item.phrases) for w in words_of(text))


@lru_cache(maxsize=1)
def _names() -> tuple[tuple[tuple[str, ...], LineItem], ...]:
    out = []
    for item in line_items():
        # Display names carry qualifiers in brackets and after commas ("Capital/Finance Lease Payments (CF)",
        # "Deferred Revenue, Current"): the part before them is what people write.
        core = re.split(r"[(,]", item.name)[0].replace("/", " ")
        words = tuple(stem(w) for w in words_of(core))
        if words:
            out.append((words, item))
    return tuple(out)


def items_named(question_words: list[str]) -> list[LineItem]:
    """Line items whose display name occurs as a run of words in the question (stemmed); longest names first and
    no name inside a longer one found ('total current assets', not also 'current assets' nor 'assets')."""
    stems = [stem(w) for w in question_words]
    text = " " + " ".join(stems) + " "
    found: list[tuple[int, int, LineItem]] = []
    for words, item in _names():
        at = text.find(" " + " ".join(words) + " ")
        if at >= 0:
            start = text[:at].count(" ")
            found.append((start, start + len(words), item))
    found.sort(key=lambda f: -(f[1] - f[0]))
    kept: list[tuple[int, int, LineItem]] = []
    for start, end, item in found:
        if not any(s <= start and end <= e for s, e, _ in kept):
            kept.append((start, end, item))
    return [item for _, _, item in kept]


def main(argv: list[str]) -> None:
    """Rebuild gaap_terms.json from an edgartools gaap_mappings.json."""
    table = build(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    TABLE.write_text(json.dumps(table, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(table['items'])} line items written to {TABLE}")


if __name__ == "__main__":
    main(sys.argv[1:])
