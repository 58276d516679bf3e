"""Documents of a chat: upload PDFs (ingested with one progress bar per file, on its chip above the composer, and
attached to the conversation), list them, remove one (✕ on its chip), and show how the last run gave them to the model
(whole, retrieval, sub-agents)."""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass
from pathlib import Path
from collections.abc import AsyncIterator, Callable
from typing import Any

import gradio as gr

from app.ui.backend import Backend, readable_error
from app.ui.doc_chips import INGESTS, REMOVE_JS, WAIT_TICK_S, chips_html
from app.ui.render import notice_html

log = logging.getLogger(__name__)

MODE_LABELS = {
    "whole": "sent whole",
    "retrieval": "retrieval (search + read pages)",
    "sub_agents": "one sub-agent per document",
}


@dataclass
class DocumentsPanel:
    """The upload control and the list of the conversation's documents."""

    upload: gr.File
    listing: gr.HTML
    chips: gr.HTML  # above the composer (build_doc_chips, placed by the chat column)


def build_doc_chips() -> gr.HTML:
    """The line of the chat's documents above the composer (filled by wire_documents)."""
    return gr.HTML("", elem_id="k2-doc-chips", js_on_load=REMOVE_JS)


def build_documents(chips: gr.HTML) -> DocumentsPanel:
    """Lay out the panel (inside the chat column, under the composer)."""
    with gr.Accordion("Documents", open=False, elem_id="k2-docs"):
        upload = gr.File(
            label="Add PDFs to this chat",
            file_types=[".pdf"],
            file_count="multiple",
            elem_id="k2-doc-upload",
            height=130,
        )
        listing = gr.HTML(listing_html([], None), elem_id="k2-doc-list")
    return DocumentsPanel(upload, listing, chips)


def listing_html(documents: list[Any], plan: dict[str, Any] | None) -> str:
    """The conversation's documents (title, pages, tokens) and the last run's mode."""
    if not documents:
        return "<div class='k2-doc-empty'>No documents in this chat. Upload PDFs; the agent reads them with page numbers.</div>"
    rows = "".join(
        f"<tr><td>{html.escape(d.title)}</td><td class='k2-num'>{d.page_count:,}</td>"
        f"<td class='k2-num'>{d.token_count:,}</td><td><code>{d.id[:8]}</code></td></tr>"
        for d in documents
    )
    mode = ""
    if plan and plan.get("mode") in MODE_LABELS:
        mode = (
            f"<div class='k2-doc-mode'>Last run: <b>{MODE_LABELS[plan['mode']]}</b> — "
            f"{plan.get('needed', 0):,} tokens, {plan.get('available', 0):,} available</div>"
        )
    return (
        "<table class='k2-doc-table'><thead><tr><th>title</th><th>pages</th><th>tokens</th><th>id</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>{mode}"
    )


def _documents(backend: Backend, conversation_id: str | None) -> list[Any]:
    agent = backend.opened
    if agent is None or not conversation_id:
        return []
    from storage.documents import conversation_documents

    return conversation_documents(agent.db, conversation_id)


def _views(backend: Backend, conversation_id: str | None, notice: str = "") -> tuple[str, str]:
    """The list (under `notice`) and the chips of the conversation's documents, from one read of them."""
    documents = _documents(backend, conversation_id)
    agent = backend.opened
    plan = None
    if agent is not None and conversation_id:
        from agents.policy.context import last_plan

        plan = last_plan(agent.db, conversation_id)
    return notice + listing_html(documents, plan), chips_html(documents)


def _conversation_for(backend_db: Any, conversation_id: str | None, paths: list[str]) -> str:
    """The chat the files go to: the open one, or a new one named after them."""
    from storage import repo

    if conversation_id:
        return conversation_id
    title = "Documents: " + ", ".join(Path(p).name for p in paths)
    return repo.create_conversation(backend_db, title[:60]).id


