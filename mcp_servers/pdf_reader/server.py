"""PDF reader MCP server: ingest PDFs once (cached by content hash), then outline, read, search and view their pages.

Documents live in the app's database (K2HUB_HOME, or DATABASE_URL), so every process sees what any other ingested.
Page numbers are 1-based everywhere (what a PDF viewer shows).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from pydantic import Field

from mcp_servers.common import cli, safe_files
from mcp_servers.common.adapter import Tools, conversation, workspace
from mcp_servers.common.database import DatabaseState, database
from mcp_servers.common.annotations import ADDITIVE, READ_ONLY, host_paths
from mcp_servers.common.paths import Workspace, library_dirs, workspace_root
from mcp_servers.pdf_reader.extract import ExtractError, render_page_png
from mcp_servers.pdf_reader.ingest import IngestError, IngestResult, ingest_pdf, local_pdf
from mcp_servers.pdf_reader.search import search_pages
from mcp_servers.pdf_reader.warm import Warmer
from mcp_servers.common.tokens import count_tokens
from storage import documents as store
from storage.db import Database
from storage.documents import Document
from storage.models import Conversation

DEFAULT_READ_TOKENS = 12_000
MAX_READ_TOKENS = 250_000
PROGRESS_EVERY_S = 0.2

DocArg = Annotated[str, Field(description="Document id (or a unique prefix of 6+ characters), file name or title")]
PageArg = Annotated[int, Field(ge=1, description="Page number, 1-based (as a PDF viewer shows it)")]


tools = Tools()


@dataclass
class ReaderState(DatabaseState):
    """The database, and while the server runs a Warmer indexing newly attached documents ahead of their first
    search (warm.py: that first search cost 3–5 s, a later one tens of milliseconds)."""

    warm: bool = True
    _holders: int = field(default=0, repr=False, compare=False)
    _warmer: Warmer | None = field(default=None, repr=False, compare=False)

    def lifespan(self) -> Callable[[MCPServer], AbstractAsyncContextManager[ReaderState]]:
        @asynccontextmanager
        async def hold(_server: MCPServer) -> AsyncIterator[ReaderState]:
            # One warmer per server, however many sessions enter the lifespan; it stops with the last of them.
            self._holders += 1
            if self.warm and self._warmer is None:
                self._warmer = Warmer(self.db)
                self._warmer.start()
            try:
                yield self
            finally:
                self._holders -= 1
                if not self._holders and self._warmer is not None:
                    self._warmer.stop()
                    self._warmer = None

        return hold


def create_server(database_url: str | None = None, root: str | os.PathLike[str] | None = None,
                  warm: bool = True) -> MCPServer:
    """Build the pdf_reader server on the app's database (default: DATABASE_URL, else K2HUB_HOME's SQLite); `warm`
    indexes attached documents in the background ahead of their first search."""
    state = ReaderState(workspace_root(root), database_url, warm=warm)
    server = MCPServer(
        "pdf_reader",
        instructions="Long PDFs (annual reports, filings): ingest a file once, then outline / read_pages / search "
        "its pages and cite them. Page numbers are 1-based, as a PDF viewer shows them.",
        lifespan=state.lifespan(),
    )
    return tools.register(server)


@tools.tool(annotations=ADDITIVE, meta=host_paths("path"))
async def ingest(
    ctx: Context,
    path: Annotated[str, Field(description="PDF path: relative to the conversation workspace, or absolute")],
    password: Annotated[str | None, Field(description="Password, for encrypted PDFs only")] = None,
) -> str:
    """Read a PDF into the document store (text of every page, full-text index) and attach it to this
        conversation; returns its id, title, page count and token count. The same file again is instant.
        Page numbers in every tool are 1-based."""
    cid, ws = conversation(ctx), workspace(ctx)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done in (0, total) or now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            anyio.from_thread.run(ctx.report_progress, done, total, f"page {done} of {total}")

    def run() -> IngestResult:
        with _readable(ws, path) as (file, source):
            return ingest_pdf(database(ctx), file, password=password, progress=progress, filename=Path(source).name,
                              source_path=source)

    try:
        result = await anyio.to_thread.run_sync(run)
    except IngestError as err:
        raise ToolError(str(err)) from None
    doc = result.document
    attached = await anyio.to_thread.run_sync(lambda: _attach(database(ctx), cid, doc.id))
    lines = [
        f"{'Ingested' if result.created else 'Already ingested (same content)'}: {doc.title}",
        f"id: {doc.id}",
        f"file: {doc.filename}",
        f"pages: {doc.page_count} (1-based)",
        f"tokens: {doc.token_count:,} (o200k_base, normalised text)",
    ]
    if result.created:
        lines.append(f"time: {result.seconds:.1f} s")
        if result.fallback_pages:
            lines.append(f"pages re-extracted with pypdf (words were glued): {_ranges(result.fallback_pages)}")
    if not doc.has_text:
        lines.append(
            "WARNING: no text layer (a scanned PDF?); there is no OCR, so read_pages and search find nothing. "
            "page_image shows the pages."
        )
    elif doc.meta.get("empty_pages"):
        lines.append(f"pages without text: {doc.meta['empty_pages']}")
    if attached:
        lines.append("attached to this conversation")
    return "\n".join(lines)


@tools.tool(annotations=READ_ONLY)
def list_documents(ctx: Context) -> str:
    """List this conversation's documents (and the user's library, if one is set) with id, pages and tokens.
        Page numbers are 1-based."""
    mine, rest = _visible(ctx)
    if not mine and not rest:
        return "no documents in this conversation yet; use ingest(path)"
    lines = []
    for heading, group in (("attached to this conversation", mine), ("in the user's library", rest)):
        if group:
            lines.append(f"{heading}:")
            lines += [f"- {_describe(d)}" for d in group[:200]]
    return "\n".join(lines)


@tools.tool(annotations=READ_ONLY)
def outline(ctx: Context, doc: DocArg) -> str:
    """The document's table of contents: PDF bookmarks, else headings detected on its pages, each with its
        1-based page number."""
    d = _document(ctx, doc)
    entries = d.meta.get("outline") or []
    source = d.meta.get("outline_source", "headings")
    if not entries:
        return f"{d.title}: no bookmarks and no headings detected ({d.page_count} pages, 1-based)"
    kind = "bookmarks" if source == "bookmarks" else "headings detected on the pages (no bookmarks in the PDF)"
    lines = [f"{d.title}: {kind}; page numbers are 1-based"]
    lines += [f"{'  ' * (e['level'] - 1)}p. {e['page']}: {e['title']}" for e in entries]
    return "\n".join(lines)


@tools.tool(annotations=READ_ONLY)
def read_pages(
    ctx: Context,
    doc: DocArg,
    first: PageArg = 1,
    last: Annotated[int | None, Field(ge=1, description="Last page, 1-based, inclusive (default: first)")] = None,
    max_tokens: Annotated[
        int, Field(ge=200, le=MAX_READ_TOKENS, description="Token budget; reading stops before exceeding it")
    ] = DEFAULT_READ_TOKENS,
) -> str:
    """Text of pages first..last (1-based, inclusive), each after a '[page N]' marker. Stops at the token
        budget with a 'truncated at page N' note saying where to continue."""
    d = _document(ctx, doc)
    last = first if last is None else last
    if first > d.page_count:
        raise ToolError(f"page {first} does not exist: {d.title} has {d.page_count} pages (1-based)")
    if last < first:
        raise ToolError(f"last ({last}) is before first ({first})")
    last = min(last, d.page_count)
    if not d.has_text:
        return f"{d.title} has no text layer (scanned?); there is no OCR. Use page_image to see its pages."
    out: list[str] = []
    used = 0
    stopped: int | None = None
    for page in store.pages(database(ctx), d.id, first, last):
        block = f"[page {page.number}]\n{page.text or '(no text on this page)'}"
        cost = page.token_count + 5
        if out and used + cost > max_tokens:
            stopped = page.number
            break
        if not out and cost > max_tokens:  # one page larger than the budget: cut it rather than return nothing
            block = _cut(block, max_tokens)
            stopped = page.number + 1 if page.number < last else None
            out.append(block + "\n[page cut at the token budget]")
            used = max_tokens
            break
        out.append(block)
        used += cost
    header = f"{d.title} ({d.id[:8]}), pages {first}-{last} of {d.page_count} (1-based), ~{used:,} tokens"
    if stopped is not None:
        note = (f"[truncated at page {stopped}: the token budget of {max_tokens:,} was reached after page "
                f"{stopped - 1}; continue with first={stopped}]")  # fmt: skip
        return "\n".join([header, note, "", "\n\n".join(out), "", note])
    return "\n".join([header, "", "\n\n".join(out)])


@tools.tool(annotations=READ_ONLY)
def search(
    ctx: Context,
    query: Annotated[str, Field(description="Question or keywords; numbers and years count")],
    docs: Annotated[
        list[str] | None,
        Field(description="Documents to search (ids, names); default: all of this conversation's"),
    ] = None,
    k: Annotated[int, Field(ge=1, le=50, description="Most pages to return")] = 8,
) -> str:
    """Find the pages most relevant to a query (full-text BM25 with finance-aware ranking); returns ranked
        1-based page numbers with snippets. Read the pages with read_pages before citing them."""
    mine, library = _visible(ctx)
    chosen = [_document(ctx, ref) for ref in docs] if docs else (mine or library)
    if not chosen:
        return "this conversation has no documents to search; ingest one first"
    hits = search_pages(database(ctx), query, [d.id for d in chosen], k=k)
    if not hits:
        return f"no page of {len(chosen)} document(s) matches {query!r}; try other words, or outline to browse"
    names = {d.id: d for d in chosen}
    lines = [f"{len(hits)} page(s) for {query!r} (page numbers are 1-based):"]
    for rank, hit in enumerate(hits, 1):
        title = names[hit.document_id].filename if hit.document_id in names else hit.document_id[:8]
        lines.append(f"{rank}. {title} ({hit.document_id[:8]}) p. {hit.number} (score {hit.score:.3f}; "
                     f"{hit.reason})\n   {hit.snippet}")  # fmt: skip
    return "\n".join(lines)


@tools.tool(annotations=READ_ONLY)
def page_image(
    ctx: Context,
    doc: DocArg,
    page: PageArg,
    scale: Annotated[float, Field(gt=0.1, le=4.0, description="Zoom; 1.0 = 72 dpi")] = 1.5,
    password: Annotated[str | None, Field(description="Password, for encrypted PDFs only")] = None,
) -> Image:
    """A PNG image of one page (1-based page number), for looking at charts, tables or scanned pages."""
    d = _document(ctx, doc)
    if page > d.page_count:
        raise ToolError(f"page {page} does not exist: {d.title} has {d.page_count} pages (1-based)")
    path = local_pdf(database(ctx), d)
    if path is None:
        raise ToolError(f"the original file of {d.title} is not stored (neither in this data home nor in the "
                        "database); ingest it again")
    try:
        return Image(data=render_page_png(path, page, scale, password), format="png")
    except ExtractError as err:
        raise ToolError(str(err)) from None


def _visible(ctx: Context) -> tuple[list[Document], list[Document]]:
    """The conversation's documents, then the user's library ones it has not attached: all a call may see."""
    mine = store.conversation_documents(database(ctx), conversation(ctx))
    ids = {d.id for d in mine}
    return mine, [d for d in store.library_documents(database(ctx), library_dirs()) if d.id not in ids]


def _document(ctx: Context, ref: str) -> Document:
    mine, library = _visible(ctx)
    found = store.get_document(database(ctx), ref, within={d.id for d in mine + library})
    if found is None:
        known = ", ".join(f"{d.id[:8]} ({d.filename})" for d in (mine + library)[:10]) or "none yet"
        raise ToolError(f"no document {ref!r} in this conversation; ingest it first. Its documents: {known}")
    return found


@contextmanager
def _readable(ws: Workspace, path: str) -> Iterator[tuple[Path, str]]:
    """(a file ingest_pdf may open by name, the source to record) for a path of the call.

    An absolute path is read as given (the planner asked the user first unless it is in a library folder); a
    relative one is copied out of the workspace through the safe file layer into a private temporary file, so
    sandboxed code cannot swap it for a link to somewhere else while it is parsed.
    """
    if os.path.isabs(path):
        yield Path(path), os.path.realpath(path)
        return
    with tempfile.TemporaryDirectory(prefix="k2hub-ingest-") as tmp:
        yield safe_files.export_file(ws, path, Path(tmp) / "document.pdf"), "/".join(ws.parts(path))


def _attach(db: Database, cid: str, document_id: str) -> bool:
    """Attach the document to the conversation, creating a row for a client outside the app (Claude Desktop)."""
    if store.attach(db, cid, document_id):
        return True
    with db.session() as s:
        s.merge(Conversation(id=cid, title=f"pdf_reader ({cid})"))
    return store.attach(db, cid, document_id)


def _describe(d: Document) -> str:
    text = "" if d.has_text else ", NO TEXT LAYER"
    return f"{d.id[:12]}  {d.filename}  ({d.title}; {d.page_count} pages, {d.token_count:,} tokens{text})"


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


def _cut(text: str, max_tokens: int) -> str:
    """Shorten text to about max_tokens tokens (characters cut by the measured ratio, then checked)."""
    tokens = count_tokens(text)
    while tokens > max_tokens and text:
        text = text[: int(len(text) * max_tokens / tokens * 0.95)]
        tokens = count_tokens(text)
    return text


def main(argv: list[str] | None = None) -> None:
    """Run the pdf_reader server on stdio, or on streamable HTTP with --http PORT."""
    parser = cli.parser("K2 Agent Hub PDF reader MCP server")
    parser.add_argument("--root", type=Path, help="directory holding one workspace per conversation")
    args = parser.parse_args(argv)
    cli.serve(create_server(root=args.root), args)


if __name__ == "__main__":
    main(sys.argv[1:])
