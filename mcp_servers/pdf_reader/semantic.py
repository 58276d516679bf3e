"""Meaning beyond shared words: a static word-embedding similarity between a question and each page.

BM25 only sees the words a question and a page share; a question says "lawsuits" or "main customers" where the
filing says "legal proceedings" or "accounted for 40 % of revenues". A static embedding (one vector per sub-word
token, a text is the average of its tokens) puts related words near each other at a cost of a few milliseconds
per document, with no model server and nothing downloaded: the vectors are WordLlama's (`wordllama` 0.4, MIT
licence), whose 256-dimension table and tokenizer ship inside the PyPI wheel. WordLlama's own loader looks for
the tokenizer in another folder and then downloads it, so both files are opened here from the installed package.

A page's vector is the IDF-weighted average of its words' vectors (words on every page of the report say nothing
about any one page); a question's is the average of its content words weighted as the query weighs them
(query.Query.content: finance words over question boilerplate). Nothing here was written for a question or a
company; whether the similarity earns a weight is decided by the cross-validated fit (rank_weights.py).
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

DIM = 256
KNOWN_WORDS = 50_000
"""Word vectors kept between documents (filings share most of their vocabulary): ~55 MB at most."""
_lock = threading.Lock()
_known: dict[str, np.ndarray] = {}


@lru_cache(maxsize=1)
def _model() -> tuple[Any, np.ndarray]:
    """WordLlama's tokenizer and token table, from the installed wheel (never from the network).

    Only the wheel's files are read; the package itself is never imported: its __init__ calls
    logging.basicConfig(level=INFO), which in the app's process (ingest builds the index there) would put every
    library's INFO logs on the console, into the CLI's --json output."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    spec = importlib.util.find_spec("wordllama")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("wordllama is not installed (its token table ships in its wheel)")
    root = Path(spec.submodule_search_locations[0])
    tokenizer = Tokenizer.from_file(str(root / "tokenizers" / "l2_supercat_tokenizer_config.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    with safe_open(str(root / "weights" / f"l2_supercat_{DIM}.safetensors"), framework="np", device="cpu") as f:
        table = f.get_tensor("embedding.weight").astype(np.float32)
    return tokenizer, table


def word_vectors(words: list[str]) -> np.ndarray:
    """One vector per word: the mean of its sub-word tokens' vectors (zeros for a word with no token)."""
    with _lock:
        tokenizer, table = _model()
        missing = [w for w in dict.fromkeys(words) if w not in _known]
        if missing:
            encodings = tokenizer.encode_batch(missing, add_special_tokens=False)
            ids = [e.ids or [0] for e in encodings]
            lengths = np.array([len(i) for i in ids])
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            sums = np.add.reduceat(table[np.concatenate(ids)], starts, axis=0) / lengths[:, None]
            for word, vector, encoding in zip(missing, sums, encodings, strict=True):
                _known[word] = vector if encoding.ids else np.zeros(table.shape[1], dtype=np.float32)
            while len(_known) > KNOWN_WORDS:
                _known.pop(next(iter(_known)))
        return np.array([_known[w] for w in words], dtype=np.float32).reshape(len(words), table.shape[1])


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def page_vectors(postings: Mapping[str, Mapping[int, list[int]]], pages: list[int]) -> np.ndarray:
    """Unit vectors, one per page (in `pages` order): the IDF-weighted mean of the page's word vectors."""
    row_of = {number: i for i, number in enumerate(pages)}
    vocabulary = [w for w in postings if w.isalpha() and len(w) > 1]
    if not vocabulary or not pages:
        return np.zeros((len(pages), DIM), dtype=np.float32)
    vectors = word_vectors(vocabulary)
    n = len(pages)
    rows, columns, tfs, idfs = [], [], [], []
    for column, word in enumerate(vocabulary):
        found = postings[word]
        idfs.append(math.log(1 + (n - len(found) + 0.5) / (len(found) + 0.5)))
        for number, positions in found.items():
            rows.append(row_of[number])
            columns.append(column)
            tfs.append(len(positions))
    # Sparse sum, page by page (a dense pages × words product is slow on this BLAS and mostly zeros).
    row = np.array(rows)
    column = np.array(columns)
    weight = np.log1p(np.array(tfs, dtype=np.float32)) * np.array(idfs, dtype=np.float32)[column]
    order = np.argsort(row, kind="stable")
    row, column, weight = row[order], column[order], weight[order]
    out = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    if len(row):
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        out[row[starts]] = np.add.reduceat(vectors[column] * weight[:, None], starts, axis=0)
    return _normalise(out)


def question_vector(content: Mapping[str, float]) -> np.ndarray | None:
    """A unit vector for the question's content words and their weights; None without any."""
    words = [w for w in content if w.isalpha()]
    if not words:
        return None
    weights = np.array([content[w] for w in words], dtype=np.float32)
    vector = weights @ word_vectors(words)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else None
