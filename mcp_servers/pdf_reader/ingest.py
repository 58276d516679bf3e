"""Ingest a PDF: hash, extract in a worker process, count tokens, keep the original, store pages in one transaction.

Idempotent by content: a file whose sha256 is already stored returns the stored document at once. The worker
(mcp_servers.pdf_reader.extract) streams pages as JSON lines; this process counts their o200k_base tokens (bpe-openai,
vocabulary inside its wheel, offline) while the worker extracts the next ones, and spools them to a temporary file
so memory does not grow with the page count. Only when the worker has finished cleanly are the original bytes copied
to $K2HUB_HOME/documents/<sha256>.pdf and the rows written (with PostgreSQL, the bytes too, in the same transaction,
so another app process can render the pages: local_pdf); any failure before or during that leaves nothing. Then
the document's search index is built and stored (storage/page_indexes.py), so its first search, often the moment it
is attached, only loads it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mcp_servers.common.tokens import count_tokens
from storage import blobs
from storage import documents as docs
from storage.db import Database
from storage.documents import Document
from storage.paths import data_home

log = logging.getLogger(__name__)

WORKER_STALL_S = 60.0
"""A worker that sends nothing for this long (a parser loop on a hostile file) is killed."""
WORKER_MEMORY_BYTES = 4 * 1024**3
_JUNK_TITLE = re.compile(r"[\d\s-]*|untitled|microsoft word.*|document\d*", re.IGNORECASE)

Progress = Callable[[int, int], None]


class IngestError(Exception):
    """The file cannot be ingested; the message says why and what to do."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class IngestResult:
    """What an ingest did: the stored document and whether this call created it."""

    document: Document
    created: bool
    seconds: float = 0.0
    fallback_pages: list[int] = field(default_factory=list)
    empty_pages: int = 0


def documents_dir() -> Path:
    """Where original PDFs are kept, named by sha256, so pages can be rendered later."""
    path = data_home() / "documents"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def stored_pdf(document: Document) -> Path:
    """Path of the kept original of a document in this data home (it may be missing: see local_pdf)."""
    return documents_dir() / f"{document.sha256}.pdf"


def local_pdf(db: Database, document: Document) -> Path | None:
    """The kept original on this machine, written from the shared database first when only another app process
    ingested it; None when neither has it. A file kept here before originals were stored in PostgreSQL is
    stored there on the way, so the other processes find it too."""
    kept = stored_pdf(document)
    shared = blobs.shared(db.dialect)
    if kept.is_file():
        if shared and not blobs.has_file(db, document.sha256):
            blobs.save_file(db, document.sha256, kept)
        return kept
    if shared and blobs.fetch_file(db, document.sha256, kept):
        return kept
    return None


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def ingest_pdf(
    db: Database,
    path: str | Path,
    *,
    password: str | None = None,
    progress: Progress | None = None,
    filename: str | None = None,
    source_path: str | None = None,
) -> IngestResult:
    """Ingest the PDF at path (see the module docstring); raises IngestError with an actionable message."""
    started = time.monotonic()
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file", "missing")
    sha = file_sha256(path)
    existing = docs.get_document(db, sha[:32])
    if existing is not None and existing.sha256 == sha:
        return IngestResult(existing, created=False, seconds=time.monotonic() - started)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        head, tail, stats = _run_worker(path, password, spool, progress)
        document = Document(
            id=sha[:32],
            sha256=sha,
            title=_title(tail["meta"], filename or path.name),
            filename=filename or path.name,
            source_path=source_path or str(path),
            size_bytes=path.stat().st_size,
            page_count=head["pages"],
            token_count=stats["tokens"],
            has_text=stats["text_pages"] > 0,
            meta={
                "pdf": tail["meta"],
                "outline": tail["outline"] or stats["headings"],
                "outline_source": "bookmarks" if tail["outline"] else "headings",
                "fallback_pages": stats["fallback"],
                "empty_pages": head["pages"] - stats["text_pages"],
                "unreadable_pages": tail["failed"],
            },
        )
        kept = stored_pdf(document)
        created_file = not kept.exists()
        if created_file:
            tmp = kept.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(path, tmp)
            os.replace(tmp, kept)
        try:
            spool.seek(0)
            stored = docs.save_document(db, document, _spooled(spool), original=kept)
        except BaseException:
            if created_file and docs.get_document(db, document.id) is None:
                kept.unlink(missing_ok=True)
            raise
    created = stored is document
    if created:
        _index_ahead(db, document.id)
    return IngestResult(
        stored,
        created=created,
        seconds=time.monotonic() - started,
        fallback_pages=stats["fallback"],
        empty_pages=head["pages"] - stats["text_pages"],
    )


