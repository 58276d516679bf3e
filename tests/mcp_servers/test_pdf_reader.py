"""pdf_reader server: ingest (progress, idempotence, attachment), list, outline, read_pages budgets, search,
page images, and a second process seeing the first one's documents."""

from __future__ import annotations

import base64
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from mcp_servers.pdf_reader import server as pdf_reader
from storage import documents as store
from storage import repo
from storage.db import Database
from tests.mcp_servers.conftest import REPO, ToolCaller, connect
from tests.mcp_servers.pdf_support import financebench_pdf, have_financebench, text_pdf
from tests.helpers import requires

PAGES = [
    "Item 1. Business\nWe make glass for phones.",
    "Item 7. Management Discussion\nNet sales were $14,082 million in 2021.",
    "Consolidated Statements of Income\nNet income 1,906 1,001 2021 2020\nIncome taxes (Note 7) 127 196",
    "Item 8. Financial Statements\nTotal assets 30,063",
]
FILLER = "\n".join(f"Line {i}: revenue and operating margin discussion for the segment" for i in range(30))


@pytest.fixture
def db() -> Database:
    return Database()  # the K2HUB_HOME the servers use too


@pytest.fixture
async def call() -> AsyncIterator[ToolCaller]:
    async with connect(pdf_reader.create_server()) as caller:
        yield caller


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "glass-2021.pdf"
    path.write_bytes(text_pdf(PAGES, title="Glass Co 2021 Annual Report"))
    return path


def _doc_id(text: str) -> str:
    return next(line.split(": ")[1] for line in text.splitlines() if line.startswith("id: "))


async def test_ingest_reports_progress_and_is_idempotent(call: ToolCaller, report: Path, db: Database) -> None:
    updates: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total))

    result = await call.client.call_tool("ingest", {"path": str(report)}, progress_callback=on_progress)
    text = result.content[0].text  # type: ignore[union-attr]
    assert not result.is_error, text
    assert "Ingested: Glass Co 2021 Annual Report" in text and "pages: 4 (1-based)" in text
    assert updates[0] == (0, 4) and updates[-1] == (4, 4)
    doc = store.get_document(db, _doc_id(text))
    assert doc is not None and doc.page_count == 4 and doc.token_count > 40 and doc.has_text
    assert sum(p.token_count for p in store.pages(db, doc.id, 1, 4)) == doc.token_count
    assert (Path(os.environ["K2HUB_HOME"]) / "documents" / f"{doc.sha256}.pdf").read_bytes() == report.read_bytes()

    copy = report.with_name("same-bytes.pdf")
    copy.write_bytes(report.read_bytes())
    started = time.monotonic()
    again = await call.ok("ingest", path=str(copy))
    assert time.monotonic() - started < 1.0
    assert "Already ingested (same content)" in again and _doc_id(again) == doc.id
    assert len(store.list_documents(db)) == 1


async def test_ingest_from_workspace_attaches_to_conversation(call: ToolCaller, db: Database) -> None:
    conv = repo.create_conversation(db, "analysis")
    workspace = Path(os.environ["K2HUB_HOME"]) / "workspaces" / conv.id
    workspace.mkdir(parents=True)
    (workspace / "r.pdf").write_bytes(text_pdf(PAGES))
    text = await call.ok("ingest", conversation=conv.id, path="r.pdf")
    assert "attached to this conversation" in text
    assert [d.filename for d in store.conversation_documents(db, conv.id)] == ["r.pdf"]
    listing = await call.ok("list_documents", conversation=conv.id)
    assert listing.startswith("attached to this conversation:\n- ") and "r.pdf" in listing
    # Another conversation neither lists, searches nor reads it (ids and names are not a way in).
    other = repo.create_conversation(db, "other").id
    assert "no documents in this conversation" in await call.ok("list_documents", conversation=other)
    assert "no documents to search" in await call.ok("search", conversation=other, query="revenue")
    doc_id = store.conversation_documents(db, conv.id)[0].id
    for ref in (doc_id, doc_id[:8], "r.pdf"):
        assert "in this conversation" in await call.error("read_pages", conversation=other, doc=ref)
    assert "refused" in await call.error("ingest", conversation=conv.id, path="../x.pdf")


