"""Page retrieval on FinanceBench: is an evidence page among the top 1/3/5/10 search results for each question?

Every question of ../shared/data/financebench/questions.jsonl is searched within its own filing (ingested with the
pdf_reader's real ingest), and scored separately on the two parts of the fixed split (benchmarks/financebench_split.py):
the tuning part (in-sample: rules may have been adjusted while looking at it) and the report part (held out: never
read to write a rule). Three rankers, measured in the same run on the same pages:
  plain_bm25      one FTS5 query, every word of the question OR-ed, bm25() order
  statement_bm25  plain_bm25 + a boost for pages whose title names the statement the question names
  ours            mcp_servers.pdf_reader.search.search_pages
Evidence pages in questions.jsonl are 0-based (`page_index0`); Page.number is 1-based, so gold = page_index0 + 1.

Run: python benchmarks/bench_pdf_retrieval.py [--db sqlite:////tmp/x.db] [--part tuning|report|both] [-v] [--cv] [--fit]
     [--extra DIR]
(-v prints one line per TUNING question only: the report part is scored, never inspected question by question.)
--extra DIR  more tuning data (benchmarks/financebench_extra.py makes it from the upstream repository): scored as
      the `extra` part, and with --cv/--fit/--ablate fitted and cross-validated together with the tuning part.
--cv  leave-one-company-out cross-validation on the tuning part (benchmarks/rank_fit.py): the feature weights are
      fitted on five companies and the sixth is ranked with them, in turn; prints cv_top1/3/5/10, per company and
      per kind of question (cv_tuning_analyst_*: the kinds other than FinanceBench's easy template questions), and
      the same questions analysed without the hand-written finance vocabulary (cv_tuning_novocab_*: questions of a
      kind it has no concept for). The fits learn from both analyses (rank_fit.with_dropout).
--fit the weights fitted on the whole tuning part (what mcp_servers/pdf_reader/rank_weights.py holds, in-sample).
--ablate  the CV once more without each feature in turn (a feature stays only if the CV drops without it).
Neither ever looks at the report part.
Targets on the report part: ours_report_top5 >= 0.90, ours_report_top1 >= 0.70, ours_report_ms <= 50.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text

from benchmarks import rank_fit
from benchmarks.financebench_split import DATA, PARTS, Question, load_extra, load_questions
from mcp_servers.pdf_reader import page_index
from mcp_servers.pdf_reader.features import FEATURES, page_features
from mcp_servers.pdf_reader.ingest import ingest_pdf
from mcp_servers.pdf_reader.query import analyse
from mcp_servers.pdf_reader.search import _load, search_pages
from mcp_servers.pdf_reader.sections import describe_pages
from storage.db import Database

CUTS = (1, 3, 5, 10)
FOLDS = 5
"""With more tuning companies than this (--extra), the CV holds companies out in FOLDS groups, not one by one."""
STATEMENT_NAMES = {
    "income": r"income statements?|statements? of (?:income|operations)",
    "balance": r"balance sheets?",
    "cash_flow": r"cash flows? statements?|statements? of cash flows?",
}
ENGLISH_STOPWORDS = frozenset(
    "a an and are as at be by did do does for from has have how in is it its of on or that the their this to was "
    "were what when which who why will with".split()
)
RANKERS = ("plain_bm25", "statement_bm25", "ours")


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


def rank_of(results: list[int], gold: frozenset[int]) -> int | None:
    return next((i + 1 for i, n in enumerate(results) if n in gold), None)


def timed(fn: Callable[[], list[int]]) -> tuple[list[int], float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def company(doc: str) -> str:
    """'JOHNSON_JOHNSON_2022_10K' → 'JOHNSON_JOHNSON': the unit the split and the cross-validation hold out."""
    return doc.split("_20")[0].upper()  # upstream spells one company two ways ("Pfizer_2023Q2_10Q", "PFIZER_2021_10K")


def cross_validate(
    db: Database, questions: list[Question], doc_ids: dict[str, str], fit_all: bool, ablate: bool
) -> list[str]:
    """Leave-one-company-out on the tuning part (and, with fit_all, the weights fitted on all of it; with ablate,
    the CV again without each feature in turn)."""
    samples, dropped = [], []
    for q in questions:
        index = page_index.cached((db.url, doc_ids[q.doc]), lambda q=q: _load(db, doc_ids[q.doc]))
        for out, vocabulary in ((samples, True), (dropped, False)):
            pages = [(p.number, p.values) for p in page_features(analyse(q.text, vocabulary), [index])]
            out.append(rank_fit.sample(company(q.doc), pages, q.gold, q.kind))
    folds = FOLDS if len(per_company := {s.company for s in samples}) > FOLDS else 0
    ranks, per = rank_fit.leave_one_company_out(samples, folds=folds, also=dropped)
    # The same questions analysed without the hand-written vocabulary, ranked by the same held-out fits: how the
    # ranker does on a kind of question the vocabulary has no concept for (the case of most unseen filings).
    bare, _ = rank_fit.leave_one_company_out(dropped, folds=folds, also=samples)
    rates = rank_fit.rates(ranks)
    held = f"{folds} groups of companies" if folds else "one company at a time"
    size = f"{len(samples)} questions, {len(per_company)} companies"
    print(f"\nleave-companies-out CV on the tuning side ({size}, {held})")
    print(f"{'held out':16}" + "".join(f"{'top-' + str(c):>8}" for c in CUTS))
    for name, found in per.items():
        print(f"{name:16}" + "".join(f"{v:>8.0%}" for v in rank_fit.rates(found).values()))
    print(f"{'all (pooled)':16}" + "".join(f"{v:>8.0%}" for v in rates.values()))
    lines = [f"cv_tuning_top{c}: {v:.2f}" for c, v in rates.items()]
    # By kind of question: the template questions (metrics-generated) are easy and many, so the pooled figure
    # flatters what an analyst's own questions get.
    by_kind: dict[str, list[int | None]] = {}
    for name, found in per.items():
        for s, r in zip([s for s in samples if s.company == name], found, strict=True):
            by_kind.setdefault(s.kind or "?", []).append(r)
    analyst = [r for kind, found in by_kind.items() if kind != "metrics-generated" for r in found]
    for kind, found in sorted(by_kind.items()) + [("not metrics-generated", analyst)]:
        print(f"{kind + f' ({len(found)})':28}" + "".join(f"{v:>8.0%}" for v in rank_fit.rates(found).values()))
    lines += [f"cv_tuning_analyst_top{c}: {v:.2f}" for c, v in rank_fit.rates(analyst).items()]
    lines.append(f"cv_tuning_objective: {rank_fit.objective(ranks):.3f}")
    ordered = [s for name in sorted(per) for s in samples if s.company == name]  # the order of `bare`
    bare_analyst = [r for s, r in zip(ordered, bare, strict=True) if s.kind != "metrics-generated"]
    lines += [f"cv_tuning_novocab_top{c}: {v:.2f}" for c, v in rank_fit.rates(bare).items()]
    lines += [f"cv_tuning_novocab_analyst_top{c}: {v:.2f}" for c, v in rank_fit.rates(bare_analyst).items()]
    lines.append(f"cv_tuning_novocab_objective: {rank_fit.objective(bare):.3f}")
    if ablate:
        print(f"\nCV without one feature{'':14}" + "".join(f"{'top-' + str(c):>8}" for c in CUTS) + "  objective")
        for feature in FEATURES:
            without, _ = rank_fit.leave_one_company_out(samples, frozenset({feature}), folds, dropped)
            print(f"  without {feature:27}" + "".join(f"{v:>8.0%}" for v in rank_fit.rates(without).values())
                  + f"{rank_fit.objective(without):>11.3f}")  # fmt: skip
    if fit_all:
        weights = rank_fit.bagged(rank_fit.with_dropout(samples, dropped))
        fitted = [rank_fit.rank(s, rank_fit.vector(weights)) for s in samples]
        print("\nweights fitted on the whole tuning part (in-sample):")
        print("WEIGHTS = {" + ", ".join(f'"{k}": {v:g}' for k, v in weights.items()) + "}")
        lines += [f"fit_tuning_top{c}: {v:.2f}" for c, v in rank_fit.rates(fitted).items()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL to ingest into / reuse (default: a temporary SQLite file)")
    parser.add_argument("--part", choices=(*PARTS, "both"), default="both", help="which part(s) to score")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per tuning-part question")
    parser.add_argument("--cv", action="store_true", help="leave-one-company-out cross-validation (tuning part)")
    parser.add_argument("--fit", action="store_true", help="print the weights fitted on the whole tuning part")
    parser.add_argument("--ablate", action="store_true", help="the CV again without each feature in turn")
    parser.add_argument("--extra", type=Path, help="folder of extra tuning data (benchmarks/financebench_extra.py)")
    args = parser.parse_args()
    if not (DATA / "questions.jsonl").exists():
        sys.exit(f"FinanceBench data not found at {DATA}")
    tmp = tempfile.TemporaryDirectory()
    db = Database(args.db or f"sqlite:///{tmp.name}/bench.db")
    parts = tuple(PARTS) if args.part == "both" else (args.part,)
    if args.cv or args.fit or args.ablate:
        parts = ("tuning",)
    questions = [q for q in load_questions() if q.part in parts]
    folder = {q.doc: DATA for q in questions}
    if args.extra:
        extra = load_extra(args.extra)
        questions += extra
        folder |= {q.doc: args.extra for q in extra}
        parts = (*parts, "extra")
    started = time.perf_counter()
    doc_ids = {name: ingest_pdf(db, folder[name] / "pdfs" / f"{name}.pdf").document.id for name in sorted(folder)}
    ingest_s = time.perf_counter() - started
    if args.cv or args.fit or args.ablate:
        print("\n".join(cross_validate(db, questions, doc_ids, args.fit, args.ablate)))
        db.close()
        tmp.cleanup()
        return
    statements: dict[str, dict[int, str | None]] = {}
    with db.engine.connect() as conn:
        for name, doc_id in doc_ids.items():
            rows = conn.execute(
                text("SELECT number, text FROM pages WHERE document_id = :d ORDER BY number"), {"d": doc_id}
            )
            statements[name] = {info.number: info.statement for info in describe_pages(rows)}
    # The first search of a document builds its in-memory index (then cached): measured apart, before the timed runs.
    started = time.perf_counter()
    for doc_id in doc_ids.values():
        search_pages(db, "revenue", [doc_id], k=1)
    build_ms = 1000 * (time.perf_counter() - started) / len(doc_ids)
    ranks: dict[tuple[str, str], list[int | None]] = {(p, r): [] for p in parts for r in RANKERS}
    seconds: dict[tuple[str, str], list[float]] = {(p, r): [] for p in parts for r in RANKERS}
    for q in questions:
        doc_id = doc_ids[q.doc]
        # With --extra there are more filings than page_index.CACHE_DOCS: an evicted index is rebuilt untimed here,
        # so ms/question stays the search's own time (the build is measured above).
        page_index.cached((db.url, doc_id), lambda: _load(db, doc_id))
        results = {
            "plain_bm25": timed(lambda: plain_bm25(db, q.text, doc_id, 10)),
            "statement_bm25": timed(lambda: statement_bm25(db, q.text, doc_id, 10, statements[q.doc])),
            "ours": timed(lambda: [h.number for h in search_pages(db, q.text, [doc_id], k=10)]),
        }
        for ranker, (pages, took) in results.items():
            ranks[(q.part, ranker)].append(rank_of(pages, q.gold))
            seconds[(q.part, ranker)].append(took)
        if args.verbose and q.part != "report":
            concepts = ", ".join(c.name for c in analyse(q.text).concepts)
            print(
                f"{q.doc:23} gold={sorted(q.gold)} ours={ranks[(q.part, 'ours')][-1]} "
                f"plain={ranks[(q.part, 'plain_bm25')][-1]} top={results['ours'][0][:5]} [{concepts}] {q.text[:70]}"
            )
    lines: list[str] = []
    for part in parts:
        n = len(ranks[(part, "ours")])
        docs = len({q.doc for q in questions if q.part == part})
        label = {"tuning": "in-sample", "report": "held out", "extra": "more tuning data"}[part]
        print(f"\n{part} part ({label}): {n} questions, {docs} filings")
        print(f"{'ranker':16}" + "".join(f"{'top-' + str(c):>8}" for c in CUTS) + f"{'ms/q':>8}")
        for ranker in RANKERS:
            found = ranks[(part, ranker)]
            rates = {c: sum(1 for r in found if r is not None and r <= c) / max(n, 1) for c in CUTS}
            ms = 1000 * sum(seconds[(part, ranker)]) / max(n, 1)
            print(f"{ranker:16}" + "".join(f"{rates[c]:>8.0%}" for c in CUTS) + f"{ms:>8.1f}")
            lines += [f"{ranker}_{part}_top{c}: {rates[c]:.2f}" for c in CUTS] + [f"{ranker}_{part}_ms: {ms:.1f}"]
        ours5 = sum(1 for r in ranks[(part, "ours")] if r is not None and r <= 5)
        for base in ("plain_bm25", "statement_bm25"):
            other5 = sum(1 for r in ranks[(part, base)] if r is not None and r <= 5)
            lines.append(f"ours_vs_{base}_{part}_top5_ratio: {ours5 / max(other5, 1e-9):.2f}")
    print(f"(ingest {ingest_s:.1f} s; first search of a document, index build included: {build_ms:.0f} ms)\n")
    lines.append(f"ours_first_search_ms_per_document: {build_ms:.0f}")
    print("\n".join(lines))
    db.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
