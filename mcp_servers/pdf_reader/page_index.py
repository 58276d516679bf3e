"""An in-memory index of one document's pages: BM25 for words and phrases, table row labels, page descriptions.

Built once per document from its stored pages (a document id is a content hash, so its pages never change), at
ingest, and stored as bytes (to_bytes; storage/page_indexes.py) so a server process loads it instead of building it;
kept in memory in a small LRU cache: a question of 50 weighted terms costs a few milliseconds instead of 50 FTS queries,
and SQLite and Postgres rank identically. Tokens follow FTS5's unicode61 rule (runs of letters and digits,
lower-cased), so '1,577' is the phrase '1 577' and 'PP&E' the phrase 'pp e', as in the FTS index.
"""

from __future__ import annotations

import dataclasses
import gc
import marshal
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mcp_servers.pdf_reader import semantic
from mcp_servers.pdf_reader.sections import PageInfo, describe_pages

K1, B = 1.2, 0.75
CACHE_DOCS = 32
_TOKEN = re.compile(r"[^\W_]+")
_FIRST_NUMBER = re.compile(r"(?<![\w.])[$(]*\s?\d[\d,]*(?:\.\d+)?\)?%?(?!\w)")
ROW_CHARS = 240
"""A table row is a short line: a label, then its numbers."""
HEADER_LINES = 25
"""Lines at the top of a page where a table's column headers (years, quarters) sit."""


def tokenize(text: str) -> list[str]:
    """FTS5 unicode61-like tokens: letter/digit runs, lower-cased."""
    return _TOKEN.findall(text.lower())


@dataclass
class DocIndex:
    """One document's pages as postings, lengths, row labels and descriptions."""

    document_id: str
    texts: dict[int, str]
    infos: dict[int, PageInfo]
    lengths: dict[int, int]
    postings: dict[str, dict[int, list[int]]]
    rows: dict[int, list[tuple[str, ...]]] = field(default_factory=dict)
    """Per page, the label of each table row (tokens), in page order."""
    words: dict[int, frozenset[str]] = field(default_factory=dict)
    """Per page, its distinct tokens."""
    heads: dict[int, frozenset[str]] = field(default_factory=dict)
    """Per page, the tokens of its title field: top lines, the Item and note it belongs to (PageInfo.context)."""
    row_words: dict[int, frozenset[str]] = field(default_factory=dict)
    """Per page, the tokens of its table-row labels."""
    header_words: dict[int, frozenset[str]] = field(default_factory=dict)
    """Per page, the tokens of its first HEADER_LINES lines (where column headers sit)."""
    vectors: dict[int, np.ndarray] = field(default_factory=dict)
    """Per page, its unit word-embedding vector (semantic.page_vectors)."""

    @property
    def average_length(self) -> float:
        return sum(self.lengths.values()) / max(len(self.lengths), 1)


def build(document_id: str, pages: Iterable[tuple[int, str]]) -> DocIndex:
    """Index a document's (1-based number, text) pages."""
    texts: dict[int, str] = {}
    lengths: dict[int, int] = {}
    postings: dict[str, dict[int, list[int]]] = {}
    rows: dict[int, list[tuple[str, ...]]] = {}
    header_words: dict[int, frozenset[str]] = {}
    for number, text in pages:
        text = text or ""
        texts[number] = text
        words = tokenize(text)
        lengths[number] = len(words)
        for position, word in enumerate(words):
            postings.setdefault(word, {}).setdefault(number, []).append(position)
        labels = []
        for line in text.splitlines():
            m = _FIRST_NUMBER.search(line) if len(line) <= ROW_CHARS else None
            if m:
                label = tuple(tokenize(line[: m.start()]))
                if 1 <= len(label) <= 14 and label[0].isalpha():
                    labels.append(label)
        rows[number] = labels
        header_words[number] = frozenset(tokenize("\n".join(text.splitlines()[:HEADER_LINES])))
    infos = {info.number: info for info in describe_pages(sorted(texts.items()))}
    words = {number: frozenset(tokenize(text)) for number, text in texts.items()}
    heads = {number: frozenset(tokenize(info.context)) for number, info in infos.items()}
    row_words = {number: frozenset(w for label in labels for w in label) for number, labels in rows.items()}
    order = sorted(texts)
    vectors = dict(zip(order, semantic.page_vectors(postings, order), strict=True))
    return DocIndex(document_id, texts, infos, lengths, postings, rows, words, heads, row_words, header_words, vectors)


