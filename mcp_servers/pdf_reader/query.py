"""What a finance question asks for, as search terms: weighted words and phrases, statements, sections, periods.

1. The question's own content words (and adjacent pairs as phrases). A word found in no US-GAAP line-item label
   and no finance concept weighs less (GENERAL_WEIGHT): the boilerplate of questions ("relying on the details
   shown") is not a list of words to drop, it is whatever the finance vocabulary does not know.
2. Finance concepts it mentions (finance_vocab.py) bring the report wording, the statements and the sections.
3. US-GAAP line items it names (gaap_terms.py) bring the statement each one is on and its other labels.
4. Years ('FY2022' → 2022), quarters ('Q2' with its year) and numbers as written ('1,577') are terms of their own.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from mcp_servers.pdf_reader.finance_vocab import Concept, concepts_in
from mcp_servers.pdf_reader.gaap_terms import finance_words, items_named, stem, words_of

_STOPWORD_TEXT = """a about above after again against all am an and any are as at be been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    how i if in into is it its itself just me more most my no nor not now of off on once only or other our out over
    own same she should so some such than that the their them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
"""English function words (the usual list of NLTK and others): never searched for."""
QUERY_WEIGHT, GENERAL_WEIGHT, PAIR_WEIGHT, EXPANSION_WEIGHT, YEAR_WEIGHT = 1.0, 0.5, 0.5, 0.8, 0.3
LINE_ITEM_WEIGHT, LINE_ITEM_STATEMENT = 0.6, 0.6

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*|&", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?:fy|cy)?'?((?:19|20)\d\d)(?!\d)", re.IGNORECASE)
_QUARTER = re.compile(r"\b(?:q([1-4])|(first|second|third|fourth) quarter)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])\$?(\d[\d,]*(?:\.\d+)?)(?![\w])")
_ORDINAL = {"first": "1", "second": "2", "third": "3", "fourth": "4"}


@dataclass
class Term:
    """One FTS5 query (a quoted word or phrase) and its weight."""

    expression: str
    weight: float
    label: str
    kind: str = "word"
    """'word', 'pair', 'expansion', 'line_item' or 'year'."""


@dataclass
class Query:
    """A question analysed for search."""

    terms: list[Term]
    concepts: list[Concept]
    statements: dict[str, float]
    sections: list[re.Pattern[str]]
    years: list[str]
    numbers: list[str]
    quantitative: bool
    words: list[str] = field(default_factory=list)
    line_items: list[str] = field(default_factory=list)
    quarters: list[str] = field(default_factory=list)
    """'1'..'4' when the question names a quarter (a 10-Q or an earnings release)."""
    content: dict[str, float] = field(default_factory=dict)
    """The question's own content words and their weights (for coverage)."""


def fts_phrase(words: Sequence[str]) -> str:
    """An FTS5 phrase query for the words."""
    return '"' + " ".join(words) + '"'


def tokens(text: str) -> list[str]:
    """Lowercased word and number tokens ('1,577' and '3.5' kept whole)."""
    return [w.lower() for w in _TOKEN.findall(text) if w != "&"]


def analyse(question: str, vocabulary: bool = True) -> Query:
    """Weighted FTS terms, wanted statements and sections, years, quarters and numbers of a question.
    vocabulary=False: without the hand-written finance concepts (finance_vocab.py) — how a question of a kind they
    do not cover is analysed; the weight fit learns from both analyses (benchmarks/rank_fit.with_dropout)."""
    concepts = concepts_in(question) if vocabulary else []
    years = sorted({m.group(1) for m in _YEAR.finditer(question)})
    quarters = sorted({m.group(1) or _ORDINAL[m.group(2).lower()] for m in _QUARTER.finditer(question)})
    # Kept as written ("1,577"): the FTS phrase of that text is what the page holds.
    numbers = sorted({n for n in _NUMBER.findall(question) if n.replace(",", "") not in years and len(n) > 1})
    terms: dict[str, Term] = {}

    def add(words: Sequence[str], weight: float, kind: str) -> None:
        words = [w for w in words if w]
        if not words:
            return
        expression = fts_phrase(words)
        if expression not in terms or terms[expression].weight < weight:
            terms[expression] = Term(expression, weight, " ".join(words), kind)

    raw = tokens(_YEAR.sub(lambda m: " " + m.group(1) + " ", question))
    content = [w if w not in STOPWORDS and len(w) > 1 and not (w.isdigit() and w in years) else "" for w in raw]
    known = finance_words()
    triggers = {w for concept in concepts for w in _trigger_words(question, concept)}
    weights: dict[str, float] = {}
    for word in content:
        if word:
            finance = stem(word) in known or word in triggers or word[0].isdigit()
            weights[word] = QUERY_WEIGHT if finance else GENERAL_WEIGHT
            add([word], weights[word], "word")
    for left, right in itertools.pairwise(content):
        if left and right:
            add([left, right], PAIR_WEIGHT * min(weights[left], weights[right]), "pair")
    for year in years:
        add([year], YEAR_WEIGHT, "year")
    statements: dict[str, float] = {}
    sections: list[re.Pattern[str]] = []
    for concept in concepts:
        for phrase, weight in concept.terms:
            add(tokens(phrase), EXPANSION_WEIGHT * weight, "expansion")
        for kind, weight in concept.statements.items():
            statements[kind] = max(statements.get(kind, 0.0), weight)
        sections.extend(re.compile(pattern, re.IGNORECASE | re.MULTILINE) for pattern in concept.sections)
    items = items_named(words_of(question))
    for item in items:
        for phrase in (re.split(r"[(,]", item.name)[0], *item.phrases[:3]):
            add(words_of(phrase), LINE_ITEM_WEIGHT, "line_item")
        for kind in item.statements:
            share = LINE_ITEM_STATEMENT / len(item.statements)
            statements[kind] = max(statements.get(kind, 0.0), share)
    quantitative = bool(statements) or any(c.quantitative for c in concepts) or bool(numbers)
    if concepts and not any(c.quantitative for c in concepts) and not statements:
        quantitative = False
    return Query(
        list(terms.values()), concepts, statements, sections, years, numbers, quantitative, raw,
        [i.name for i in items], quarters, weights,
    )


def _trigger_words(question: str, concept: Concept) -> set[str]:
    """The question's words that triggered a concept ('capex', 'dpo'): finance words even if no label has them."""
    pattern = re.compile(rf"(?<![\w&])(?:{concept.triggers})(?![\w&])", re.IGNORECASE)
    return {w for m in pattern.finditer(question) for w in tokens(m.group(0))}
