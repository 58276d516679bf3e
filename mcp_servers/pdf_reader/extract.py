"""PDF text extraction: pypdfium2 fast text, normalised, with pypdf re-extraction of pages whose words are glued.

Runs as a worker process (`python -m mcp_servers.pdf_reader.extract`, request as one JSON line on stdin, results as JSON
lines on stdout) so a PDF that crashes or hangs the C parser takes down only the worker, never the server; the
parent (mcp_servers.pdf_reader.ingest) counts tokens meanwhile, on the other core. Pages are processed one at a time and
closed at once, so memory stays flat for 5,000-page files. This module imports only pypdfium2 at start (pypdf only
when needed): the worker starts in ~0.2 s.

Measured on the ten FinanceBench 10-Ks (1,831 pages): pdfium reads 200-1,000 pages/s; pypdf 13-15. pdfium glues
words on one page of them (Corning 2022 p. 82, "Incometaxes(Note7)127196"): pypdf's default mode separates them.
The "YearendedDecember31" artefact of pypdf's output on Corning's statements comes from non-breaking spaces, which
normalise() turns into plain spaces.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium

MAX_OUTLINE = 500
MAX_RENDER_PIXELS = 4000  # longest side of a rendered page image
GLUED_TOKENS_PER_PAGE = 3  # a page with this many glued tokens is re-extracted

_SPACES = re.compile(r"[ \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
# pdfium marks a hyphen at a line break as \x02; zero-width characters and control bytes only waste tokens.
_TRANSLATE: dict[int, str | None] = {**dict.fromkeys([*range(9), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]), 0x02: "-"}
_TRANSLATE.update(dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\ufffe\uffff"), None))
# Joins inside one token where a space was lost: "taxesIncome", "taxes(Note", "7)127", "benefits$727", "er31".
_JOIN = re.compile(r"[a-z][A-Z]|[a-z]\(|\)[A-Za-z0-9$]|[a-z]\$|[a-z]{2}\d")
_LONG_WORD = re.compile(r"[a-z]{20,}")
_NOT_PROSE = re.compile(r"https?:|www\.|@|/|_{3,}")
_HEADING_PATTERN = re.compile(r"(item\s+\d+[a-z]?\b|part\s+[ivx]+\b|note\s+\d+\b|\d{1,2}\.\s+[A-Z])", re.IGNORECASE)
_HEADING_SKIP = re.compile(
    r"(table of contents|index|page \d+|[\divx .\-–]+|\d{4} (annual report|form 10-k))", re.IGNORECASE
)

_render_lock = threading.Lock()  # pdfium is not thread-safe


class ExtractError(Exception):
    """A PDF that cannot be read; kind is one of not_pdf, empty_file, encrypted, corrupt, no_pages."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def normalise(raw: str) -> str:
    """Text as stored and counted: one space for any run of (non-breaking) spaces, no control or zero-width
    characters, lines stripped, at most one blank line in a row (cuts Corning's 10-Ks by ~40 % of tokens)."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").translate(_TRANSLATE)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def glued_tokens(text: str) -> int:
    """How many whitespace-separated tokens look like several words whose spaces were lost."""
    count = 0
    for token in text.split():
        if len(token) < 12 or _NOT_PROSE.search(token):
            continue
        if _LONG_WORD.search(token) or len(_JOIN.findall(token)) >= 2:
            count += 1
    return count


def is_glued(text: str) -> bool:
    """Whether a page's text has lost enough spaces to be worth extracting again another way."""
    return glued_tokens(text) >= GLUED_TOKENS_PER_PAGE


def detect_heading(text: str) -> str | None:
    """A heading-like line near the top of a page (Item 7., Note 5, Title Case lines), or None."""
    for line in text.split("\n")[:8]:
        line = line.strip()
        if len(line) < 4 or len(line) > 100 or _HEADING_SKIP.fullmatch(line):
            continue
        digits = sum(c.isdigit() for c in line)
        if digits > len(line) * 0.3:
            continue
        if _HEADING_PATTERN.match(line):
            return line
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’-]*", line) if len(w) > 3]
        if len(words) >= 2 and sum(w[0].isupper() for w in words) >= 0.75 * len(words):
            return line
    return None


def check_header(path: Path) -> None:
    """Refuse files that are not PDFs before a parser sees them."""
    with open(path, "rb") as f:
        head = f.read(1024)
    if not head:
        raise ExtractError("empty_file", f"{path.name}: the file is empty (0 bytes), not a PDF")
    if b"%PDF-" not in head:
        raise ExtractError("not_pdf", f"{path.name}: not a PDF (it starts with {head[:12]!r}, not %PDF-)")


def open_pdf(path: Path, password: str | None) -> pdfium.PdfDocument:
    """Open with pdfium, translating its error codes into messages a user can act on."""
    try:
        return pdfium.PdfDocument(str(path), password=password or None)
    except pdfium.PdfiumError as err:
        if err.err_code == 4:  # FPDF_ERR_PASSWORD
            if password:
                raise ExtractError("encrypted", f"{path.name}: wrong password for this encrypted PDF") from None
            raise ExtractError(
                "encrypted", f"{path.name}: the PDF is encrypted; call ingest again with its password"
            ) from None
        if _page_count_per_pypdf(path, password) == 0:  # pdfium refuses an empty page tree as "failed to load"
            raise ExtractError("no_pages", f"{path.name}: the PDF has no pages") from None
        raise ExtractError(
            "corrupt", f"{path.name}: cannot open the PDF ({err}); the file is corrupted or truncated"
        ) from None


