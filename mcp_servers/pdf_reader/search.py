"""Page search over ingested documents: FTS5 BM25 candidates, re-ranked with what a finance question means.

1. The question becomes weighted terms: its own content words (and adjacent pairs as phrases), plus the report
   wording of the finance concepts it mentions (mcp_servers/pdf_reader/finance_vocab.py: "capital intensity" brings
   "purchases of property plant and equipment", "total assets", ...).
2. Each term is one FTS5 query (BM25 per term); its global IDF is swapped for the IDF within the searched documents,
   so words on every page of a report (the company's name, its fiscal year) stop counting.
3. Pages are re-ranked with features of where they sit (mcp_servers/pdf_reader/sections.py): the financial statement a
   page shows against the statements the question asks about, Item / note headings against the concept's
   sections, years and numbers of the question found on the page, how tabular the page is against whether the
   question wants figures or prose; contents pages are pushed down. Neighbouring pages can be pulled in.

Page numbers are 1-based, as in Page.number. Pure function of the database (page descriptions are cached per
document id, which is a content hash).
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, text

from mcp_servers.pdf_reader.finance_vocab import Concept, concepts_in
from mcp_servers.pdf_reader.sections import PageInfo, describe_pages

FTS_TABLE = "pages_fts"
_STOPWORD_TEXT = """a about above after again against all am an and any are as at be been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    how i if in into is it its itself just me more most my no nor not now of off on once only or other our out over
    own same she should so some such than that the their them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
"""English function words (the usual list of NLTK and others): never searched for. Question boilerplate is
not listed: words on many pages of the searched documents weigh little through the local IDF."""
QUERY_WEIGHT, PAIR_WEIGHT, EXPANSION_WEIGHT, YEAR_WEIGHT = 1.0, 0.5, 0.8, 0.3
STATEMENT_BOOST, SECTION_BOOST, YEAR_BOOST, NUMBER_BOOST, TABLE_BOOST = 0.55, 0.3, 0.1, 0.1, 0.15
CONTENTS_FACTOR, NEIGHBOUR_FACTOR = 0.3, 0.5
TABLE_SHARE = 0.35
"""Numeric share at which a page counts as fully tabular."""
_CACHE_DOCS = 64

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*|&", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?:fy|cy)?'?((?:19|20)\d\d)(?!\d)", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])\$?(\d[\d,]*(?:\.\d+)?)(?![\w])")


@dataclass(frozen=True)
class PageHit:
    """One ranked page: its document, 1-based page number, score, a snippet around the best match, and why."""

    document_id: str
    number: int
    score: float
    snippet: str
    reason: str


@dataclass
class _Term:
    expression: str
    """An FTS5 query: one quoted word or phrase."""
    weight: float
    label: str
    kind: str = "word"
    """'word', 'pair', 'expansion' or 'year'."""


@dataclass
class _Query:
    terms: list[_Term]
    concepts: list[Concept]
    statements: dict[str, float]
    sections: list[re.Pattern[str]]
    years: list[str]
    numbers: list[str]
    quantitative: bool
    words: list[str] = field(default_factory=list)


def _fts_phrase(words: Sequence[str]) -> str:
    return '"' + " ".join(words) + '"'


def _words(text_: str) -> list[str]:
    return [w.lower() for w in _TOKEN.findall(text_) if w != "&"]


def analyse(question: str) -> _Query:
    """Weighted FTS terms, wanted statements and sections, years and numbers of a question."""
    concepts = concepts_in(question)
    years = sorted({m.group(1) for m in _YEAR.finditer(question)})
    # Kept as written ("1,577"): the FTS phrase of that text is what the page holds.
    numbers = sorted({n for n in _NUMBER.findall(question) if n.replace(",", "") not in years and len(n) > 1})
    terms: dict[str, _Term] = {}

    def add(words: Sequence[str], weight: float, kind: str) -> None:
        words = [w for w in words if w]
        if not words:
            return
        expression = _fts_phrase(words)
        if expression not in terms or terms[expression].weight < weight:
            terms[expression] = _Term(expression, weight, " ".join(words), kind)

    raw = _words(_YEAR.sub(lambda m: " " + m.group(1) + " ", question))
    content = [w if w not in STOPWORDS and len(w) > 1 and not (w.isdigit() and w in years) else "" for w in raw]
    for word in content:
        add([word], QUERY_WEIGHT, "word")
    for left, right in itertools.pairwise(content):
        if left and right:
            add([left, right], PAIR_WEIGHT, "pair")
    for year in years:
        add([year], YEAR_WEIGHT, "year")
    statements: dict[str, float] = {}
    sections: list[re.Pattern[str]] = []
    for concept in concepts:
        for phrase, weight in concept.terms:
            add(_words(phrase), EXPANSION_WEIGHT * weight, "expansion")
        for kind, weight in concept.statements.items():
            statements[kind] = max(statements.get(kind, 0.0), weight)
        sections.extend(re.compile(pattern, re.IGNORECASE | re.MULTILINE) for pattern in concept.sections)
    quantitative = bool(statements) or any(c.quantitative for c in concepts) or bool(numbers)
    if concepts and not any(c.quantitative for c in concepts) and not statements:
        quantitative = False
    return _Query(list(terms.values()), concepts, statements, sections, years, numbers, quantitative, raw)


