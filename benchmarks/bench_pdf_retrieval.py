"""Page retrieval on FinanceBench: is an evidence page among the top 1/3/5/10 search results for each question?

The 25 questions of ../shared/data/financebench/questions.jsonl are searched within their own document (ingested
with the pdf_reader's real ingest). Three rankers, measured in the same run on the same pages:
  plain_bm25      one FTS5 query, every word of the question OR-ed, bm25() order
  statement_bm25  plain_bm25 + a boost for pages whose heading names the statement the question names
  ours            mcp_servers.pdf_reader.search.search_pages (expansion, section awareness, local IDF, ...)
Evidence pages in questions.jsonl are 0-based (`page_index0`; checked against the PDFs: the page whose text best
matches the evidence is index0 + 1 in 1-based numbering); Page.number is 1-based, so gold = page_index0 + 1.

Run: python benchmarks/bench_pdf_retrieval.py [--db sqlite:////tmp/x.db] [-v]
(prints the table, then `name: value` lines; target: ours_top5 >= 0.90)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text

from mcp_servers.pdf_reader.ingest import ingest_pdf
from mcp_servers.pdf_reader.search import analyse, search_pages
from mcp_servers.pdf_reader.sections import describe_pages
from storage.db import Database

DATA = ROOT.parent / "shared" / "data" / "financebench"
CUTS = (1, 3, 5, 10)
STATEMENT_NAMES = {
    "income": r"income statements?|statements? of (?:income|operations)",
    "balance": r"balance sheets?",
    "cash_flow": r"cash flows? statements?|statements? of cash flows?",
}


def load_questions() -> list[dict]:
    """The questions with their 1-based gold pages."""
    questions = [json.loads(line) for line in (DATA / "questions.jsonl").read_text().splitlines() if line.strip()]
    for q in questions:
        q["gold"] = {e["page_index0"] + 1 for e in q["evidence"]}
    return questions


ENGLISH_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "which",
        "who",
        "why",
        "will",
        "with",
    ]
)


def plain_bm25(db: Database, question: str, doc_id: str, k: int) -> list[int]:
    """FTS5 bm25 order for the question's words (minus common English stopwords) OR-ed together."""
    words = {w.lower() for w in re.findall(r"[A-Za-z0-9]+", question) if len(w) > 1} - ENGLISH_STOPWORDS
    match = " OR ".join(f'"{w}"' for w in sorted(words))
    sql = text(
        "SELECT p.number FROM pages_fts JOIN pages p ON p.id = pages_fts.rowid "
        "WHERE pages_fts MATCH :q AND p.document_id = :d ORDER BY bm25(pages_fts) LIMIT :k"
    )
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(sql, {"q": match, "d": doc_id, "k": k})]


def statement_bm25(db: Database, question: str, doc_id: str, k: int, statements: dict[int, str | None]) -> list[int]:
    """plain_bm25's top 50, re-ordered with a boost for pages titled with a statement the question names."""
    wanted = {kind for kind, pattern in STATEMENT_NAMES.items() if re.search(pattern, question, re.IGNORECASE)}
    ranked = plain_bm25(db, question, doc_id, 50)
    scored = [(1.0 / (i + 1) + (1.0 if statements.get(n) in wanted else 0.0), n) for i, n in enumerate(ranked)]
    return [n for _, n in sorted(scored, key=lambda s: -s[0])][:k]


def rank_of(results: list[int], gold: set[int]) -> int | None:
    return next((i + 1 for i, n in enumerate(results) if n in gold), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL to ingest into / reuse (default: a temporary SQLite file)")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per question")
    args = parser.parse_args()
    if not (DATA / "questions.jsonl").exists():
        sys.exit(f"FinanceBench data not found at {DATA}")
    tmp = tempfile.TemporaryDirectory()
    db = Database(args.db or f"sqlite:///{tmp.name}/bench.db")
    questions = load_questions()
    started = time.perf_counter()
    doc_ids = {}
    for name in sorted({q["doc_name"] for q in questions}):
        doc_ids[name] = ingest_pdf(db, DATA / "pdfs" / f"{name}.pdf").document.id
    ingest_s = time.perf_counter() - started
    statements: dict[str, dict[int, str | None]] = {}
    with db.engine.connect() as conn:
        for name, doc_id in doc_ids.items():
            rows = conn.execute(
                text("SELECT number, text FROM pages WHERE document_id = :d ORDER BY number"), {"d": doc_id}
            )
            statements[name] = {info.number: info.statement for info in describe_pages(rows)}
    ranks: dict[str, list[int | None]] = {"plain_bm25": [], "statement_bm25": [], "ours": []}
    search_s: list[float] = []
    for q in questions:
        doc_id = doc_ids[q["doc_name"]]
        ranks["plain_bm25"].append(rank_of(plain_bm25(db, q["question"], doc_id, 10), q["gold"]))
        ranks["statement_bm25"].append(
            rank_of(statement_bm25(db, q["question"], doc_id, 10, statements[q["doc_name"]]), q["gold"])
        )
        t = time.perf_counter()
        hits = search_pages(db, q["question"], [doc_id], k=10)
        search_s.append(time.perf_counter() - t)
        ranks["ours"].append(rank_of([h.number for h in hits], q["gold"]))
        if args.verbose:
            concepts = ", ".join(c.name for c in analyse(q["question"]).concepts)
            print(
                f"{q['doc_name']:17} gold={sorted(q['gold'])} ours={ranks['ours'][-1]} "
                f"plain={ranks['plain_bm25'][-1]} top={[h.number for h in hits[:5]]} [{concepts}] "
                f"{q['question'][:70]}"
            )
    n = len(questions)
    print(f"\n{'ranker':16}" + "".join(f"{'top-' + str(c):>8}" for c in CUTS))
    rates: dict[str, dict[int, float]] = {}
    for name, found in ranks.items():
        rates[name] = {c: sum(1 for r in found if r is not None and r <= c) / n for c in CUTS}
        print(f"{name:16}" + "".join(f"{rates[name][c]:>8.0%}" for c in CUTS))
    print(f"({n} questions, {len(doc_ids)} documents; ingest {ingest_s:.1f} s)\n")
    for name in ranks:
        for c in CUTS:
            print(f"{name}_top{c}: {rates[name][c]:.2f}")
    print(f"ours_vs_plain_top5_ratio: {rates['ours'][5] / max(rates['plain_bm25'][5], 1e-9):.2f}")
    print(f"ours_vs_statement_top5_ratio: {rates['ours'][5] / max(rates['statement_bm25'][5], 1e-9):.2f}")
    print(f"ours_search_ms_mean: {1000 * sum(search_s) / n:.1f}")
    db.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
