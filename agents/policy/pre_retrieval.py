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

from agents.policy import untrusted
from storage import documents as store
from storage.db import Database

if TYPE_CHECKING:
    from agents.hub.hub import Hub
    from agents.policy.context import DocumentRef

SEARCH_TOOL = "pdf_reader__search"
TOP_PAGES = 3
CHARS_PER_TOKEN = 3.0  # the local adapter's cautious count
_WORD = re.compile(r"[a-z0-9][a-z0-9&]{2,}")
_HIT = re.compile(r"\((?P<doc>[0-9a-f]{6,})\) p\. (?P<page>\d+)")


@dataclass
class Found:
    """The pages found for a question: the message carrying them and what the user is told."""

    message: dict[str, Any] | None
    pages: list[tuple[str, int]] = field(default_factory=list)  # (title, 1-based page)
    seconds: float = 0.0

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
    hits: list[tuple[DocumentRef, int]] = []
    for m in _HIT.finditer(result.text):
        doc = by_prefix.get(m.group("doc")[:8])
        if doc is not None and (doc, int(m.group("page"))) not in hits:
            hits.append((doc, int(m.group("page"))))
    chars = int(budget_tokens * CHARS_PER_TOKEN)
    blocks: list[str] = []
    pages: list[tuple[str, int]] = []
    for doc, number in hits[:TOP_PAGES]:
        page = next(iter(store.pages(db, doc.id, number, number)), None)
        if page is None or not page.text:
            continue
        text = excerpt(page.text, question, chars // TOP_PAGES)
        blocks.append(untrusted.fence(f"{doc.title}, page {number}:\n{text}", source=f"document {doc.id[:12]}"))
        pages.append((doc.title, number))
    seconds = time.perf_counter() - started
    if not blocks:
        return Found(None, seconds=seconds)
    content = ("The app searched the attached documents for your question; these pages matched best (page numbers "
               "are 1-based). Answer from them and cite the page as (title, p. N).\n" + "\n".join(blocks))
    return Found({"role": "user", "content": content}, pages, seconds)


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
