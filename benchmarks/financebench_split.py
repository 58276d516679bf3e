"""The fixed FinanceBench split: a tuning part (ranker and ledger rules may be adjusted while looking at it) and a
report part (only ever scored, never read to write a term, weight or rule).

Split by document and, stricter, by company: no filing of a report-part company is in the tuning part, so a
company's own wording (its segment names, its line-item labels) cannot leak from one part into the other. The
tuning part holds the ten filings the page search was first developed on (its vocabulary had been written while
reading their questions, so they can only be in-sample) plus two filings of other kinds; the report part holds
six filings nothing was tuned on: four 10-Ks, a 10-Q and an earnings release.

More tuning data (`load_extra`): the upstream FinanceBench repository holds other filings with open-source questions
(most of its PDFs are in git). `python benchmarks/financebench_extra.py UPSTREAM_CHECKOUT OUT_DIR` lays them out like
the shared set; `bench_pdf_retrieval.py --extra OUT_DIR` adds them to the tuning side (scored as the `extra` part,
fitted and cross-validated with the tuning part). A filing of a report-part company is refused there too.

tests/benchmarks/test_financebench_split.py enforces it: a report-part question id, filing or company in the
ranker's code, its vocabulary or any test fails the suite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "financebench"

TUNING_DOCS: tuple[str, ...] = (
    "3M_2018_10K",
    "3M_2022_10K",
    "AMAZON_2017_10K",
    "AMAZON_2019_10K",
    "BOEING_2018_10K",
    "BOEING_2022_10K",
    "CORNING_2020_10K",
    "CORNING_2021_10K",
    "CORNING_2022_10K",
    "GENERALMILLS_2020_10K",
    "PEPSICO_2022_10K",
    "PEPSICO_2023Q1_EARNINGS",
)
REPORT_DOCS: tuple[str, ...] = (
    "AMCOR_2023_10K",
    "AMCOR_2023Q4_EARNINGS",
    "AMERICANEXPRESS_2022_10K",
    "BESTBUY_2023_10K",
    "BESTBUY_2024Q2_10Q",
    "JOHNSON_JOHNSON_2022_10K",
)
REPORT_COMPANIES: tuple[str, ...] = ("Amcor", "American Express", "Amex", "Best Buy", "Johnson & Johnson", "JnJ")
"""How the report part's companies are written (for the leak test; case-insensitive)."""
PARTS = {"tuning": TUNING_DOCS, "report": REPORT_DOCS}


@dataclass(frozen=True)
class Question:
    """One FinanceBench question with its 1-based evidence pages and its part of the split."""

    id: str
    doc: str
    text: str
    answer: str
    gold: frozenset[int]
    part: str
    kind: str
    raw: dict


def part_of(doc: str) -> str:
    """'tuning' or 'report'; a filing in neither part is an error (the split must cover the whole set)."""
    for name, docs in PARTS.items():
        if doc in docs:
            return name
    raise KeyError(f"{doc} is in neither part of the split: add it to benchmarks/financebench_split.py")


def is_report_company(doc: str, company: str = "") -> bool:
    """A filing of a report-part company (by its filing name's company part or the company's name)."""
    names = {d.split("_20")[0].replace("_", " ").lower() for d in REPORT_DOCS}
    names |= {c.lower() for c in REPORT_COMPANIES}
    own = {doc.split("_20")[0].replace("_", " ").lower(), company.lower()}
    return any(n in o or o in n for n in names for o in own if o)


def load_extra(data: Path) -> list[Question]:
    """The extra tuning questions of a folder laid out like DATA (part 'extra'); report-part companies refused."""
    out = []
    for line in (data / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        if q["doc_name"] in TUNING_DOCS:
            continue  # already in the tuning part
        if is_report_company(q["doc_name"], q.get("company", "")):
            raise ValueError(f"{q['doc_name']} belongs to a report-part company: it cannot be tuning data")
        gold = frozenset(e["page_index0"] + 1 for e in q["evidence"])
        out.append(
            Question(
                q["financebench_id"], q["doc_name"], q["question"], q["answer"], gold, "extra",
                q.get("question_type", ""), q,
            )
        )
    return out


def load_questions(data: Path = DATA) -> list[Question]:
    """Every question of questions.jsonl (evidence pages are stored 0-based: gold = page_index0 + 1)."""
    out = []
    for line in (data / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        gold = frozenset(e["page_index0"] + 1 for e in q["evidence"])
        out.append(
            Question(
                q["financebench_id"], q["doc_name"], q["question"], q["answer"], gold, part_of(q["doc_name"]),
                q.get("question_type", ""), q,
            )
        )
    return out
