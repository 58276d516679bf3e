"""Documents above the composer: one chip per attached document (✕ detaches it from the chat), one chip with one
progress bar per file being read, and the uploads a send waits for.

An upload registers an IngestJob under the browser session; a message sent while it runs waits for it (the status
line says "waiting for annual_report.pdf (64 %)") and then goes to the conversation the documents were attached to,
so the question never leaves without them.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

WAIT_TICK_S = 0.3  # how often a waiting send (and the upload's chip) shows the progress

# Clicks on a chip's ✕ become the component's click event, with the document's id (Gradio 6 gr.HTML `trigger`).
REMOVE_JS = """
element.addEventListener('click', (ev) => {
  const b = ev.target.closest && ev.target.closest('[data-doc]');
  if (b) trigger('click', {doc: b.getAttribute('data-doc')});
});
"""


@dataclass
class IngestJob:
    """Files of one upload being read: the current file, its pages done, and the conversation they go to."""

    conversation_id: str
    names: list[str]
    index: int = 0
    done_pages: int = 0
    total_pages: int = 0
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def report(self, index: int, done: int, total: int) -> None:
        """Called from the ingest thread (plain attribute writes; the loop only reads them)."""
        self.index, self.done_pages, self.total_pages = index, done, total

    @property
    def name(self) -> str:
        return self.names[min(self.index, len(self.names) - 1)]

    @property
    def percent(self) -> int:
        """Of the current file, from its pages."""
        return int(100 * self.done_pages / self.total_pages) if self.total_pages else 0

    def line(self) -> str:
        """'annual_report.pdf (64 %)', the words a waiting send shows."""
        return f"{self.name} ({self.percent} %)"


@dataclass
class IngestJobs:
    """The uploads running per browser session (one process; a session's page lives in one process)."""

    running: dict[str, IngestJob] = field(default_factory=dict)

    def start(self, session: str, conversation_id: str, names: list[str]) -> IngestJob:
        job = IngestJob(conversation_id, names)
        self.running[session] = job
        return job

    def end(self, session: str, job: IngestJob) -> None:
        job.finished.set()
        if self.running.get(session) is job:
            del self.running[session]

    async def wait(self, session: str, conversation_id: str | None) -> AsyncIterator[str]:
        """While the session's upload into this conversation (or into the one it is creating) runs: its line, every
        WAIT_TICK_S. Returns when it has finished (or at once when there is none)."""
        job = self.running.get(session)
        if job is None or (conversation_id and job.conversation_id != conversation_id):
            return
        while not job.finished.is_set():
            yield f"waiting for {job.line()}"
            try:
                await asyncio.wait_for(job.finished.wait(), WAIT_TICK_S)
            except TimeoutError:
                pass

    def conversation(self, session: str) -> str | None:
        job = self.running.get(session)
        return job.conversation_id if job is not None else None


INGESTS = IngestJobs()


def chips_html(documents: list[Any], reading: IngestJob | None = None) -> str:
    """The line above the composer: attached documents (title, pages, ✕) and the file being read with its bar."""
    chips = [
        f"<span class='k2-doc-chip' title='{html.escape(d.title)} · {d.page_count:,} pages · "
        f"{d.token_count:,} tokens'>"
        f"<span class='k2-doc-chip-name'>{html.escape(d.title)}</span> <span class='k2-doc-chip-meta'>"
        f"{d.page_count:,} p.</span><button type='button' class='k2-doc-chip-x' data-doc='{html.escape(d.id)}' "
        f"aria-label='Remove {html.escape(d.title)} from this chat' title='Remove from this chat'>✕</button></span>"
        for d in documents
    ]
    if reading is not None:
        pages = f"page {reading.done_pages:,} of {reading.total_pages:,}" if reading.total_pages else "starting"
        chips.append(
            f"<span class='k2-doc-chip k2-doc-chip-reading'><span class='k2-doc-chip-name'>"
            f"{html.escape(reading.name)}</span> <progress class='k2-doc-chip-bar' value='{reading.percent}' "
            f"max='100'></progress> <span class='k2-doc-chip-meta'>{reading.percent} % · {pages}</span></span>"
        )
    return f"<div class='k2-doc-chips'>{''.join(chips)}</div>" if chips else ""
