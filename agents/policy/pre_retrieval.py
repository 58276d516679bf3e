"""Pre-retrieval for small models: the attached documents searched with the user's question before the first model
call, and the best pages put in the prompt with their page numbers.

When documents do not fit the window, the context policy (context.py) tells the model to search them with pdf_reader
tools. K2 does; the embedded 0.5B model mostly answers from memory instead ("$1,000,000,000", no page). So for a
small model the app runs the search itself (pdf_reader__search through the hub, the same ranking the tool uses) and
reads the top pages' text from storage. The pages are fenced as untrusted data, like every document text, and the
run is tainted by the caller (runner._start records every attached document as an untrusted read already).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.policy import page_lines, untrusted
from storage import documents as store
from storage.db import Database

if TYPE_CHECKING:
    from agents.hub.hub import Hub
    from agents.policy.context import DocumentRef

SEARCH_TOOL = "pdf_reader__search"
TOP_PAGES = 3
SHORT_PAGE_CHARS = 500  # a page this short is shown whole
CHARS_PER_TOKEN = 3.0  # the local adapter's cautious count
ANSWER_SHAPE = ("Answer in one short sentence: the value asked for, copied from these lines (the column of the year "
                "asked), then its page as (title, p. N).")
_WORD = re.compile(r"[a-z0-9][a-z0-9&]{2,}")
_HIT = re.compile(r"\((?P<doc>[0-9a-f]{6,})\) p\. (?P<page>\d+)(?: \(score [-\d.]+; (?P<reason>[^\n]*)\))?")


@dataclass
class Found:
    """The pages found for a question: the message carrying them and what the user is told."""

    message: dict[str, Any] | None
    pages: list[tuple[str, int]] = field(default_factory=list)  # (title, 1-based page)
    seconds: float = 0.0
    texts: dict[tuple[str, int], str] = field(default_factory=dict)  # (title, page) -> the page's whole text

    def describe(self) -> str:
        if not self.pages:
            return "Searched the documents for your question first: no page matched."
        where = ", ".join(f"{title} p. {page}" for title, page in self.pages)
        return f"Searched the documents for your question first ({self.seconds * 1000:.0f} ms): {where}."


async def top_pages(hub: Hub, db: Database, conversation_id: str, run_id: str, question: str,
                    documents: list[DocumentRef], budget_tokens: int) -> Found:
    """Search `documents` for `question` and fit the best pages in `budget_tokens`; a failed search finds nothing."""
    started = time.perf_counter()
    result = await hub.call(SEARCH_TOOL, {"query": question[:500], "k": TOP_PAGES * 2},
                            meta={"k2hub/conversation": conversation_id, "k2hub/run": run_id})
    if result.is_error:
        return Found(None, seconds=time.perf_counter() - started)
    by_prefix = {d.id[:8]: d for d in documents}
    hits: list[tuple[DocumentRef, int, str]] = []
    for m in _HIT.finditer(result.text):
        doc, reason = by_prefix.get(m.group("doc")[:8]), m.group("reason") or ""
        # A contents page matches every question's words and answers none.
        if doc is not None and "contents page" not in reason and all((doc, int(m.group("page"))) != h[:2]
                                                                     for h in hits):
            hits.append((doc, int(m.group("page")), reason))
    chars = int(budget_tokens * CHARS_PER_TOKEN)
    blocks: list[str] = []
    pages: list[tuple[str, int]] = []
    texts: dict[tuple[str, int], str] = {}
    top = 0.0
    for doc, number, reason in hits[:TOP_PAGES]:
        page = next(iter(store.pages(db, doc.id, number, number)), None)
        if page is None or not page.text:
            continue
        fit, lines = page_lines.key_lines(page.text, question, page_lines.reason_terms(reason))
        top = top or fit
        if blocks and fit < top / 2:
            continue  # a page whose best line matches far less than the first page's only distracts a small model
        if len(page.text) <= SHORT_PAGE_CHARS or not lines:
            text = excerpt(page.text, question, chars // TOP_PAGES)
        else:
            text = "\n".join(lines)[: chars // TOP_PAGES]
        blocks.append(untrusted.fence(f"{doc.title}, page {number}:\n{text}", source=f"document {doc.id[:12]}"))
        pages.append((doc.title, number))
        texts[(doc.title, number)] = page.text
    seconds = time.perf_counter() - started
    if not blocks:
        return Found(None, seconds=seconds)
    row = page_lines.reason_row(hits[0][2])
    read_as = f"The search matched your question to the row “{row}”. " if row else ""
    content = ("The app searched the attached documents for your question. These lines matched best; each block "
               "names its document and page (1-based).\n" + "\n".join(blocks) + "\n" + read_as + ANSWER_SHAPE)
    return Found({"role": "user", "content": content}, pages, seconds, texts)


def excerpt(text: str, question: str, chars: int) -> str:
    """The page, or when longer than `chars` the run of lines around the line sharing most words with the question
    (a 10-K page holds one table row that answers; its first 1,500 characters often do not)."""
    if len(text) <= chars:
        return text
    asked = set(_WORD.findall(question.lower()))
    lines = text.splitlines()
    best = max(range(len(lines)), key=lambda i: len(asked & set(_WORD.findall(lines[i].lower()))), default=0)
    first = last = best
    size = len(lines[best]) if lines else 0
    while size < chars and (first > 0 or last < len(lines) - 1):
        if first > 0:
            first -= 1
            size += len(lines[first]) + 1
        if last < len(lines) - 1 and size < chars:
            last += 1
            size += len(lines[last]) + 1
    body = "\n".join(lines[first:last + 1])[:chars]
    return ("[…] " if first > 0 else "") + body + (" […]" if last < len(lines) - 1 else "")
