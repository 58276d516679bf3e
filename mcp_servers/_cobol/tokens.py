"""Token counts for sizing what fits a model's context: o200k BPE when bpe-openai is installed, else an estimate."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _encoding() -> Any:
    try:
        import bpe_openai

        return bpe_openai.get_encoding("o200k_base")
    except Exception:  # noqa: BLE001 - optional dependency or its data missing: fall back to the estimate
        return None


def count_tokens(text: str) -> int:
    """Tokens of text (o200k_base), or about one per four characters without a tokenizer."""
    enc = _encoding()
    if enc is not None:
        try:
            return len(enc.encode(text))
        except Exception:  # noqa: BLE001, S110 - unusual text the tokenizer refuses: the estimate below
            pass
    return (len(text) + 3) // 4
