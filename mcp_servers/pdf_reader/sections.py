"""Where each page sits in a report: the statement it shows, the Item and note it belongs to, how tabular it is.

Annual reports name a statement in the first lines of its page ("Consolidated Statements of Cash Flows"), open a
section once ("Item 7. Management's Discussion ...", "Note 12. Income Taxes") and run on for pages without
repeating it. So headings are carried forward page by page; a contents page (many Items on one page) is marked and
changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

HEAD_LINES = 6
"""Lines at the top of a page searched for a statement title (after running headers)."""
PREFIX_WORDS = 4
"""Capitalised words a title may follow on its own line ("Example Corp. Consolidated Balance Sheets", "GAAP …")."""
_FUNCTION_WORDS = frozenset("a an and as at by for from in into of on or the to with see our".split())
"""A prefix with one of these is a sentence or an analysis ("Analysis of …", "on the …"), not a name."""
_TITLE_END = re.compile(r"(?:sheets?|flows?|income|earnings|operations|position|condition|equity|loss)$")
"""After a prefix the title must end the line (a trailing parenthesis aside): "Income Statement Data" is not one."""

_RUNNING_HEADER = re.compile(r"^(?:table of contents|index|\d{1,3}|page \d+|.{0,40}\b10-k\b.{0,20})$", re.IGNORECASE)
# Matched against title lines with the spaces removed: some PDFs split words ("Balance Shee t", "Cash Flow s").
_STATEMENT_TITLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cash_flow", re.compile(r"statements?of(?:consolidated)?cashflows?|cashflowsstatements?")),
    ("comprehensive", re.compile(r"statements?of(?:consolidated)?comprehensive(?:income|earnings|loss)")),
    ("balance", re.compile(r"balancesheets?|statements?of(?:consolidated)?financial(?:position|condition)")),
    ("equity", re.compile(r"statements?of(?:consolidated)?(?:changesin)?(?:share|stock)(?:holders|owners).?equity"
                          r"|statements?of(?:consolidated)?(?:changesin)?(?:total)?equity")),
    ("income", re.compile(r"statements?of(?:consolidated)?(?:income|operations|earnings)|incomestatements?"
                          r"|statements?of(?:consolidated)?(?:net)?(?:income|loss)")),
)  # fmt: skip
_ITEM = re.compile(r"^\s*item\s+(\d{1,2}[a-c]?)\s*[.:\-–—]?\s*(.{0,80})", re.IGNORECASE)
_NOTE = re.compile(r"^\s*note\s+(\d{1,2})\s*[.:\-–—]?\s*([a-z].{2,80})", re.IGNORECASE)
_TITLE_LINE = re.compile(r"^(?:the)?(?:consolidated|combined|condensed)*(?:statements?|balance|income|cashflow)")
_PAGE_REFERENCE = re.compile(r"\s\d{1,3}\.?$")
"""A contents entry ends with its page number; a heading does not."""
TITLE_CHARS = 90
TITLE_WORDS = 10
"""A statement title is a short line; a sentence that mentions a statement is not one."""
_NUMBER = re.compile(r"\(?\$?\d[\d,]*(?:\.\d+)?\)?%?")
_WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class PageInfo:
    """What re-ranking needs to know about one page beyond its words."""

    number: int
    statement: str | None
    """'income', 'balance', 'cash_flow', 'equity', 'comprehensive' when the page shows that statement."""
    context: str
    """Lowercased Item heading + note heading + top lines, then (one per line) every other heading that opens on the
    page (a short section closed by the next one on the same page: Item 3 between Items 2 and 4) and the Item and
    note the page continues from the previous one: matched against a concept's section patterns."""
    numeric: float
    """Share of tokens that are numbers (0..1): table pages are high."""
    contents: bool
    """A table-of-contents / index page (names many Items or statements)."""


def _head(lines: list[str]) -> list[str]:
    top = [line.strip() for line in lines[: HEAD_LINES + 4] if line.strip()]
    return [line for line in top if not _RUNNING_HEADER.match(line)][:HEAD_LINES]


def _title_line(line: str) -> str | None:
    """The line compacted when it is a statement title; also after a short name in capitals ("ACME Corp",
    "GAAP") when the title ends the line (a parenthesis such as "(Unaudited)" may follow)."""
    compact = re.sub(r"\s+", "", line.lower())
    if _TITLE_LINE.match(compact):
        return compact
    words = line.split()
    for skip in range(1, PREFIX_WORDS + 1):
        prefix = words[:skip]
        if any(w.lower() in _FUNCTION_WORDS or not w[:1].isupper() for w in prefix):
            return None
        rest = re.sub(r"\(.*?\)\s*$", "", " ".join(words[skip:])).strip()
        tail = re.sub(r"\s+", "", rest.lower())
        if tail and _TITLE_LINE.match(tail) and _TITLE_END.search(tail):
            return tail
    return None


def statement_of(head: list[str]) -> str | None:
    """The statement a page's title lines name, or None (also None when they name several: an index)."""
    compact = (
        _title_line(line)
        for line in head
        if len(line) <= TITLE_CHARS and len(line.split()) <= TITLE_WORDS
    )
    titles = " ".join(line for line in compact if line)
    found = [kind for kind, pattern in _STATEMENT_TITLES if pattern.search(titles)]
    if "comprehensive" in found and "income" in found:
        found.remove("income")  # "Statement of Comprehensive Income" also matches the income pattern
    return found[0] if len(found) == 1 else None


def numeric_share(text: str) -> float:
    """Share of a page's tokens that are numbers."""
    numbers = len(_NUMBER.findall(text))
    words = len(_WORD.findall(text))
    return numbers / (numbers + words) if numbers + words else 0.0


def describe_pages(pages: Iterable[tuple[int, str]]) -> list[PageInfo]:
    """PageInfo for each (number, text) of one document, in page order (headings carry forward)."""
    item = note = ""
    infos: list[PageInfo] = []
    for number, text in pages:
        lines = text.splitlines()
        items = [m for m in map(_ITEM.match, lines) if m]
        notes = [m for m in map(_NOTE.match, lines) if m]
        entries = [m for m in items + notes if _PAGE_REFERENCE.search(m.string)]
        contents = len(entries) >= 4
        head = _head(lines)
        head_text = " ".join(head)
        statement = None if contents else statement_of(head)
        carried = [heading for heading in (item, note) if heading]  # the section this page continues
        opened: list[str] = []  # every heading that opens here, not only the last one
        for match in items:
            if not _PAGE_REFERENCE.search(match.string):
                item, note = f"item {match.group(1)} {match.group(2)}".lower(), ""
                opened.append(item)
        for match in notes:
            if not _PAGE_REFERENCE.search(match.string):
                note = f"note {match.group(1)} {match.group(2)}".lower()
                opened.append(note)
        compact = re.sub(r"\s+", "", text[:3000].lower())
        statements_named = sum(1 for _, pattern in _STATEMENT_TITLES if pattern.search(compact))
        infos.append(
            PageInfo(
                number=number,
                statement=statement,
                context="\n".join(dict.fromkeys([f"{item} | {note} | {head_text.lower()}", *opened, *carried])),
                numeric=numeric_share(text),
                contents=contents or (statement is None and statements_named >= 4 and len(text) < 4000),
            )
        )
    return infos
