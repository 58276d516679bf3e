"""The app's check of a small model's answer about pages it was given: is each figure the answer states on a page it
cites? Deterministic help where a 0.5B model is weak: it often gives the right figure but cites no page, or the
wrong one of the pages it saw.

The check only reads the pages the app itself searched and showed (pre_retrieval.Found.texts) and never changes what
the model wrote; it adds one line, marked as the app's, saying where the figure is, or that it is on none of those
pages.
"""

from __future__ import annotations

import re
from typing import Any

_FIGURE = re.compile(r"(?<![\w.])\$?\(?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d{3,})\)?%?")
_CITED = re.compile(r"(?:\bp\.|\bpages?)\s*(\d{1,4})", re.I)
_YEAR = re.compile(r"(?:19|20)\d\d")


def figures(text: str) -> list[str]:
    """The figures written in `text` (commas and decimals as written; years and 1-2 digit numbers left out)."""
    out: list[str] = []
    for m in _FIGURE.finditer(text):
        value = m.group(1)
        if _YEAR.fullmatch(value) or value in out:
            continue
        out.append(value)
    return out


def _plain(value: str) -> str:
    return value.replace(",", "")


def _on(value: str, page_text: str) -> bool:
    """Is `value` on the page, as written or scaled from the page's units ("2,400,000,000" for 2,400 millions)?"""
    wanted = _plain(value)
    return any(wanted in (v, v + "000", v + "000000", v + "000000000") for v in map(_plain, figures(page_text)))


def cited_pages(answer: str) -> list[int]:
    """The page numbers an answer cites ("p. 60", "page 60")."""
    return [int(n) for n in _CITED.findall(answer)]


def note(answer: str, pages: dict[tuple[str, int], str]) -> str | None:
    """The app's line to add under `answer`, or None when there is nothing to say (no figure, or each figure is on a
    cited page). `pages` maps (title, 1-based page) to the text of each page the app showed the model."""
    stated = [v for v in figures(_CITED.sub(" ", answer)) if not any(v == str(n) for n in cited_pages(answer))]
    if not stated or not pages:
        return None
    cited = set(cited_pages(answer))
    unchecked: list[str] = []
    where: list[str] = []
    for value in stated:
        holding = [(title, n) for (title, n), text in pages.items() if _on(value, text)]
        if any(n in cited for _, n in holding):
            continue
        if holding:
            where.append(f"{value} is on " + ", ".join(f"({title}, p. {n})" for title, n in holding))
        else:
            unchecked.append(value)
    if not where and not unchecked:
        return None
    parts = where + ([f"{', '.join(unchecked)} is on none of the pages searched: check it"] if unchecked else [])
    return "Page check (by the app, not the model): " + "; ".join(parts) + "."


def checked(messages: list[dict[str, Any]], pages: dict[tuple[str, int], str]) -> list[dict[str, Any]]:
    """A run's new messages with the app's note (see `note`) under the final answer, when there is one."""
    last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "assistant"), None)
    if last is None or not isinstance(messages[last].get("content"), str) or messages[last].get("tool_calls"):
        return messages
    line = note(messages[last]["content"], pages)
    if line is None:
        return messages
    answer = {**messages[last], "content": f"{messages[last]['content'].rstrip()}\n\n{line}"}
    return [*messages[:last], answer, *messages[last + 1:]]
