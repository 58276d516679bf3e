"""How much a question's word can say about a filing's pages: its frequency in the searched documents against its
frequency in general English.

A word a filing uses far more often than English at large ("depreciation", "segment", "payable") names what the
filing is about; a word it uses no more than English does ("details", "clearly", "shown", "relying") is the
question's own phrasing, whose few chance matches in a long report BM25 would otherwise reward with a high IDF.
The general-English side is wordfreq's English table (wordfreq 3.1, code Apache-2.0, frequency data CC-BY-SA 4.0,
shipped inside the wheel, read offline); nothing here is written for a question or a company.

It bites in documents of filing length: in a short one (an earnings release of a few thousand words) a word used
once already looks typical of it. (Counting short documents as if they were 50,000 tokens long lowered the
cross-validated score on the tuning part, so it was not kept.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from mcp_servers.pdf_reader.page_index import DocIndex, tokenize

FLOOR_ZIPF = 1.0
"""Words wordfreq does not know (abbreviations, numbers) count as this rare in English (zipf 1: 1 in 10⁸ words)."""
LOW, HIGH = -1.0, 0.5
"""Keyness (log10 of document frequency over English frequency) at which a word weighs MIN_WEIGHT, and 1."""
MIN_WEIGHT = 0.05


@lru_cache(maxsize=20000)
def zipf(word: str) -> float:
    """wordfreq's zipf frequency of an English word (log10 of uses per 10⁹ words), at least FLOOR_ZIPF."""
    from wordfreq import zipf_frequency  # loads its table once (~0.4 s); imported late so start-up stays fast

    return max(zipf_frequency(word, "en"), FLOOR_ZIPF)


def keyness(word: str, indexes: Sequence[DocIndex]) -> float:
    """log10(frequency in the searched documents / frequency in English); -9 for a word they never use."""
    # A word the index splits ("pp&e" → "pp", "e") is as frequent as its rarest part.
    uses = min(
        (sum(len(at) for index in indexes for at in index.postings.get(part, {}).values()) for part in tokenize(word)),
        default=0,
    )
    total = sum(sum(index.lengths.values()) for index in indexes)
    if not uses or not total:
        return -9.0
    return math.log10(uses / total) - (zipf(word) - 9.0)


def weight(word: str, indexes: Sequence[DocIndex]) -> float:
    """MIN_WEIGHT..1 by keyness, linear between LOW and HIGH."""
    share = (keyness(word, indexes) - LOW) / (HIGH - LOW)
    return MIN_WEIGHT + (1.0 - MIN_WEIGHT) * min(1.0, max(0.0, share))
