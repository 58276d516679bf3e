"""Keeps a document's first search fast: the word tables loaded and documents indexed in the background as soon as
they are attached to a conversation, before anyone searches them.

Measured (a 160-page annual report, 2 shared cores): the first search in a server process took 3.2–4.6 s — importing
wordfreq's table 1.4 s, reading WordLlama's 0.4 s, building the document's page index 1.4–2.2 s — and 12–100 ms
after that. Pre-retrieval (agents/policy/pre_retrieval.py) runs one search before a small model's first call, so that
first search was nearly the whole cost of the step. Documents are also ingested and attached by the app process
(uploads, --attach), which does not tell this process, so it looks for new attachments in the database every POLL_S
seconds (one query on the attachments table); a search arriving while its document is being indexed waits for that
build (page_index.cached) instead of starting a second one. Since issue 17 the index is built at ingest and stored,
so "indexing" here mostly means loading it (~60 ms). The tables (~2 s of CPU) load as soon as the database holds a
document (at server start when it has one already; else while the app builds the first one's index at ingest, before
it is attached), so a server whose database has none (most of the test suite's) does not pay for them; loading
them at start did not measurably change the server's start-to-tool-list time (2.1-2.8 s with, 2.1-2.3 s without,
at load 10-12).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlmodel import col, select

from mcp_servers.pdf_reader import semantic, word_weights
from mcp_servers.pdf_reader.search import index_of
from storage.db import Database
from storage.documents import ConversationDocument, Document

log = logging.getLogger(__name__)

POLL_S = 0.5
"""A look is one small query (about a millisecond); after an upload, the question often comes within seconds."""
RECENT = 4
"""Most attachments indexed per look: at start the latest ones (a conversation reopened after a restart), later the
new ones."""


def load_tables() -> None:
    """Load wordfreq's English table and WordLlama's token table (each read on first use, otherwise by a search)."""
    word_weights.zipf("the")
    semantic.word_vectors(["the"])


def has_documents(db: Database) -> bool:
    """Whether any document is stored (one indexed lookup)."""
    with db.session(write=False) as s:
        return s.exec(select(Document.id).limit(1)).first() is not None


def attached_since(db: Database, since: datetime | None) -> tuple[list[str], datetime | None]:
    """The documents attached after `since` (None: the RECENT latest), newest first, and the newest attachment time."""
    query = select(ConversationDocument.document_id, ConversationDocument.added_at)
    if since is not None:
        query = query.where(col(ConversationDocument.added_at) > since)
    with db.session(write=False) as s:
        rows = s.exec(query.order_by(col(ConversationDocument.added_at).desc()).limit(RECENT)).all()
    ids = list(dict.fromkeys(row[0] for row in rows))
    return ids, (rows[0][1] if rows else since)


class Warmer:
    """A daemon thread that loads the tables, then indexes newly attached documents until stopped."""

    def __init__(self, open_db: Callable[[], Database], poll_s: float = POLL_S) -> None:
        self._open_db = open_db
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pdf_reader-warm", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        # Not joined: an index being built finishes on its own (the thread is a daemon and holds nothing shared
        # but the index cache's locks, released when the build ends).
        self._stop.set()

    def _run(self) -> None:
        since: datetime | None = None
        loaded = False
        while not self._stop.is_set():
            try:
                db = self._open_db()
                ids, since = attached_since(db, since)
                # Only once there is something to search (a test's empty home has not).
                if not loaded and (ids or has_documents(db)):
                    load_tables()
                    loaded = True
                for document_id in ids:
                    if self._stop.is_set():
                        break
                    index_of(db, document_id)
            except Exception:  # the database may be gone (a test's temporary home) or busy: look again later
                log.debug("indexing attached documents ahead failed", exc_info=True)
            self._stop.wait(self._poll_s)
