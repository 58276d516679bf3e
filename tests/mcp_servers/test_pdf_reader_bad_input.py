"""pdf_reader on bad input: each a clear error and nothing stored; a 5,000-page file in bounded memory; a fuzz run."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text

from mcp_servers.pdf_reader import ingest as _pdf_ingest, server as pdf_reader
from mcp_servers.pdf_reader.ingest import WORKER_STALL_S, IngestError, documents_dir, ingest_pdf
from storage import documents as store
from storage.db import Database
from tests.mcp_servers.conftest import REPO, connect
from tests.mcp_servers.pdf_support import (
    encrypted_pdf,
    excerpt,
    financebench_pdf,
    have_financebench,
    image_only_pdf,
    text_pdf,
    zero_page_pdf,
)

VALID = text_pdf([f"Page {n}\nRevenue {n * 1000:,} in fiscal 2022 (Note {n})" for n in range(1, 6)])


@pytest.fixture
def db() -> Database:
    return Database()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _nothing_stored(db: Database) -> None:
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM documents")) == 0
        assert conn.scalar(text("SELECT count(*) FROM pages")) == 0
    assert list(documents_dir().iterdir()) == []


@pytest.mark.parametrize(
    ("name", "data", "kind", "message"),
    [
        ("notes.pdf", b"just some text, renamed to .pdf\n", "not_pdf", "not a PDF"),
        ("empty.pdf", b"", "empty_file", "empty (0 bytes)"),
        ("zero.pdf", zero_page_pdf(), "no_pages", "has no pages"),
        ("locked.pdf", encrypted_pdf("s3cret"), "encrypted", "encrypted; call ingest again with its password"),
        ("garbage.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40, "corrupt", "corrupted or truncated"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(
    tmp_path: Path, db: Database, name: str, data: bytes, kind: str, message: str
) -> None:
    with pytest.raises(IngestError) as caught:
        ingest_pdf(db, _write(tmp_path, name, data))
    assert caught.value.kind == kind and message in str(caught.value) and name in str(caught.value)
    _nothing_stored(db)


def test_missing_file(tmp_path: Path, db: Database) -> None:
    with pytest.raises(IngestError, match="no such file"):
        ingest_pdf(db, tmp_path / "absent.pdf")


def test_encrypted_with_password(tmp_path: Path, db: Database) -> None:
    path = _write(tmp_path, "locked.pdf", encrypted_pdf("s3cret", ["Secret revenue 1,234"]))
    with pytest.raises(IngestError, match="wrong password"):
        ingest_pdf(db, path, password="nope")
    _nothing_stored(db)
    result = ingest_pdf(db, path, password="s3cret")
    assert store.page_text(db, result.document.id, 1) == "Secret revenue 1,234"


def test_truncated_file_gives_text_or_a_clear_error(tmp_path: Path, db: Database) -> None:
    # A file cut just before its %%EOF still reads; one cut before its trailer cannot be read by either parser.
    result = ingest_pdf(db, _write(tmp_path, "cut-tail.pdf", VALID[:-8]))
    assert result.document.page_count == 5 and "Revenue 3,000" in (store.page_text(db, result.document.id, 3) or "")
    for name, cut in (("cut-half.pdf", VALID[: len(VALID) // 2]), ("cut-head.pdf", VALID[:60])):
        with pytest.raises(IngestError, match=f"{name}: cannot open the PDF .* corrupted or truncated"):
            ingest_pdf(db, _write(tmp_path, name, cut))
    assert len(store.list_documents(db)) == 1


async def test_no_text_layer_is_said(tmp_path: Path, db: Database) -> None:
    path = _write(tmp_path, "scan.pdf", image_only_pdf(pages=2))
    async with connect(pdf_reader.create_server()) as call:
        reply = await call.ok("ingest", path=str(path))
        assert "no text layer" in reply and "no OCR" in reply
        assert "no text layer" in await call.ok("read_pages", doc="scan.pdf")
        assert "no OCR" in await call.ok("read_pages", doc="scan.pdf")
        locked = _write(tmp_path, "locked.pdf", encrypted_pdf("pw"))
        assert "call ingest again with its password" in await call.error("ingest", path=str(locked))
        assert "Ingested" in await call.ok("ingest", path=str(locked), password="pw")
    assert store.get_document(db, "scan.pdf").has_text is False  # type: ignore[union-attr]


@pytest.mark.slow
def test_5000_pages_in_bounded_memory(tmp_path: Path) -> None:
    """Peak memory of a 5,000-page ingest stays close to a 500-page one (page-by-page, spooled, no images)."""
    filler = "\n".join(f"Row {i}: net sales 12,345 operating income 6,789 cash 1,011" for i in range(25))
    script = (
        "import json, resource, sys\n"
        "from storage.db import Database\n"
        "from mcp_servers.pdf_reader.ingest import ingest_pdf\n"
        "r = ingest_pdf(Database(), sys.argv[1])\n"
        "print(json.dumps({'pages': r.document.page_count, 'tokens': r.document.token_count,\n"
        "  'self_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,\n"
        "  'worker_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
    )
    peaks = {}
    for pages in (500, 5000):
        path = _write(tmp_path, f"p{pages}.pdf", text_pdf(f"Page {n}\n{filler}" for n in range(1, pages + 1)))
        run = subprocess.run(
            [sys.executable, "-c", script, str(path)], cwd=REPO, capture_output=True, timeout=300, check=False
        )
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        peaks[pages] = json.loads(run.stdout)
        assert peaks[pages]["pages"] == pages
    big, small = peaks[5000], peaks[500]
    assert big["tokens"] > 9 * small["tokens"]
    # 10x the pages: peak memory grows by far less than 10x (measured: ~+10 MB server, ~+20 MB worker).
    assert big["self_kb"] < small["self_kb"] * 1.5, peaks
    assert big["worker_kb"] < small["worker_kb"] * 2 + 50_000, peaks


def _mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    how = rng.choice(["flip", "truncate", "delete", "duplicate", "zero", "insert"])
    at = rng.randrange(len(buf))
    if how == "flip":
        for _ in range(rng.randint(1, 40)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif how == "truncate":
        del buf[at:]
    elif how == "delete":
        del buf[at : at + rng.randint(1, 2000)]
    elif how == "duplicate":
        buf[at:at] = buf[at : at + rng.randint(1, 2000)]
    elif how == "zero":
        buf[at : at + rng.randint(1, 500)] = bytes(min(len(buf) - at, rng.randint(1, 500)))
    else:
        buf[at:at] = rng.randbytes(rng.randint(1, 200))
    return bytes(buf)


@pytest.mark.slow
def test_fuzz_mutated_pdfs(tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """100 mutated PDFs (real FinanceBench pages when present): each gives text or a clear error, never a crash or
    a hang, and an error stores nothing."""
    monkeypatch.setattr(_pdf_ingest, "WORKER_STALL_S", 10.0)  # a parser loop is stopped after 10 s, not 60
    seeds = [VALID, encrypted_pdf("pw")]
    if have_financebench("CORNING_2022_10K", "3M_2018_10K"):
        seeds += [
            excerpt(financebench_pdf("CORNING_2022_10K"), 81, 83),
            excerpt(financebench_pdf("3M_2018_10K"), 60, 61),
        ]
    rng = random.Random(20240611)
    cases = [(i, _write(tmp_path, f"fuzz{i}.pdf", _mutate(rng.choice(seeds), rng))) for i in range(100)]

    def one(case: tuple[int, Path]) -> str:
        i, path = case
        t0 = time.monotonic()
        try:
            result = ingest_pdf(db, path)
        except IngestError as err:
            assert str(err).startswith(f"fuzz{i}.pdf: "), str(err)
            assert store.get_document(db, hashlib.sha256(path.read_bytes()).hexdigest()[:32]) is None
            outcome = "error"
        else:
            assert result.document.page_count >= 1
            outcome = "text"
        # No mutation may hang: the stall guard stops a parser that makes no progress (no absolute speed claim here).
        assert time.monotonic() - t0 < WORKER_STALL_S + 30, f"mutation {i} was not stopped by the stall guard"
        return outcome

    with ThreadPoolExecutor(2) as pool:  # one worker process per ingest: two at a time on two cores
        outcomes = Counter(pool.map(one, cases))
    assert outcomes["text"] > 10 and outcomes["error"] > 10, outcomes
    stored = {d.sha256 for d in store.list_documents(db)}
    assert {p.name for p in documents_dir().iterdir()} == {f"{sha}.pdf" for sha in stored}