def _index_ahead(db: Database, document_id: str) -> None:
    """Build and store the document's search index now, so the first search after it is attached (often at once:
    pre-retrieval searches before a small model's first call) loads it instead of building it."""
    from mcp_servers.pdf_reader.search import build_index  # the ranking's tables load only when a PDF is ingested

    try:
        build_index(db, document_id)
    except Exception:  # the document is stored: its first search builds the index instead
        log.warning("building the search index of %s at ingest failed", document_id, exc_info=True)


def _title(meta: dict[str, str], filename: str) -> str:
    title = (meta.get("title") or "").strip()
    return title if title and not _JUNK_TITLE.fullmatch(title) else Path(filename).stem


def _spooled(spool: IO[str]) -> Iterator[tuple[int, str, int, str]]:
    for line in spool:
        number, text, tokens, extractor = json.loads(line)
        yield number, text, tokens, extractor


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))


def _run_worker(
    path: Path, password: str | None, spool: IO[str], progress: Progress | None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Drive one extraction worker to the end; returns (head, tail, stats) or raises IngestError."""
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_servers.pdf_reader.extract"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=root,
        env=env,
        preexec_fn=_limit_memory,  # noqa: PLW1509 - no threads run in the child before exec
    )
    last = [time.monotonic()]
    done = threading.Event()
    stalled = threading.Event()

    def watchdog() -> None:
        while not done.wait(0.5):
            if time.monotonic() - last[0] > WORKER_STALL_S:
                stalled.set()
                proc.kill()
                return

    threading.Thread(target=watchdog, daemon=True).start()
    stderr_tail: list[bytes] = []
    drain = threading.Thread(target=lambda: stderr_tail.append(proc.stderr.read()[-2000:]), daemon=True)  # type: ignore[union-attr]
    drain.start()
    head: dict[str, Any] | None = None
    tail: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    stats: dict[str, Any] = {"tokens": 0, "text_pages": 0, "fallback": [], "headings": []}
    last_heading = None
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write((json.dumps({"path": str(path.resolve()), "password": password}) + "\n").encode())
        proc.stdin.close()
        for raw in proc.stdout:
            last[0] = time.monotonic()
            message = json.loads(raw)
            if "n" in message:
                text = message["text"]
                tokens = count_tokens(text)
                stats["tokens"] += tokens
                stats["text_pages"] += bool(text.strip())
                if message["x"] != "pdfium":
                    stats["fallback"].append(message["n"])
                heading = message.get("h")
                if heading and heading != last_heading and len(stats["headings"]) < 500:
                    stats["headings"].append({"title": heading, "page": message["n"], "level": 1})
                last_heading = heading or last_heading
                spool.write(json.dumps([message["n"], text, tokens, message["x"]], ensure_ascii=False) + "\n")
                if progress is not None and head is not None:
                    progress(message["n"], head["pages"])
            elif "pages" in message:
                head = message
                if progress is not None:
                    progress(0, message["pages"])
            elif "meta" in message:
                tail = message
            elif "error" in message:
                error = message
        code = proc.wait()
        drain.join(5)
    finally:
        done.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if error is not None:
        raise IngestError(error["error"], error.get("kind", "error"))
    if stalled.is_set():
        raise IngestError(f"{path.name}: the PDF parser made no progress for {WORKER_STALL_S:.0f} s and was stopped; "
                          "the file is probably damaged", "stalled")  # fmt: skip
    if code != 0 or head is None or tail is None:
        why = "it needed more than 4 GB of memory or crashed" if code and code < 0 else "the parser failed"
        detail = b"".join(stderr_tail).decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise IngestError(f"{path.name}: could not read this PDF ({why}; the file is probably corrupted). "
                          f"{detail[0][:300]}".strip(), "corrupt")  # fmt: skip
    return head, tail, stats