# --- page descriptions, cached per document id (a content hash: a document's pages never change) -----------------

_cache: OrderedDict[tuple[str, str], dict[int, PageInfo]] = OrderedDict()
_cache_lock = threading.Lock()


def _page_infos(conn: Any, url: str, document_id: str) -> dict[int, PageInfo]:
    key = (url, document_id)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    rows = conn.execute(
        text("SELECT number, text FROM pages WHERE document_id = :d ORDER BY number"), {"d": document_id}
    ).all()
    infos = {info.number: info for info in describe_pages((row[0], row[1] or "") for row in rows)}
    with _cache_lock:
        _cache[key] = infos
        while len(_cache) > _CACHE_DOCS:
            _cache.popitem(last=False)
    return infos


# --- lexical scoring ------------------------------------------------------------------------------------------------


def _idf(n_docs: int, df: int) -> float:
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def _fts5_idf(n_docs: int, df: int) -> float:
    # FTS5's own bm25() IDF, including its floor for terms in more than half of the rows.
    return max(math.log((n_docs - df + 0.5) / (df + 0.5)), 1e-6)


def _lexical_sqlite(
    conn: Any, query: _Query, doc_ids: list[str] | None
) -> tuple[dict[int, tuple[str, int]], dict[int, dict[str, float]]]:
    """Per page row id: (document, number) and each matching term's BM25 with the local IDF."""
    # One FTS query per term over the whole index, filtered here: joining pages inside the MATCH query makes SQLite
    # drive the join from the document's pages and re-run the match per row (10x slower).
    rows_sql = text(
        "SELECT id, document_id, number FROM pages" + ("" if doc_ids is None else " WHERE document_id IN :ids")
    )
    params: dict[str, Any] = {}
    if doc_ids is not None:
        rows_sql, params = rows_sql.bindparams(bindparam("ids", expanding=True)), {"ids": doc_ids}
    where_page_all = {row_id: (document_id, number) for row_id, document_id, number in conn.execute(rows_sql, params)}
    n_all = (
        conn.execute(text("SELECT count(*) FROM pages")).scalar_one() if doc_ids is not None else len(where_page_all)
    )
    match_sql = text(f"SELECT rowid, -bm25({FTS_TABLE}) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q")
    where_page: dict[int, tuple[str, int]] = {}
    scores: dict[int, dict[str, float]] = {}
    for term in query.terms:
        rows = conn.execute(match_sql, {"q": term.expression}).all()
        local = [(row_id, score) for row_id, score in rows if row_id in where_page_all]
        if not local:
            continue
        rescale = _idf(len(where_page_all), len(local)) / _fts5_idf(n_all, len(rows))
        for row_id, score in local:
            where_page[row_id] = where_page_all[row_id]
            scores.setdefault(row_id, {})[term.expression] = score * rescale
    return where_page, scores


def _lexical_postgres(
    conn: Any, query: _Query, doc_ids: list[str] | None
) -> tuple[dict[int, tuple[str, int]], dict[int, dict[str, float]]]:
    """The same on Postgres: ts_rank over the pages' tsvector (the GIN expression index), times the local IDF."""
    where = "" if doc_ids is None else "AND p.document_id IN :ids"
    sql = text(
        "SELECT p.id, p.document_id, p.number, ts_rank(to_tsvector('english', p.text), q) FROM pages p, "
        f"phraseto_tsquery('english', :q) q WHERE to_tsvector('english', p.text) @@ q {where}"
    )
    local_sql = text(f"SELECT count(*) FROM pages p {'WHERE p.document_id IN :ids' if doc_ids is not None else ''}")
    if doc_ids is not None:
        sql = sql.bindparams(bindparam("ids", expanding=True))
        local_sql = local_sql.bindparams(bindparam("ids", expanding=True))
    params: dict[str, Any] = {} if doc_ids is None else {"ids": doc_ids}
    n_local = conn.execute(local_sql, params).scalar_one()
    where_page: dict[int, tuple[str, int]] = {}
    scores: dict[int, dict[str, float]] = {}
    for term in query.terms:
        rows = conn.execute(sql, {**params, "q": term.expression.strip('"')}).all()
        for row_id, document_id, number, score in rows:
            where_page[row_id] = (document_id, number)
            scores.setdefault(row_id, {})[term.expression] = float(score) * 10 * _idf(n_local, len(rows))
    return where_page, scores


