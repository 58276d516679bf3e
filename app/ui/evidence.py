"""Evidence for every number: a page viewer at /k2hub/evidence/<row> (the cited page rendered, the quote
highlighted) that the comparison table links to, plus the chat cards showing each sub-agent's progress and cost."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from typing import Any

from gradio import ChatMessage

from agents.events import SubagentUpdate
from storage import documents, ledger
from storage.db import Database

ROUTE = "/k2hub/evidence/{row_id}"
SCALE = 1.6
_NUMBER = re.compile(r"\(?\$?\s?\d[\d,]*(?:\.\d+)?\)?%?")


def highlight_boxes(pdf_path: str, number: int, quote: str, value: str) -> list[tuple[float, float, float, float]]:
    """Boxes (left, top, right, bottom in PDF points from the top-left) of the quote on the page, found by pdfium.

    The whole quote is tried first; extracted text often breaks table rows differently, so then its line label and
    the printed numbers are searched one by one.
    """
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(pdf_path)
    try:
        page = pdf[number - 1]
        height = page.get_size()[1]
        text_page = page.get_textpage()
        label = _NUMBER.split(quote)[0].strip()
        wanted = [quote.strip()] + [p for p in (label, *_NUMBER.findall(quote), value) if p and len(p.strip()) >= 2]
        boxes: list[tuple[float, float, float, float]] = []
        for i, needle in enumerate(wanted):
            searcher = text_page.search(needle.strip(), match_case=False)
            found = searcher.get_next()
            if found:
                start, count = found
                for rect in range(text_page.count_rects(start, count)):
                    left, bottom, right, top = text_page.get_rect(rect)
                    boxes.append((left, height - top, right, height - bottom))
                if i == 0:
                    break  # the whole quote was found: nothing else to mark
        return boxes
    finally:
        pdf.close()


def evidence_html(db: Database, row_id: int) -> tuple[int, str]:
    """(HTTP status, page) for one ledger row."""
    row = ledger.get_row(db, row_id)
    if row is None:
        return 404, _page("Not found", f"<p>No ledger row {row_id}.</p>")
    title = f"{row.company} · {row.fiscal_period} · {row.metric} = {row.value} {row.currency} {row.scale}"
    facts = f"<p class='status {row.status}'>{html.escape(row.status)}{_note(row)}</p>"
    if row.method == "derived":
        inputs = " ".join(f"<a href='{ROUTE.format(row_id=i)}'>row {i}</a>" for i in row.inputs or [])
        return 200, _page(
            title,
            f"{facts}<p><b>Derived by code:</b> <code>{html.escape(row.formula or '')}</code>"
            f"</p><p>Inputs: {inputs}</p>",
        )
    doc = documents.get_document(db, row.document_id or "")
    if doc is None or row.page is None:
        return 404, _page(title, f"{facts}<p>The source document is no longer stored.</p>")
    quote = html.escape(row.quote or "")
    head = (
        f"{facts}<p><b>{html.escape(doc.filename)}</b>, page {row.page} of {doc.page_count}</p>"
        f"<blockquote>{quote}</blockquote>"
    )
    image = _page_image(db, doc, row.page, row.quote or "", row.value)
    if image is not None:
        return 200, _page(title, head + image)
    text = html.escape(documents.page_text(db, doc.id, row.page) or "")
    if quote and quote in text:
        text = text.replace(quote, f"<mark>{quote}</mark>")
    return 200, _page(title, head + f"<p>(page image unavailable: the page text)</p><pre>{text}</pre>")


def _page_image(db: Database, doc: documents.Document, number: int, quote: str, value: str) -> str | None:
    try:
        from mcp_servers.pdf_reader.extract import render_page_png
        from mcp_servers.pdf_reader.ingest import local_pdf

        path = local_pdf(db, doc)  # another app process may have ingested it: the bytes come from PostgreSQL
        if path is None:
            return None
        png = render_page_png(path, number, scale=SCALE)
        boxes = highlight_boxes(str(path), number, quote, value)
    except Exception:  # noqa: BLE001 - a missing or unreadable original: fall back to the page text
        return None
    marks = "".join(
        f"<div class='hl' style='left:{l * SCALE:.0f}px;top:{t * SCALE:.0f}px;width:{(r - l) * SCALE + 2:.0f}px;"
        f"height:{(b - t) * SCALE + 2:.0f}px'></div>"
        for l, t, r, b in boxes
    )
    data = base64.b64encode(png).decode()
    return (
        f"<p>{len(boxes)} highlighted region(s)</p><div class='sheet'>"
        f"<img alt='page {number}' src='data:image/png;base64,{data}'>{marks}</div>"
    )


def _note(row: ledger.KpiRow) -> str:
    return f" — {html.escape(row.note)}" if row.note else ""


def _page(title: str, body: str) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>
body{{font-family:system-ui,sans-serif;margin:1.5rem;color:#1e293b}} h1{{font-size:1.15rem}}
blockquote{{border-left:4px solid #facc15;background:#fefce8;margin:.5rem 0;padding:.4rem .8rem}}
.sheet{{position:relative;display:inline-block;box-shadow:0 1px 6px #0003}} .sheet img{{display:block}}
.hl{{position:absolute;background:rgba(250,204,21,.38);outline:2px solid #eab308;border-radius:2px}}
.status.conflict{{color:#b45309}} .status.rejected{{color:#b91c1c}} pre{{white-space:pre-wrap}}
</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"""


def mount(app: Any, database: Callable[[], Database | None]) -> None:
    """Serve the viewer on the UI's own server (call after launch; database() is None until the agent is open)."""
    import asyncio

    from fastapi.responses import HTMLResponse

    async def evidence(row_id: int) -> HTMLResponse:
        db = database()
        if db is None:
            return HTMLResponse(_page("Starting", "<p>The app is still starting; reload in a moment.</p>"), 503)
        status, page = await asyncio.to_thread(evidence_html, db, row_id)
        return HTMLResponse(page, status)

    app.add_api_route(ROUTE, evidence, methods=["GET"], response_class=HTMLResponse)


def subagent_card(event: SubagentUpdate, card: ChatMessage | None = None) -> ChatMessage:
    """One chat card per sub-agent (report): status, steps, tokens, cost, rows; updated in place."""
    done = event.status != "running"
    body = (
        f"{event.steps} steps · {event.tokens:,} tokens · ${event.cost_usd:.4f} · {event.elapsed_s:.1f} s"
        + (f"\n{event.rows} row(s) recorded, {event.rejected} rejected" if done else "")
        + (f"\n{event.error}" if event.error else "")
    )
    title = f"⚙ sub-agent · {event.title} · {event.status}"
    if card is None:
        return ChatMessage(
            role="assistant", content=body, metadata={"title": title, "status": "done" if done else "pending"}
        )
    card.content = body
    card.metadata = {**(card.metadata or {}), "title": title, "status": "done" if done else "pending"}
    return card