def _ingest(
    backend_db: Any, conversation_id: str, paths: list[str], progress: Callable[[int, int, int], None]
) -> list[str]:
    """Ingest each file (the pdf_reader's own ingest: same store, same cache) and attach it; the errors.
    `progress(file index, pages done, pages)` follows the pages."""
    from mcp_servers.pdf_reader.ingest import IngestError, ingest_pdf
    from storage import documents as store

    errors: list[str] = []
    for index, path in enumerate(paths):
        name = Path(path).name

        def report(done: int, total: int, index: int = index) -> None:
            progress(index, done, total)

        try:
            result = ingest_pdf(backend_db, path, progress=report, filename=name)
        except IngestError as exc:
            errors.append(f"{name}: {exc}")
            continue
        store.attach(backend_db, conversation_id, result.document.id)
    return errors


def wire_documents(panel: DocumentsPanel, conversation_id: gr.State, refresh_on: list[Any], backend: Backend) -> None:
    """Upload ingests into the conversation (a send meanwhile waits for it: doc_chips.INGESTS); the list and the
    chips follow the conversation and refresh after runs; ✕ on a chip detaches that document."""
    chips = panel.chips
    # The last upload's failure per conversation, part of what the list shows: every refresh draws the same thing, so
    # a refresh racing the upload's own answer (Gradio does not order them) cannot blank the message.
    failures: dict[str, str] = {}

    async def refresh(cid: str | None) -> tuple[str, str]:
        return await asyncio.to_thread(_views, backend, cid, failures.get(cid or "", ""))

    async def upload(files: list[Any] | None, cid: str | None, request: gr.Request) -> AsyncIterator[tuple[Any, ...]]:
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files or []]
        if not paths:
            yield gr.update(), cid, gr.update(), gr.update()
            return
        session = request.session_hash or ""
        shown = cid  # the page keeps this until the files are attached (see below)
        try:
            agent = await backend.agent()
            cid = await asyncio.to_thread(_conversation_for, agent.db, cid, paths)
        except Exception as exc:  # the boundary: a broken store becomes a message, never a toast
            log.exception("document upload failed")
            listing, _ = await asyncio.to_thread(_views, backend, shown,
                                                 notice_html("error", readable_error(exc), "Upload failed."))
            yield None, shown, listing, gr.update()
            return
        failures.pop(cid, None)
        job = INGESTS.start(session, cid, [Path(p).name for p in paths])
        try:
            attached = await asyncio.to_thread(_documents, backend, cid)
            task = asyncio.ensure_future(asyncio.to_thread(_ingest, agent.db, cid, paths, job.report))
            # The new conversation's id reaches the page only with the final listing: its change event refreshes
            # the list too, and a refresh started before the files were attached could land after the final
            # listing and blank it. A send meanwhile finds the conversation through INGESTS.
            while not task.done():  # one bar: the chip of the file being read (Gradio draws none of its own)
                yield gr.update(), shown, gr.update(), chips_html(attached, job)
                await asyncio.wait([task], timeout=WAIT_TICK_S)
            errors = task.result()
        except Exception as exc:
            log.exception("document upload failed")
            errors = [readable_error(exc)]
        finally:
            INGESTS.end(session, job)
        if errors:
            failures[cid] = notice_html("error", "; ".join(errors), "Not added:")
        yield (None, cid, *await refresh(cid))

    panel.upload.upload(upload, [panel.upload, conversation_id], [panel.upload, conversation_id, panel.listing, chips],
                        show_progress="hidden", concurrency_limit=None)

    for component in refresh_on:
        component.change(refresh, conversation_id, [panel.listing, chips], queue=False,
                         show_progress="hidden")

    async def remove(cid: str | None, event: gr.EventData) -> tuple[str, str]:
        document_id = str((getattr(event, "_data", None) or {}).get("doc") or "")
        agent = backend.opened
        if agent is not None and cid and document_id:
            from storage.documents import detach

            await asyncio.to_thread(detach, agent.db, cid, document_id)
        return await refresh(cid)

    chips.click(remove, conversation_id, [panel.listing, chips], show_progress="hidden")