# --- ranking ----------------------------------------------------------------------------------------------------------


def _rank(query: _Query, info: PageInfo | None, term_scores: dict[str, float], lexical: float) -> tuple[float, str]:
    weights = {t.expression: t for t in query.terms}
    score = lexical
    reasons: list[str] = []
    best = sorted(term_scores, key=lambda e: -term_scores[e] * weights[e].weight)[:4]
    reasons.append("terms: " + ", ".join(weights[e].label for e in best))
    if info is not None:
        if info.statement and info.statement in query.statements:
            score += STATEMENT_BOOST * query.statements[info.statement]
            reasons.append(f"{info.statement.replace('_', ' ')} statement")
        if query.sections and any(p.search(info.context) for p in query.sections):
            score += SECTION_BOOST
            reasons.append("section: " + info.context.split(" | ")[0][:60])
        tabular = min(1.0, info.numeric / TABLE_SHARE)
        score += TABLE_BOOST * (tabular if query.quantitative else 1.0 - tabular)
        if info.contents:
            score *= CONTENTS_FACTOR
            reasons.append("contents page")
    if query.years:
        found = sum(1 for y in query.years if _fts_phrase([y]) in term_scores)
        score += YEAR_BOOST * found / len(query.years)
    if query.numbers:
        found = sum(1 for n in query.numbers if _fts_phrase([n.lower()]) in term_scores)
        if found:
            score += NUMBER_BOOST * min(found, 2)
            reasons.append(f"{found} number(s) of the question")
    return score, "; ".join(reasons)


def _snippet(page_text: str, words: set[str], width: int = 300) -> str:
    flat = re.sub(r"\s+", " ", page_text).strip()
    if len(flat) <= width:
        return flat
    best, best_at = -1, 0
    for start in range(0, max(1, len(flat) - width), 60):
        window = flat[start : start + width].lower()
        hits = sum(1 for w in words if w in window)
        if hits > best:
            best, best_at = hits, start
    return ("…" if best_at else "") + flat[best_at : best_at + width] + "…"


def search_pages(
    db: Any, query: str, doc_ids: list[str] | None = None, k: int = 8, neighbours: int = 0
) -> list[PageHit]:
    """Rank the pages of `doc_ids` (None: every document) for `query`; best first, at most `k` (+ neighbours)."""
    parsed = analyse(query)
    if not parsed.terms or k <= 0 or doc_ids == []:
        return []
    with db.engine.connect() as conn:
        lexical = _lexical_postgres if conn.dialect.name == "postgresql" else _lexical_sqlite
        where_page, scores = lexical(conn, parsed, doc_ids)
        if not where_page:
            return []
        weights = {t.expression: t.weight for t in parsed.terms}
        raw = {row: sum(weights[e] * s for e, s in terms.items()) for row, terms in scores.items()}
        top = max(raw.values()) or 1.0
        infos = {doc: _page_infos(conn, db.url, doc) for doc in {d for d, _ in where_page.values()}}
        ranked: list[tuple[float, str, str, int]] = []
        for row, (document_id, number) in where_page.items():
            score, reason = _rank(parsed, infos[document_id].get(number), scores[row], raw[row] / top)
            ranked.append((score, reason, document_id, number))
        ranked.sort(key=lambda r: (-r[0], r[2], r[3]))
        chosen = ranked[:k]
        picked = {(d, n) for _, _, d, n in chosen}
        extra: list[tuple[float, str, str, int]] = []
        for score, _, document_id, number in chosen:
            for offset in range(1, neighbours + 1):
                for near in (number - offset, number + offset):
                    if (document_id, near) not in picked and near in infos[document_id]:
                        picked.add((document_id, near))
                        extra.append((score * NEIGHBOUR_FACTOR, f"neighbour of page {number}", document_id, near))
        result = sorted(chosen + extra, key=lambda r: (-r[0], r[2], r[3]))
        texts: dict[tuple[str, int], str] = {}
        for document_id in {d for _, _, d, _ in result}:
            numbers = [n for _, _, d, n in result if d == document_id]
            sql = text("SELECT number, text FROM pages WHERE document_id = :d AND number IN :n").bindparams(
                bindparam("n", expanding=True)
            )
            for number, page_text in conn.execute(sql, {"d": document_id, "n": numbers}):
                texts[(document_id, number)] = page_text or ""
    words = {t.label for t in parsed.terms if t.kind in ("word", "expansion")}
    return [PageHit(d, n, round(s, 4), _snippet(texts.get((d, n), ""), words), reason) for s, reason, d, n in result]