async def test_outline_read_pages_and_budget(call: ToolCaller, report: Path) -> None:
    doc = _doc_id(await call.ok("ingest", path=str(report)))
    outline = await call.ok("outline", doc=doc[:8])
    assert "headings detected" in outline and "p. 1: Item 1. Business" in outline
    assert "p. 3: Consolidated Statements of Income" in outline

    text = await call.ok("read_pages", doc="glass-2021.pdf", first=2, last=3)
    assert "[page 2]\nItem 7. Management Discussion" in text and "[page 3]" in text and "[page 4]" not in text
    assert "truncated" not in text

    long_doc = report.with_name("long.pdf")
    long_doc.write_bytes(text_pdf([f"{page}\n{FILLER}" for page in PAGES]))
    cut = await call.ok("read_pages", doc=_doc_id(await call.ok("ingest", path=str(long_doc))), last=4, max_tokens=800)
    assert "[page 1]" in cut
    stopped = int(cut.split("truncated at page ")[1].split(":")[0])
    assert 1 < stopped <= 4 and f"continue with first={stopped}" in cut and f"[page {stopped}]" not in cut
    assert cut.count("truncated at page") == 2  # at the top (survives a cut result) and at the end

    assert "does not exist" in await call.error("read_pages", doc=doc, first=9)
    assert "no document 'nope'" in await call.error("read_pages", doc="nope")
    assert "[page 4]" in await call.ok("read_pages", doc=doc, first=4, last=99)


async def test_search_and_page_image(call: ToolCaller, report: Path) -> None:
    doc = _doc_id(await call.ok("ingest", path=str(report)))
    found = await call.ok("search", query="income taxes", docs=[doc])
    assert "p. 3" in found.splitlines()[1]
    assert "no page" in await call.ok("search", query="zebra unicorn", docs=[doc])
    result = await call.client.call_tool("page_image", {"doc": doc, "page": 2, "scale": 0.5})
    image = result.content[0]
    assert image.type == "image" and image.mime_type == "image/png"  # type: ignore[union-attr]
    png = base64.b64decode(image.data)  # type: ignore[union-attr]
    assert png.startswith(b"\x89PNG") and len(png) > 500
    assert "does not exist" in await call.error("page_image", doc=doc, page=5)


async def test_tool_descriptions_say_pages_are_one_based(call: ToolCaller) -> None:
    tools = (await call.client.list_tools()).tools
    assert {t.name for t in tools} == {"ingest", "list_documents", "outline", "read_pages", "search", "page_image"}
    for tool in tools:
        assert "1-based" in (tool.description or ""), tool.name


@requires(have_financebench("CORNING_2022_10K"), "FinanceBench PDFs not in ../shared/data")
async def test_real_report_glued_page_is_reextracted(call: ToolCaller, db: Database) -> None:
    text = await call.ok("ingest", path=str(financebench_pdf("CORNING_2022_10K")))
    assert "pages: 159" in text and "re-extracted with pypdf (words were glued): 82" in text
    page = store.page_text(db, _doc_id(text), 82) or ""
    assert "Income taxes (Note 7) 127 196" in page and "Incometaxes" not in page
    assert store.pages(db, _doc_id(text), 82, 82)[0].extractor == "pypdf"


@pytest.mark.slow
async def test_second_process_sees_documents(report: Path, http_server) -> None:  # type: ignore[no-untyped-def]
    url = http_server("mcp_servers.pdf_reader")
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("ingest", {"path": str(report)})
        assert not result.is_error, result.content
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_servers.pdf_reader"], cwd=REPO, env=dict(os.environ)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listing = (await session.call_tool("list_documents", {})).content[0].text  # type: ignore[union-attr]
        assert "glass-2021.pdf" in listing and "4 pages" in listing
        page = await session.call_tool("read_pages", {"doc": "glass-2021.pdf", "first": 3})
        assert "Income taxes (Note 7) 127 196" in page.content[0].text  # type: ignore[union-attr]
