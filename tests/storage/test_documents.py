"""Documents, pages and attachments: lookups, one-transaction saves, cascades and the FTS5 index kept in sync."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text

from storage import documents as docs
from storage import repo
from storage.db import Database
from storage.documents import Document


def _doc(content: bytes, filename: str = "report.pdf", title: str = "Annual report") -> Document:
    sha = hashlib.sha256(content).hexdigest()
    return Document(id=sha[:32], sha256=sha, title=title, filename=filename, size_bytes=len(content), page_count=3)


PAGES = [
    (1, "Consolidated Statements of Income for fiscal 2022", 9, "pdfium"),
    (2, "Income taxes (Note 7) 127,196 and more", 10, "pypdf"),
    (3, "Balance sheet: total assets 4,567", 8, "pdfium"),
]


def _fts(db: Database, query: str) -> list[int]:
    with db.engine.connect() as conn:
        sql = "SELECT p.number FROM pages_fts JOIN pages p ON p.id = pages_fts.rowid WHERE pages_fts MATCH :q"
        return sorted(r[0] for r in conn.execute(text(sql), {"q": query}))


def test_save_and_read_back(db: Database) -> None:
    doc = docs.save_document(db, _doc(b"one"), PAGES)
    assert docs.get_document(db, doc.id).title == "Annual report"  # type: ignore[union-attr]
    assert docs.get_document(db, doc.id[:6]).id == doc.id  # type: ignore[union-attr]
    assert docs.get_document(db, doc.id[:5]) is None  # too short to be a prefix
    assert docs.get_document(db, "report.pdf").id == doc.id  # type: ignore[union-attr]
    assert docs.get_document(db, "Annual report").id == doc.id  # type: ignore[union-attr]
    assert docs.get_document(db, "nothing") is None
    assert docs.page_text(db, doc.id, 2) == PAGES[1][1]
    assert docs.page_text(db, doc.id, 4) is None
    got = docs.pages(db, doc.id, 2, 9)
    assert [(p.number, p.extractor, p.token_count) for p in got] == [(2, "pypdf", 10), (3, "pdfium", 8)]
    assert [d.id for d in docs.list_documents(db)] == [doc.id]


def test_same_content_is_stored_once(db: Database) -> None:
    first = docs.save_document(db, _doc(b"same", filename="a.pdf"), PAGES)
    again = docs.save_document(db, _doc(b"same", filename="b.pdf"), PAGES)
    assert again.filename == "a.pdf" and again.id == first.id
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM pages")) == 3


def test_failed_save_leaves_nothing(db: Database) -> None:
    def rows():  # type: ignore[no-untyped-def]
        yield from PAGES
        raise RuntimeError("extraction failed half-way")

    with pytest.raises(RuntimeError):
        docs.save_document(db, _doc(b"broken"), rows())
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM documents")) == 0
        assert conn.scalar(text("SELECT count(*) FROM pages")) == 0
    if db.dialect == "sqlite":
        assert _fts(db, "income") == []


def test_duplicate_page_number_rolls_back(db: Database) -> None:
    with pytest.raises(Exception, match="(?i)unique"):
        docs.save_document(db, _doc(b"dup"), [PAGES[0], PAGES[0]])
    assert docs.list_documents(db) == []


def test_fts_index_follows_inserts_and_cascading_deletes(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("FTS5 is SQLite's")
    doc = docs.save_document(db, _doc(b"fts"), PAGES)
    assert _fts(db, "income") == [1, 2]
    assert _fts(db, "2022") == [1]
    assert _fts(db, '"127,196"') == [2]  # digits are tokens; the comma splits the amount into a phrase
    assert docs.delete_document(db, doc.id)
    assert _fts(db, "income") == []
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM pages")) == 0


def test_attach_to_conversations(db: Database) -> None:
    doc = docs.save_document(db, _doc(b"att"), PAGES)
    other = docs.save_document(db, _doc(b"other", filename="b.pdf", title="B"), PAGES)
    conv = repo.create_conversation(db, "analysis")
    assert docs.attach(db, conv.id, other.id)
    assert docs.attach(db, conv.id, doc.id)
    assert docs.attach(db, conv.id, doc.id)  # idempotent
    assert [d.id for d in docs.conversation_documents(db, conv.id)] == [other.id, doc.id]
    assert not docs.attach(db, "no-such-conversation", doc.id)
    assert docs.conversation_documents(db, "no-such-conversation") == []
    docs.delete_document(db, other.id)
    assert [d.id for d in docs.conversation_documents(db, conv.id)] == [doc.id]


def test_detach_removes_a_document_from_one_conversation_only(db: Database) -> None:
    doc = docs.save_document(db, _doc(b"det"), PAGES)
    one, two = repo.create_conversation(db, "one"), repo.create_conversation(db, "two")
    docs.attach(db, one.id, doc.id)
    docs.attach(db, two.id, doc.id)
    assert docs.detach(db, one.id, doc.id)
    assert not docs.detach(db, one.id, doc.id)  # already gone
    assert docs.conversation_documents(db, one.id) == []
    assert [d.id for d in docs.conversation_documents(db, two.id)] == [doc.id]
    assert docs.get_document(db, doc.id) is not None  # the document stays in the store
