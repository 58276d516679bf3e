"""Original files in the shared database (storage.blobs): chunked, verified, stored with their document only on
PostgreSQL, deleted with it. The PostgreSQL tests are skipped without PostgreSQL."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import blobs
from storage import documents as docs
from storage.db import Database
from tests.storage.test_documents import PAGES, _doc


@pytest.fixture
def pg_db(pg_database: str) -> Iterator[Database]:
    database = Database(pg_database)
    yield database
    database.close()


def _file(tmp_path: Path, data: bytes) -> tuple[Path, str]:
    path = tmp_path / "original.pdf"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_a_file_of_several_chunks_comes_back_byte_for_byte(pg_db: Database, tmp_path: Path):
    data = os.urandom(blobs.CHUNK_BYTES * 2 + 12345)
    path, sha = _file(tmp_path, data)
    blobs.save_file(pg_db, sha, path)
    blobs.save_file(pg_db, sha, path)  # idempotent
    with pg_db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM blob_chunks WHERE sha256 = :s"), {"s": sha}) == 3
    dest = tmp_path / "elsewhere.pdf"
    assert blobs.fetch_file(pg_db, sha, dest) and dest.read_bytes() == data
    assert not blobs.fetch_file(pg_db, "0" * 64, tmp_path / "missing.pdf")
    assert not (tmp_path / "missing.pdf").exists()


def test_bytes_that_do_not_match_their_hash_are_refused(pg_db: Database, tmp_path: Path):
    path, sha = _file(tmp_path, b"%PDF-1.4 original")
    blobs.save_file(pg_db, sha, path)
    with pg_db.engine.begin() as conn:  # someone altered the row
        conn.execute(text("UPDATE blob_chunks SET data = 'tampered'::bytea WHERE sha256 = :s"), {"s": sha})
    dest = tmp_path / "copy.pdf"
    with pytest.raises(ValueError, match="do not match"):
        blobs.fetch_file(pg_db, sha, dest)
    assert not dest.exists() and list(tmp_path.glob("*.part")) == []


def test_the_original_is_stored_with_its_document_and_deleted_with_it(pg_db: Database, tmp_path: Path):
    path, _ = _file(tmp_path, b"%PDF-1.4 report bytes")
    doc = _doc(path.read_bytes())
    docs.save_document(pg_db, doc, PAGES, original=path)
    assert blobs.has_file(pg_db, doc.sha256)
    assert docs.delete_document(pg_db, doc.id)
    assert not blobs.has_file(pg_db, doc.sha256)


def test_sqlite_keeps_originals_out_of_the_database(db: Database, tmp_path: Path):
    path, _ = _file(tmp_path, b"%PDF-1.4 single machine")
    doc = _doc(path.read_bytes())
    docs.save_document(db, doc, PAGES, original=path)
    assert db.dialect == "sqlite" and not blobs.has_file(db, doc.sha256)