def _pypdf_reader(path: Path, password: str | None) -> Any:
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    reader = pypdf.PdfReader(str(path), strict=False)
    if reader.is_encrypted:
        reader.decrypt(password or "")
    return reader


def _page_count_per_pypdf(path: Path, password: str | None) -> int | None:
    """Pages pypdf finds, or None when it cannot read the file either."""
    try:
        return len(_pypdf_reader(path, password).pages)
    except Exception:  # noqa: BLE001 - only a diagnosis: pdfium's error stands
        return None


def _metadata(pdf: pdfium.PdfDocument) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """PDF metadata and bookmarks (title, 1-based page, level), read by pdfium from the already open document.

    pypdf would give the same, but importing it and parsing the file again costs 0.3-0.5 s per ingest."""
    meta = {k.lower(): v.strip()[:500] for k, v in pdf.get_metadata_dict(skip_empty=True).items() if v.strip()}
    outline: list[dict[str, Any]] = []
    for item in pdf.get_toc(max_depth=8):
        if len(outline) >= MAX_OUTLINE:
            break
        dest = item.get_dest()
        index = dest.get_index() if dest is not None else None
        title = item.get_title().strip()
        if index is not None and title:
            outline.append({"title": title[:200], "page": index + 1, "level": item.level + 1})
    return meta, outline


def extract(path: Path, password: str | None = None) -> Iterator[dict[str, Any]]:
    """Messages: {"pages": N}, then per page {"n", "text", "x", "h"}, then {"meta", "outline", "failed"}."""
    check_header(path)
    try:
        pdf = open_pdf(path, password)
    except ExtractError as err:
        if err.kind != "corrupt":
            raise
        yield from _extract_with_pypdf(path, password, err)
        return
    reader: Any = None
    failed: list[int] = []
    try:
        count = len(pdf)
        if count == 0:
            raise ExtractError("no_pages", f"{path.name}: the PDF has no pages")
        yield {"pages": count}
        for index in range(count):
            text, extractor = "", "pdfium"
            try:
                page = pdf[index]
                try:
                    textpage = page.get_textpage()
                    text = normalise(textpage.get_text_bounded())
                    textpage.close()
                finally:
                    page.close()
            except pdfium.PdfiumError:
                failed.append(index + 1)
            if is_glued(text):
                # Keep pdfium's text when pypdf cannot read the page either.
                with contextlib.suppress(Exception):
                    reader = reader or _pypdf_reader(path, password)
                    other = normalise(reader.pages[index].extract_text())
                    if glued_tokens(other) < glued_tokens(text):
                        text, extractor = other, "pypdf"
            yield {"n": index + 1, "text": text, "x": extractor, "h": detect_heading(text)}
        meta, outline = _metadata(pdf)
        yield {"meta": meta, "outline": outline, "failed": failed}
    finally:
        pdf.close()


def _extract_with_pypdf(path: Path, password: str | None, refused: ExtractError) -> Iterator[dict[str, Any]]:
    """pypdf (lenient mode) reads some damaged files pdfium refuses to open."""
    try:
        reader = _pypdf_reader(path, password)
        count = len(reader.pages)
    except Exception:  # noqa: BLE001 - neither parser can read it: pdfium's message stands
        raise refused from None
    if count == 0:
        raise refused
    yield {"pages": count}
    failed: list[int] = []
    for index in range(count):
        try:
            text = normalise(reader.pages[index].extract_text())
        except Exception:  # noqa: BLE001 - one broken page must not lose the others
            text = ""
            failed.append(index + 1)
        yield {"n": index + 1, "text": text, "x": "pypdf", "h": detect_heading(text)}
    meta = {str(k).lstrip("/").lower(): str(v)[:500] for k, v in (reader.metadata or {}).items() if isinstance(v, str)}
    yield {"meta": meta, "outline": [], "failed": failed, "repaired": True}


def render_page_png(pdf_path: str | Path, number: int, scale: float = 1.5, password: str | None = None) -> bytes:
    """PNG of page `number` (1-based), longest side at most 4000 px."""
    with _render_lock:
        pdf = open_pdf(Path(pdf_path), password)
        try:
            if not 1 <= number <= len(pdf):
                raise ExtractError("no_page", f"page {number} does not exist; the document has {len(pdf)} pages")
            page = pdf[number - 1]
            try:
                width, height = page.get_size()
                scale = max(0.1, min(scale, MAX_RENDER_PIXELS / max(width, height, 1)))
                image = page.render(scale=scale).to_pil()
            finally:
                page.close()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _worker() -> int:
    """Worker entry point: read {"path", "password"} from stdin, stream messages to stdout, exit 2 on bad input."""
    request = json.loads(sys.stdin.readline())
    out = sys.stdout
    try:
        for message in extract(Path(request["path"]), request.get("password")):
            out.write(json.dumps(message, ensure_ascii=False) + "\n")
            out.flush()
    except ExtractError as err:
        out.write(json.dumps({"error": str(err), "kind": err.kind}) + "\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_worker())