FORMAT = 2
"""Version of to_bytes' layout: change it with the DocIndex fields (a stored index of another version is rebuilt)."""
_FIELDS = ("texts", "lengths", "postings", "rows", "words", "heads", "row_words", "header_words")


def to_bytes(index: DocIndex) -> bytes:
    """The index as marshal data: plain dicts, lists, tuples, strings and numbers only (marshal loads no code and no
    classes). A 160-page report: 2.4 MB, 60-90 ms to load against 2-3 s to build. Not compressed: zlib made it 1 MB
    but added ~35 ms to every load."""
    body = {name: getattr(index, name) for name in _FIELDS}
    body["infos"] = {n: dataclasses.astuple(info) for n, info in index.infos.items()}
    body["vectors"] = {n: (v.dtype.str, v.tobytes()) for n, v in index.vectors.items()}
    return marshal.dumps(body)


def from_bytes(document_id: str, data: bytes) -> DocIndex | None:
    """The index to_bytes wrote, or None when the bytes are not one (the caller builds it instead)."""
    collecting = gc.isenabled()
    gc.disable()  # ~300,000 new containers: the collector's passes over them otherwise double the load time
    try:
        body = marshal.loads(data)
        infos = {n: PageInfo(*fields) for n, fields in body["infos"].items()}
        vectors = {n: np.frombuffer(raw, dtype=np.dtype(kind)) for n, (kind, raw) in body["vectors"].items()}
        return DocIndex(document_id, infos=infos, vectors=vectors, **{name: body[name] for name in _FIELDS})
    except (ValueError, TypeError, KeyError, AttributeError, EOFError):
        return None
    finally:
        if collecting:
            gc.enable()


def occurrences(index: DocIndex, phrase: Sequence[str]) -> dict[int, int]:
    """Pages holding the phrase (consecutive tokens) and how often."""
    if not phrase or any(w not in index.postings for w in phrase):
        return {}
    first = index.postings[phrase[0]]
    if len(phrase) == 1:
        return {page: len(positions) for page, positions in first.items()}
    out: dict[int, int] = {}
    rest = [index.postings[w] for w in phrase[1:]]
    for page, positions in first.items():
        following = [r.get(page) for r in rest]
        if any(f is None for f in following):
            continue
        sets = [set(f) for f in following if f is not None]
        count = sum(1 for p in positions if all(p + i + 1 in s for i, s in enumerate(sets)))
        if count:
            out[page] = count
    return out


def bm25(
    indexes: Sequence[DocIndex], phrase: Sequence[str]
) -> dict[tuple[str, int], float]:
    """BM25 of a word or phrase over the pages of the searched documents; the IDF is theirs alone (a word on every
    page of the searched reports — the company's name, the fiscal year — counts for nothing)."""
    found = [(index, occurrences(index, phrase)) for index in indexes]
    df = sum(len(pages) for _, pages in found)
    if not df:
        return {}
    n = sum(len(index.lengths) for index in indexes)
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    scores: dict[tuple[str, int], float] = {}
    for index, pages in found:
        average = index.average_length or 1.0
        for page, tf in pages.items():
            norm = tf + K1 * (1 - B + B * index.lengths[page] / average)
            scores[(index.document_id, page)] = idf * tf * (K1 + 1) / norm
    return scores


_cache: OrderedDict[tuple[str, str], DocIndex] = OrderedDict()
_lock = threading.Lock()
_building: dict[tuple[str, str], threading.Lock] = {}
"""One lock per index being built: a search that arrives while the background warmer (warm.py) builds the same
document's index waits for it instead of building it a second time on the same shared cores."""


def is_cached(key: tuple[str, str]) -> bool:
    """Whether the index for key is built already."""
    with _lock:
        return key in _cache


def cached(key: tuple[str, str], load: Callable[[], DocIndex]) -> DocIndex:
    """The index for key (database URL, document id), built with load() on first use."""
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        building = _building.setdefault(key, threading.Lock())
    with building:
        with _lock:
            if key in _cache:  # built by whoever held the lock before us
                _cache.move_to_end(key)
                return _cache[key]
        try:
            index = load()
        except BaseException:
            with _lock:
                _building.pop(key, None)
            raise
        with _lock:  # cached and no longer building in one step, so nobody starts a second build in between
            _cache[key] = index
            _building.pop(key, None)
            while len(_cache) > CACHE_DOCS:
                _cache.popitem(last=False)
    return index
