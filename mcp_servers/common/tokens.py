"""Token counts for the built-in servers: o200k_base (a proxy for K2's tokenizer), offline via bpe-openai.

agents/policy/context.py keeps its own few lines on the same library: servers and the planner never import each other.
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

TOKEN_CHUNK_CHARS = 200_000  # bpe-openai refuses inputs of 1M characters; longer text is counted in pieces


@cache
def _encoding() -> Any:
    with warnings.catch_warnings():  # its loader uses a deprecated importlib.resources call
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai

        encoding = bpe_openai.get_encoding("o200k_base")
        encoding.encode_ordinary("load the vocabulary now")
    return encoding


def count_tokens(text: str) -> int:
    """o200k_base tokens of text, counted offline."""
    if not text:
        return 0
    enc = _encoding()
    if len(text) <= TOKEN_CHUNK_CHARS:
        return len(enc.encode_ordinary(text))
    return sum(
        len(enc.encode_ordinary(text[i : i + TOKEN_CHUNK_CHARS])) for i in range(0, len(text), TOKEN_CHUNK_CHARS)
    )
