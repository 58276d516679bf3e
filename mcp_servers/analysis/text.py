"""Text as the ledger compares it: one kind of space, dash and quote mark, case-folded, optionally without spaces."""

from __future__ import annotations

import unicodedata

DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-")
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u2009\u202f\u200a\u2002\u2003\u2004\u2005\u2006\u2008\u3000"), " ")
_QUOTES = {
    ord("\u2018"): "'",
    ord("\u2019"): "'",
    ord("\u201c"): '"',
    ord("\u201d"): '"',
    ord("\u00ad"): None,
    ord("\u200b"): None,
}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(DASHES).translate(_SPACES).translate(_QUOTES).casefold()


def normalize(text: str) -> str:
    """Text as compared: NFKC, one kind of space, dash, quote; whitespace collapsed; case-folded."""
    return " ".join(_fold(text).split())


def squeeze(text: str) -> str:
    """normalize() without any whitespace: PDF extraction breaks table rows unpredictably ("$\\n5,363")."""
    return "".join(normalize(text).split())


def squeeze_map(text: str) -> tuple[str, list[int]]:
    """squeeze(text) character by character, with the index in `text` each of its characters comes from."""
    out: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        for folded in _fold(char):
            if not folded.isspace():
                out.append(folded)
                where.append(index)
    return "".join(out), where
