"""A document's search index is built at ingest and stored (storage/page_indexes.py), so its first search in any
process loads it instead of building it; a damaged or older stored index is rebuilt, never trusted."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from mcp_servers.pdf_reader import page_index, search
from mcp_servers.pdf_reader.ingest import ingest_pdf
from mcp_servers.pdf_reader.search import search_pages
from storage import documents as store
from storage import page_indexes
from storage.db import Database
from tests.mcp_servers.pdf_support import text_pdf

PAGES = ["Consolidated Statements of Cash Flows\nPurchases of property and equipment (800) (650)",
         "Item 7. Management Discussion\nNet sales were $14,082 million in 2021.",
         "Balance Sheet\nCash and cash equivalents 2,853 2,514"]


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path}/k.db")


@pytest.fixture
def document(db: Database, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(text_pdf(PAGES))
    return ingest_pdf(db, path).document.id


@pytest.fixture(autouse=True)
def _fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a server process that has searched nothing yet."""
    monkeypatch.setattr(page_index, "_cache", type(page_index._cache)())


def _no_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args, **_kwargs):
        raise AssertionError("the index was built at search time")

    monkeypatch.setattr(page_index, "build", refuse)


def test_ingest_stores_the_index_and_the_first_search_only_loads_it(db, document, monkeypatch):
    data = page_indexes.load(db, document, page_index.FORMAT)
    assert data is not None
    _no_build(monkeypatch)
    hits = search_pages(db, "purchases of property and equipment", [document], k=3)
    assert hits and hits[0].number == 1


def test_the_loaded_index_equals_a_built_one(db, document):
    loaded = page_index.from_bytes(document, page_indexes.load(db, document, page_index.FORMAT))
    built = search.build_index(db, document)
    assert loaded is not None
    for name in ("texts", "lengths", "postings", "rows", "words", "heads", "row_words", "header_words", "infos"):
        assert getattr(loaded, name) == getattr(built, name), name
    assert loaded.vectors.keys() == built.vectors.keys()
    assert all((loaded.vectors[n] == built.vectors[n]).all() for n in built.vectors)


@pytest.mark.parametrize("stored", [b"not marshal", b"{" + b"\0" * 10, marshal.dumps({"infos": 3}), None])
def test_a_damaged_or_missing_index_is_rebuilt_and_stored_again(db, document, stored):
    if stored is None:
        page_indexes.save(db, document, page_index.FORMAT + 1, b"an older layout")  # replaces this format's row
    else:
        page_indexes.save(db, document, page_index.FORMAT, stored)
    hits = search_pages(db, "cash and cash equivalents", [document], k=3)
    assert hits and hits[0].number == 3
    again = page_indexes.load(db, document, page_index.FORMAT)
    assert again is not None and page_index.from_bytes(document, again) is not None


def test_deleting_a_document_deletes_its_index(db, document):
    assert store.delete_document(db, document)
    assert page_indexes.load(db, document, page_index.FORMAT) is None
    page_indexes.save(db, document, page_index.FORMAT, b"late")  # a build finishing after the delete stores nothing
    assert page_indexes.load(db, document, page_index.FORMAT) is None
