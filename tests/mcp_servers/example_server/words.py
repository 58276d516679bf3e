"""The example server's library: plain functions the MCP adapter (server.py) calls and the app could import."""

from __future__ import annotations

import re
from collections import Counter

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def word_counts(text: str, top: int) -> list[tuple[str, int]]:
    """The `top` most frequent words of text (case-insensitive), most frequent first, ties alphabetically."""
    counts = Counter(w.lower() for w in WORD.findall(text))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
