"""The FinanceBench split holds: nothing of the report part is written into the ranker, the ledger rules or any test.

The report part is only scored (benchmarks/bench_pdf_retrieval.py); a rule written while reading one of its questions
would make its figures in-sample. Scanned: every source file of mcp_servers/, agents/ and skills/ (code, prompts,
vocabulary) and every test, for a report-part question id, filing name or company, and for any six-word run of a
report-part question's text that no tuning-part question shares (the question templates are common to both parts).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import requires
from benchmarks.financebench_split import (
    DATA,
    REPORT_COMPANIES,
    REPORT_DOCS,
    TUNING_DOCS,
    Question,
    load_questions,
)

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("mcp_servers", "agents", "skills", "tests")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".txt"}
WINDOW = 6
needs_data = requires((DATA / "questions.jsonl").is_file(), f"FinanceBench not found at {DATA}")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _windows(text: str) -> set[str]:
    words = _words(text)
    return {" ".join(words[i : i + WINDOW]) for i in range(len(words) - WINDOW + 1)}


def needles(questions: list[Question]) -> tuple[list[re.Pattern[str]], set[str]]:
    """Patterns for report-part ids, filings and companies; six-word runs only report-part questions contain."""
    literal = [q.id for q in questions if q.part == "report"] + list(REPORT_DOCS)
    patterns = [re.compile(re.escape(s), re.IGNORECASE) for s in literal]
    patterns += [re.compile(rf"(?<![a-z]){re.escape(c)}(?![a-z])", re.IGNORECASE) for c in REPORT_COMPANIES]
    shared = set().union(*(_windows(q.text) for q in questions if q.part == "tuning"))
    runs = set().union(*(_windows(q.text) for q in questions if q.part == "report")) - shared
    return patterns, runs


def leaks(text: str, patterns: list[re.Pattern[str]], runs: set[str]) -> list[str]:
    """What of the report part a text contains."""
    found = [m.group(0) for p in patterns for m in [p.search(text)] if m]
    flat = " ".join(_words(text))
    found += [run for run in runs if run in flat]
    return found


def scanned_files() -> list[Path]:
    this = Path(__file__).resolve()
    return sorted(
        p
        for top in SCANNED
        for p in (ROOT / top).rglob("*")
        if p.is_file() and p.suffix in SUFFIXES and p.resolve() != this and "artifacts" not in p.parts
    )


def test_the_parts_are_fixed_and_disjoint() -> None:
    assert len(set(TUNING_DOCS)) == len(TUNING_DOCS) and len(set(REPORT_DOCS)) == len(REPORT_DOCS)
    assert not set(TUNING_DOCS) & set(REPORT_DOCS)
    company = lambda doc: doc.split("_20")[0]  # noqa: E731 - "JOHNSON_JOHNSON_2022_10K" -> "JOHNSON_JOHNSON"
    assert not {company(d) for d in TUNING_DOCS} & {company(d) for d in REPORT_DOCS}
    assert any("10Q" in d for d in REPORT_DOCS) and any("EARNINGS" in d for d in REPORT_DOCS)


@needs_data
def test_every_question_is_in_one_part() -> None:
    questions = load_questions()
    assert {q.doc for q in questions} == set(TUNING_DOCS) | set(REPORT_DOCS)
    assert {q.part for q in questions} == {"tuning", "report"}
    by_part = {part: {q.raw["company"] for q in questions if q.part == part} for part in ("tuning", "report")}
    assert not by_part["tuning"] & by_part["report"]


@needs_data
def test_no_report_part_question_in_code_vocabulary_or_tests() -> None:
    patterns, runs = needles(load_questions())
    assert runs, "the report part's questions could not be read"
    found = {}
    for path in scanned_files():
        hits = leaks(path.read_text(encoding="utf-8", errors="replace"), patterns, runs)
        if hits:
            found[str(path.relative_to(ROOT))] = hits[:3]
    assert not found, f"report-part questions leaked into tuning code or tests: {found}"


@needs_data
def test_the_scan_finds_a_planted_leak(tmp_path: Path) -> None:
    questions = load_questions()
    patterns, runs = needles(questions)
    report = next(q for q in questions if q.part == "report")
    planted_id = f"assert search(...)[0] == 12  # {report.id}"
    planted_text = "TRIGGERS = " + repr(" ".join(_words(report.text)))
    assert leaks(planted_id, patterns, runs) and leaks(planted_text, patterns, runs)
    assert leaks(f"needs_doc('{REPORT_DOCS[0]}')", patterns, runs)
    tuning = next(q for q in questions if q.part == "tuning")
    assert not leaks(tuning.text + " " + tuning.doc, patterns, runs)


def test_extra_tuning_data_refuses_a_report_part_company(tmp_path: Path) -> None:
    """More tuning data (benchmarks/financebench_extra.py) may never bring a report-part company's filing, by its
    filing name or by its company name; other filings load as the 'extra' part."""
    from benchmarks.financebench_split import is_report_company, load_extra

    def write(doc: str, company: str) -> None:
        row = {"financebench_id": "x", "company": company, "doc_name": doc, "question": "q?", "answer": "a",
               "evidence": [{"doc": doc, "page_index0": 4}]}
        (tmp_path / "questions.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")

    write("ACME_2020_10K", "Acme")
    [q] = load_extra(tmp_path)
    assert q.part == "extra" and q.gold == frozenset({5})
    report_doc = REPORT_DOCS[0]
    other_year = report_doc.split("_20")[0] + "_2019_10K"
    write(other_year, "Someone")
    with pytest.raises(ValueError):
        load_extra(tmp_path)
    write("XYZ_2019_10K", REPORT_COMPANIES[0])
    with pytest.raises(ValueError):
        load_extra(tmp_path)
    assert is_report_company(other_year) and not is_report_company("ACME_2020_10K", "Acme")
