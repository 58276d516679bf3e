"""pdf_reader's warmer: a document attached by another process (the app's upload) is indexed before anyone searches
it, and a search arriving during that build waits for it instead of building the index a second time."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from mcp_servers.pdf_reader import page_index
from mcp_servers.pdf_reader import server as pdf_reader
from mcp_servers.pdf_reader.ingest import ingest_pdf
from mcp_servers.pdf_reader.page_index import DocIndex
from mcp_servers.pdf_reader.warm import Warmer, attached_since
from storage import documents as store
from storage import repo
from storage.db import Database
from tests.mcp_servers.conftest import connect
from tests.mcp_servers.pdf_support import text_pdf

PAGES = ["Consolidated Statements of Cash Flows\nPurchases of property and equipment (800) (650)",
         "Item 7. Management Discussion\nNet sales were $14,082 million in 2021."]


def _attached(db: Database, tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(text_pdf([*PAGES, f"Page of {name}"]))
    document = ingest_pdf(db, path).document  # as the app's upload does: in the app process, not the server's
    store.attach(db, repo.create_conversation(db, name).id, document.id)
    return document.id


async def _until(check, seconds: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def test_the_server_indexes_a_document_attached_elsewhere_before_any_search(tmp_path: Path) -> None:
    db = Database()  # the K2HUB_HOME the server uses too
    before = _attached(db, tmp_path, "before.pdf")  # attached before the server started: among the latest
    async with connect(pdf_reader.create_server()):
        assert await _until(lambda: page_index.is_cached((db.url, before)))
        after = _attached(db, tmp_path, "after.pdf")  # attached while it runs: found by the next look
        assert not page_index.is_cached((db.url, after))
        assert await _until(lambda: page_index.is_cached((db.url, after)))


async def test_a_server_built_without_warming_indexes_nothing_ahead(tmp_path: Path) -> None:
    db = Database()
    document = _attached(db, tmp_path, "cold.pdf")
    async with connect(pdf_reader.create_server(warm=False)) as call:
        await asyncio.sleep(1.0)
        assert not page_index.is_cached((db.url, document))
        conversation = repo.create_conversation(db, "c").id
        store.attach(db, conversation, document)
        assert "p. 1" in await call.ok("search", conversation=conversation, query="purchases of property")
        assert page_index.is_cached((db.url, document))  # the search itself built it


def test_attached_since_gives_the_latest_then_only_newer(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/k.db")
    first = _attached(db, tmp_path, "one.pdf")
    ids, since = attached_since(db, None)
    assert ids == [first] and since is not None
    assert attached_since(db, since) == ([], since)
    second = _attached(db, tmp_path, "two.pdf")
    ids, newer = attached_since(db, since)
    assert ids == [second] and newer is not None and newer > since


def test_the_warmer_thread_indexes_and_stops(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/k.db")
    document = _attached(db, tmp_path, "w.pdf")
    warmer = Warmer(lambda: db, poll_s=0.05)
    warmer.start()
    try:
        deadline = time.monotonic() + 60
        while not page_index.is_cached((db.url, document)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert page_index.is_cached((db.url, document))
    finally:
        warmer.stop()
    warmer._thread.join(timeout=10)
    assert not warmer._thread.is_alive()


def test_a_search_during_a_build_waits_for_it_instead_of_building_again() -> None:
    builds: list[str] = []
    started = threading.Event()

    def load() -> DocIndex:
        builds.append(threading.current_thread().name)
        started.set()
        time.sleep(0.3)
        return page_index.build("doc-being-built", [(1, "Net income 1,906")])

    key = ("sqlite:///nowhere.db", "doc-being-built")
    got: list[DocIndex] = []
    warm = threading.Thread(target=lambda: got.append(page_index.cached(key, load)), name="warm")
    warm.start()
    started.wait(10)
    searched = page_index.cached(key, load)  # arrives mid-build
    warm.join(10)
    assert builds == ["warm"]
    assert got == [searched]
