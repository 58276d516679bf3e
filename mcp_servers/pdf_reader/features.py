"""What the page search knows about one page for one question: a row of named features, each scaled to 0..1.

The ranker's score is their weighted sum (rank_weights.WEIGHTS), so every feature's pull is one number that
benchmarks/bench_pdf_retrieval.py can fit (`--fit`) and check by leave-one-company-out cross-validation (`--cv`).
Lexical features are BM25 sums per kind of query term (page_index.bm25), divided by the best page's value for the
question; structural features come from what the page is (sections.PageInfo) and from its fields — the title field
(top lines, Item and note headings) and the row-label field (the labels of its table rows).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mcp_servers.pdf_reader import page_index, semantic, word_weights
from mcp_servers.pdf_reader.page_index import DocIndex, tokenize
from mcp_servers.pdf_reader.query import Query

LEXICAL = {"word": "words", "pair": "pairs", "expansion": "concepts", "line_item": "line_items", "year": "years"}
"""Query-term kind → the lexical feature its BM25 adds to."""
FEATURES: tuple[str, ...] = (
    *LEXICAL.values(), "numbers", "coverage", "title", "rows", "row_item", "statement", "any_statement", "section",
    "tabular", "prose", "year_header", "quarter", "contents", "semantic",
)
KEYNESS = True
"""Question words weigh by how much more the searched filings use them than English does (word_weights.py)."""
TABLE_SHARE = 0.35
"""Numeric share at which a page counts as fully tabular."""
_QUARTER_HEADER = re.compile(r"\b(?:three|six|nine|twelve|13|26|39) (?:months|weeks) ended\b|\bquarter\b", re.I)


@dataclass
class PageFeatures:
    """One candidate page: its feature values and what matched (for the hit's reason and snippet)."""

    document_id: str
    number: int
    values: dict[str, float] = field(default_factory=dict)
    terms: dict[str, float] = field(default_factory=dict)
    """Query-term expression → its weighted BM25 on this page."""
    row: str | None = None
    section: str | None = None


def _row_match(index: DocIndex, number: int, phrases: list[tuple[str, ...]]) -> str | None:
    """A line-item phrase of the question that labels a table row of the page: the whole label, or its start when
    the phrase has two words or more (a one-word phrase such as "revenue" would otherwise label every row that
    starts with it — "Revenue from leases", "Revenue recognition" — and the feature would fire on most pages)."""
    for label in index.rows.get(number, ()):
        for phrase in phrases:
            if label == phrase or (len(phrase) >= 2 and label[: len(phrase)] == phrase) or (
                len(label) >= 2 and phrase[: len(label)] == label
            ):
                return " ".join(phrase)
    return None


def _share(words: dict[str, float], present: frozenset[str] | set[str]) -> float:
    total = sum(words.values())
    return sum(w for word, w in words.items() if word in present) / total if total else 0.0


def page_features(query: Query, indexes: Sequence[DocIndex]) -> list[PageFeatures]:
    """Every page that matches at least one query term, with its features (lexical ones scaled by the best page)."""
    by_id = {index.document_id: index for index in indexes}
    pages: dict[tuple[str, int], PageFeatures] = {}
    general = {w: word_weights.weight(w, indexes) if KEYNESS else 1.0 for w in query.content}
    for term in query.terms:
        kind = "numbers" if term.kind == "word" and term.label[0].isdigit() else LEXICAL[term.kind]
        weight = term.weight
        if term.kind in ("word", "pair") and kind != "numbers":
            weight *= min(general.get(w, 1.0) for w in term.label.split())
        for (doc, number), score in page_index.bm25(indexes, tokenize(term.label)).items():
            page = pages.get((doc, number)) or pages.setdefault((doc, number), PageFeatures(doc, number))
            page.values[kind] = page.values.get(kind, 0.0) + weight * score
            page.terms[term.expression] = weight * score
    for kind in (*LEXICAL.values(), "numbers"):
        top = max((p.values.get(kind, 0.0) for p in pages.values()), default=0.0)
        for page in pages.values():
            page.values[kind] = page.values.get(kind, 0.0) / top if top else 0.0
    content = {w: v * general[w] for w, v in query.content.items() if not w[0].isdigit()}
    # Word tokens as the index spells them ("pp&e" → "pp", "e"): a content word counts when all its parts are there.
    parts = {w: tuple(tokenize(w)) for w in content}
    row_phrases = [tuple(tokenize(t.label)) for t in query.terms if t.kind in ("line_item", "expansion")]
    _semantic(query, content, pages, by_id)
    for (doc, number), page in pages.items():
        index, values = by_id[doc], page.values
        info = index.infos.get(number)
        words = index.words.get(number, frozenset())
        values["coverage"] = _share(content, {w for w in content if set(parts[w]) <= words})
        values["title"] = _share(content, {w for w in content if set(parts[w]) <= index.heads.get(number, set())})
        values["rows"] = _share(content, {w for w in content if set(parts[w]) <= index.row_words.get(number, set())})
        page.row = _row_match(index, number, row_phrases) if row_phrases else None
        values["row_item"] = 1.0 if page.row else 0.0
        if query.years:
            top = index.header_words.get(number, frozenset())
            values["year_header"] = sum(1 for y in query.years if y in top) / len(query.years)
        if query.quarters and _QUARTER_HEADER.search(index.texts.get(number, "")[:1500]):
            values["quarter"] = 1.0
        if info is None:
            continue
        if info.statement:
            values["statement"] = query.statements.get(info.statement, 0.0)
            values["any_statement"] = 1.0 if query.quantitative else 0.0
        if query.sections and any(p.search(info.context) for p in query.sections):
            values["section"] = 1.0
            page.section = info.context.split(" | ")[0][:60]
        tabular = min(1.0, info.numeric / TABLE_SHARE)
        values["tabular" if query.quantitative else "prose"] = tabular if query.quantitative else 1.0 - tabular
        values["contents"] = 1.0 if info.contents else 0.0
    return list(pages.values())


def _semantic(
    query: Query, content: dict[str, float], pages: dict[tuple[str, int], PageFeatures], by_id: dict[str, DocIndex]
) -> None:
    """Cosine of the question's and each page's embedding, scaled 0..1 between the worst and the best candidate.
    (The same for the title field alone did not change the cross-validated objective: not kept.)"""
    question = semantic.question_vector(content)
    if question is None or not pages:
        return
    keys = list(pages)
    cosines = np.array([float(v @ question) if (v := by_id[d].vectors.get(n)) is not None else 0.0 for d, n in keys])
    low, high = float(cosines.min()), float(cosines.max())
    for key, value in zip(keys, cosines, strict=True):
        pages[key].values["semantic"] = (value - low) / (high - low) if high > low else 0.0


def score(values: dict[str, float], weights: dict[str, float]) -> float:
    """The weighted sum of a page's features."""
    return sum(weights.get(name, 0.0) * value for name, value in values.items())
