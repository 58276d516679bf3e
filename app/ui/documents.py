"""Documents of a chat: upload PDFs (ingested with a progress bar and attached to the conversation), list them,
and show how the last run gave them to the model (whole, retrieval, sub-agents)."""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from app.ui.backend import Backend, readable_error
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


def build_documents() -> DocumentsPanel:
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
    return DocumentsPanel(upload, listing)


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


def _listing(backend: Backend, conversation_id: str | None) -> str:
    agent = backend.opened
    if agent is None or not conversation_id:
        return listing_html([], None)
    from agents.policy.context import last_plan
    from storage.documents import conversation_documents

    return listing_html(conversation_documents(agent.db, conversation_id), last_plan(agent.db, conversation_id))


def _ingest(
    backend_db: Any, conversation_id: str | None, paths: list[str], progress: gr.Progress
) -> tuple[str, list[str]]:
    """Ingest each file (the pdf_reader's own ingest: same store, same cache) and attach it; (conversation, errors)."""
    from mcp_servers.pdf_reader.ingest import IngestError, ingest_pdf
    from storage import documents as store
    from storage import repo

    if not conversation_id:
        title = "Documents: " + ", ".join(Path(p).name for p in paths)
        conversation_id = repo.create_conversation(backend_db, title[:60]).id
    errors: list[str] = []
    for index, path in enumerate(paths):
        name = Path(path).name

        def report(done: int, total: int, name: str = name, index: int = index) -> None:
            progress((index + done / max(total, 1)) / len(paths), desc=f"{name}: page {done} of {total}")

        try:
            result = ingest_pdf(backend_db, path, progress=report, filename=name)
        except IngestError as exc:
            errors.append(f"{name}: {exc}")
            continue
        store.attach(backend_db, conversation_id, result.document.id)
    return conversation_id, errors


def wire_documents(panel: DocumentsPanel, conversation_id: gr.State, refresh_on: list[Any], backend: Backend) -> None:
    """Upload ingests into the conversation; the list follows the conversation and refreshes after runs."""

    async def upload(
        files: list[Any] | None,
        cid: str | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's idiom
    ) -> tuple[Any, ...]:
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files or []]
        if not paths:
            return gr.update(), cid, gr.update()
        try:
            agent = await backend.agent()
            cid, errors = await asyncio.to_thread(_ingest, agent.db, cid, paths, progress)
        except Exception as exc:  # the boundary: a broken file or store becomes a message, never a toast
            log.exception("document upload failed")
            return None, cid, notice_html("error", readable_error(exc), "Upload failed.")
        listing = await asyncio.to_thread(_listing, backend, cid)
        if errors:
            listing = notice_html("error", "; ".join(errors), "Not added:") + listing
        return None, cid, listing

    panel.upload.upload(upload, [panel.upload, conversation_id], [panel.upload, conversation_id, panel.listing])

    async def refresh(cid: str | None) -> str:
        return await asyncio.to_thread(_listing, backend, cid)

    for component in refresh_on:
        component.change(refresh, conversation_id, panel.listing, queue=False, show_progress="hidden")
