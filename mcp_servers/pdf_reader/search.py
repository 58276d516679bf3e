"""Page search over ingested documents: BM25 over words and phrases, re-ranked with what a finance question means.

1. The question becomes weighted terms (query.py): its content words and adjacent pairs, the report wording of the
   finance concepts it mentions, the labels of the US-GAAP line items it names, years, quarters and numbers. Each
   word also weighs by how much more the searched filings use it than general English does (word_weights.py), so
   a question's own phrasing ("details shown", "clearly") stops matching pages by chance.
2. Each term is scored with BM25 over the pages of the searched documents (page_index.py, in memory, built once per
   document), the IDF taken within those documents, so words on every page of a report stop counting.
3. Every page that matches becomes a row of named features (features.py): BM25 per kind of term, how much of the
   question's wording its title field (top lines, Item and note headings) and its table-row labels hold, the
   statement it shows against the statements the question needs (a ratio needs each of its inputs' statements),
   a row labelled with a line item the question names, Item / note headings against the concept's sections, the
   question's years in its column headers, quarter columns, how tabular it is against whether the question wants
   figures or prose, contents pages. The score is their weighted sum (rank_weights.py: weights fitted on the
   tuning part of the FinanceBench split, checked by leave-one-company-out cross-validation). Neighbouring pages
   can be pulled in.

With no document list (or more than page_index.CACHE_DOCS documents), the full-text index (FTS5 on SQLite,
tsvector on Postgres) first picks the documents whose pages match the question's words best.
Page numbers are 1-based, as in Page.number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text

from mcp_servers.pdf_reader import page_index
from mcp_servers.pdf_reader.features import PageFeatures, page_features, score
from mcp_servers.pdf_reader.page_index import DocIndex
from mcp_servers.pdf_reader.query import Query, analyse
from mcp_servers.pdf_reader.rank_weights import WEIGHTS
from storage import page_indexes

NEIGHBOUR_FACTOR = 0.5
PRESELECT_DOCS = page_index.CACHE_DOCS
"""Most documents one search ranks in memory; with more, the full-text index picks which."""
REASONS = {
    "statement": "statement", "row_item": "row", "section": "section", "numbers": "number(s) of the question",
    "contents": "contents page", "title": "title", "quarter": "quarter columns", "year_header": "year columns",
}
"""Structural features named in a hit's reason when they counted for the page."""


@dataclass(frozen=True)
class PageHit:
    """One ranked page: its document, 1-based page number, score, a snippet around the best match, and why."""

    document_id: str
    number: int
    score: float
    snippet: str
    reason: str


def build_index(db: Any, document_id: str) -> DocIndex:
    """Build a document's index from its stored pages and store it for every process (ingest calls this)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT number, text FROM pages WHERE document_id = :d ORDER BY number"), {"d": document_id}
        ).all()
    index = page_index.build(document_id, ((row[0], row[1] or "") for row in rows))
    page_indexes.save(db, document_id, page_index.FORMAT, page_index.to_bytes(index))
    return index


def _load(db: Any, document_id: str) -> DocIndex:
    """The stored index (built at ingest), else one built now (an older document, another format) and stored."""
    data = page_indexes.load(db, document_id, page_index.FORMAT)
    index = page_index.from_bytes(document_id, data) if data is not None else None
    return index if index is not None else build_index(db, document_id)


def index_of(db: Any, document_id: str) -> DocIndex:
    """The in-memory index of a document's pages, loaded (or built) on first use and kept (page_index.cached)."""
    return page_index.cached((db.url, document_id), lambda: _load(db, document_id))


def _known_documents(db: Any, doc_ids: list[str] | None) -> list[str]:
    sql = text("SELECT id FROM documents" + ("" if doc_ids is None else " WHERE id IN :ids"))
    params: dict[str, Any] = {}
    if doc_ids is not None:
        sql, params = sql.bindparams(bindparam("ids", expanding=True)), {"ids": doc_ids}
    with db.engine.connect() as conn:
        return sorted(row[0] for row in conn.execute(sql, params))


def _preselect(db: Any, query: Query, doc_ids: list[str]) -> list[str]:
    """The PRESELECT_DOCS documents whose pages best match the question's content words (full-text index)."""
    words = [w for w in query.content if w.isalnum()][:24]
    if not words:
        return doc_ids[:PRESELECT_DOCS]
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            sql = text(
                "SELECT p.document_id, sum(ts_rank(to_tsvector('english', p.text), q)) s FROM pages p, "
                "to_tsquery('english', :q) q WHERE to_tsvector('english', p.text) @@ q AND p.document_id IN :ids "
                "GROUP BY p.document_id ORDER BY s DESC LIMIT :k"
            )
            match = " | ".join(words)
        else:
            sql = text(
                "SELECT p.document_id, sum(-bm25(pages_fts)) s FROM pages_fts JOIN pages p ON p.id = pages_fts.rowid "
                "WHERE pages_fts MATCH :q AND p.document_id IN :ids GROUP BY p.document_id ORDER BY s DESC LIMIT :k"
            )
            match = " OR ".join(f'"{w}"' for w in words)
        sql = sql.bindparams(bindparam("ids", expanding=True))
        rows = conn.execute(sql, {"q": match, "ids": doc_ids, "k": PRESELECT_DOCS}).all()
    return [row[0] for row in rows]


def _reason(page: PageFeatures, index: DocIndex, weights: dict[str, float], labels: dict[str, str]) -> str:
    """Why a page ranks where it does: its strongest terms, then each structural feature that counted (up or down)."""
    best = sorted(page.terms, key=lambda e: -page.terms[e])[:4]
    reasons = ["terms: " + ", ".join(labels[e] for e in best)]
    info = index.infos.get(page.number)
    for name, text in REASONS.items():
        if not page.values.get(name) or not weights.get(name):
            continue
        if name == "statement" and info is not None and info.statement:
            reasons.append(f"{info.statement.replace('_', ' ')} statement")
        elif name == "row_item":
            reasons.append(f"row: {page.row}")
        elif name == "section":
            reasons.append(f"section: {page.section}")
        else:
            reasons.append(text)
    return "; ".join(reasons)


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
    known = _known_documents(db, doc_ids)
    if len(known) > PRESELECT_DOCS:
        known = _preselect(db, parsed, known)
    indexes = [index_of(db, d) for d in known]
    if not indexes:
        return []
    by_index = {index.document_id: index for index in indexes}
    pages = page_features(parsed, indexes)
    if not pages:
        return []
    labels = {t.expression: t.label for t in parsed.terms}
    pages.sort(key=lambda p: (-score(p.values, WEIGHTS), p.document_id, p.number))
    chosen = [
        (score(p.values, WEIGHTS), _reason(p, by_index[p.document_id], WEIGHTS, labels), p.document_id, p.number)
        for p in pages[:k]
    ]
    picked = {(d, n) for _, _, d, n in chosen}
    extra: list[tuple[float, str, str, int]] = []
    for value, _, document_id, number in chosen:
        for offset in range(1, neighbours + 1):
            for near in (number - offset, number + offset):
                if (document_id, near) not in picked and near in by_index[document_id].texts:
                    picked.add((document_id, near))
                    extra.append((value * NEIGHBOUR_FACTOR, f"neighbour of page {number}", document_id, near))
    result = sorted(chosen + extra, key=lambda r: (-r[0], r[2], r[3]))
    words = {t.label for t in parsed.terms if t.kind in ("word", "expansion")}
    return [
        PageHit(d, n, round(s, 4), _snippet(by_index[d].texts.get(n, ""), words), reason) for s, reason, d, n in result
    ]
