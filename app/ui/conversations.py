"""Conversations as a daily user expects: search, rename, export (Markdown and JSON), delete with the workspace
after a confirmation, a link per conversation (?c=ID, surviving reload), the model it ran on restored on reopen,
and regenerate / edit-and-resend as a new branch (the original stays as it was)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from agents.models.presets import PRESETS
from app.ui.backend import Backend, readable_error
from app.ui.files import show_images, workspace
from app.ui.layout import CLICK_SEND_JS, model_header
from app.ui.reopen import restore
from app.ui.render import notice_html, status_html
from app.ui.sidebar import model_choices, wants_base_url
from storage import forks, repo, workbench

if TYPE_CHECKING:
    from app.ui.chat import Chat
    from app.ui.layout import Header
    from app.ui.sidebar import Sidebar

log = logging.getLogger(__name__)

# Keeps the address bar on the open conversation, so a reload or a shared link opens it again.
LINK_JS = """(cid) => {
  const u = new URL(window.location.href);
  if (cid) u.searchParams.set('c', cid); else u.searchParams.delete('c');
  window.history.replaceState(null, '', u.toString());
  return cid;
}"""


@dataclass
class ConversationPanel:
    """The conversation panel under the header: title, rename, export, delete."""

    box: gr.Column
    title: gr.Textbox
    rename: gr.Button
    export: gr.Button
    files: gr.File
    delete: gr.Button
    confirm_row: gr.Row
    confirm: gr.Button
    cancel: gr.Button
    result: gr.Markdown


def build_conversation_panel() -> ConversationPanel:
    """Lay out the panel (inside the chat tab)."""
    with gr.Column(elem_id="k2-conv-panel") as box:  # shown by the header's ⋯ Chat button (layout.css)
        with gr.Row(equal_height=True):
            title = gr.Textbox(label="Title", elem_id="k2-conv-title", scale=3)
            rename = gr.Button("Rename", size="sm", elem_id="k2-conv-rename", scale=0, min_width=90)
        with gr.Row():
            export = gr.Button("Export Markdown + JSON", size="sm", elem_id="k2-conv-export")
            delete = gr.Button("Delete…", size="sm", variant="stop", elem_id="k2-conv-delete")
        files = gr.File(label="Export", file_count="multiple", visible=False, elem_id="k2-conv-files")
        with gr.Row(visible=False, elem_id="k2-conv-confirm-row") as confirm_row:
            gr.Markdown("Delete this conversation, its runs and its workspace files? This cannot be undone.")
            confirm = gr.Button("Delete for good", size="sm", variant="stop", elem_id="k2-conv-confirm")
            cancel = gr.Button("Cancel", size="sm", elem_id="k2-conv-cancel")
        result = gr.Markdown("", elem_id="k2-conv-result")
    return ConversationPanel(box, title, rename, export, files, delete, confirm_row, confirm, cancel, result)


def _db(backend: Backend) -> Any:
    agent = backend.opened
    if agent is None:
        raise RuntimeError("the agent is still starting")
    return agent.db


def _choices(backend: Backend, query: str = "", keep: str | None = None) -> list[tuple[str, str]]:
    """The list's (title, id) rows: all recent ones, or those matching the search; `keep` stays listed."""
    if backend.opened is None:
        return []
    rows = workbench.search_conversations(_db(backend), query) if query.strip() else repo.list_conversations(
        _db(backend))
    choices = [(c.title or "Untitled", c.id) for c in rows]
    if keep and keep not in {cid for _, cid in choices}:
        conv = repo.get_conversation(_db(backend), keep)
        if conv is not None:
            choices.insert(0, (conv.title or "Untitled", conv.id))
    return choices


def model_of(backend: Backend, conversation_id: str) -> tuple[str, str, str]:
    """(provider, model, base URL) the conversation last ran on: its last run's, else what it was created with."""
    db = _db(backend)
    runs = repo.list_runs(db, conversation_id)
    if runs:
        last = runs[-1]
        return last.provider, last.model, str((last.meta or {}).get("base_url") or "")
    conv = repo.get_conversation(db, conversation_id)
    return (conv.provider, conv.model, "") if conv is not None else ("", "", "")


def picker_updates(provider: str, model: str, base_url: str) -> tuple[Any, Any, Any, str]:
    """Sidebar picker values (provider, model, base URL) and the header for a reopened conversation."""
    if provider not in PRESETS:
        return gr.update(), gr.update(), gr.update(), gr.update()
    models = model_choices(provider)
    if model and model not in models:
        models = [model, *models]
    return (gr.update(value=provider), gr.update(choices=models, value=model or None, interactive=True),
            gr.update(value=base_url, visible=wants_base_url(provider)), model_header(provider, model))


def opened(backend: Backend, conversation_id: str) -> tuple[list[Any], str, str]:
    """(history, status line, title) of a stored conversation."""
    db = _db(backend)
    runs = repo.list_runs(db, conversation_id)
    steps = [s for r in runs for s in repo.steps_for_run(db, r.id)]
    from app.ui.swarm_history import running_here
    from storage import swarms

    history, summary = restore(repo.get_messages(db, conversation_id), steps, runs,
                               swarms.trees_for_conversation(db, conversation_id), running_here)
    conv = repo.get_conversation(db, conversation_id)
    return show_images(history, conversation_id), status_html(summary), conv.title if conv else ""


def delete_everything(backend: Backend, conversation_id: str) -> bool:
    """Delete the conversation (messages, runs, steps, artifacts) and its workspace folder."""
    ws = workspace(conversation_id)
    deleted = repo.delete_conversation(_db(backend), conversation_id)
    if ws is not None and ws.root.is_dir() and not ws.root.is_symlink():
        shutil.rmtree(ws.root)  # rmtree never follows links inside: only the workspace's own files go
    return deleted


def write_exports(backend: Backend, conversation_id: str) -> list[str]:
    """The conversation as .md and .json files in a fresh temporary folder (Gradio serves them for download)."""
    folder = Path(tempfile.mkdtemp(prefix="k2-export-"))
    stem = f"conversation-{conversation_id[:12]}"
    md, js = folder / f"{stem}.md", folder / f"{stem}.json"
    md.write_text(workbench.export_markdown(_db(backend), conversation_id), encoding="utf-8")
    js.write_text(workbench.export_json(_db(backend), conversation_id), encoding="utf-8")
    return [str(md), str(js)]


def _turn_of(history: list[Any], index: int) -> int:
    """Which user turn (0-based) the chat message at `index` belongs to."""
    roles = [(m.get("role") if isinstance(m, dict) else getattr(m, "role", "")) for m in history[: index + 1]]
    return max(0, sum(1 for r in roles if r == "user") - 1)


def wire_conversations(panel: ConversationPanel, chat: Chat, sb: Sidebar, header: Header, backend: Backend,
                       demo: gr.Blocks) -> None:
    """Search, rename, export, delete, deep link, model restore, regenerate and edit."""
    pickers = [sb.provider, sb.model, sb.base_url, header.model]

    async def search(query: str, current: str | None) -> Any:
        choices = await asyncio.to_thread(_choices, backend, query or "", current)
        return gr.update(choices=choices, value=current if current in {c for _, c in choices} else None)

    sb.search.change(search, [sb.search, chat.conversation_id], sb.conversations, show_progress="hidden")

    async def on_open(conversation_id: str | None) -> tuple[Any, ...]:
        if not conversation_id:
            return (gr.update(),) * 5
        provider, model, base = await asyncio.to_thread(model_of, backend, conversation_id)
        conv = await asyncio.to_thread(repo.get_conversation, _db(backend), conversation_id)
        return (*picker_updates(provider, model, base), conv.title if conv else "")

    sb.conversations.input(on_open, sb.conversations, [*pickers, panel.title], show_progress="hidden")
    # The address follows the open conversation (the list's value is set on open, send and new chat).
    sb.conversations.change(None, sb.conversations, None, js=LINK_JS)

    async def on_load(request: gr.Request) -> tuple[Any, ...]:
        cid = (dict(request.query_params) if request else {}).get("c")
        nothing = (gr.update(),) * 9
        if not cid:
            return nothing
        try:
            await backend.agent()
            if await asyncio.to_thread(repo.get_conversation, _db(backend), cid) is None:
                return (gr.update(), None, status_html("That conversation link points to nothing (deleted?)."),
                        *(gr.update(),) * 6)
            history, status, title = await asyncio.to_thread(opened, backend, cid)
            choices = await asyncio.to_thread(_choices, backend, "", cid)
            provider, model, base = await asyncio.to_thread(model_of, backend, cid)
        except Exception as exc:
            log.exception("opening the linked conversation %s failed", cid)
            return ([gr.ChatMessage(content=notice_html("error", readable_error(exc), "Cannot open this link."))],
                    None, "", *(gr.update(),) * 6)
        return (history, cid, status, gr.update(choices=choices, value=cid), title,
                *picker_updates(provider, model, base))

    demo.load(on_load, None, [chat.chatbot, chat.conversation_id, chat.status, sb.conversations, panel.title,
                              *pickers], show_progress="hidden")

    async def rename(title: str, cid: str | None, query: str) -> tuple[str, Any]:
        title = (title or "").strip()
        if not cid:
            return "Open or start a conversation first.", gr.update()
        if not title:
            return "A title cannot be empty.", gr.update()
        await asyncio.to_thread(repo.rename_conversation, _db(backend), cid, title[:200])
        choices = await asyncio.to_thread(_choices, backend, query or "", cid)
        return f"Renamed to “{title[:200]}”.", gr.update(choices=choices, value=cid)

    panel.rename.click(rename, [panel.title, chat.conversation_id, sb.search], [panel.result, sb.conversations])

    async def export(cid: str | None) -> tuple[Any, str]:
        if not cid:
            return gr.update(visible=False), "Open or start a conversation first."
        paths = await asyncio.to_thread(write_exports, backend, cid)
        return gr.update(value=paths, visible=True), "Markdown and JSON (tool calls included) are ready below."

    panel.export.click(export, chat.conversation_id, [panel.files, panel.result])
    panel.delete.click(lambda cid: (gr.update(visible=bool(cid)), "" if cid else "Nothing to delete yet."),
                       chat.conversation_id, [panel.confirm_row, panel.result], queue=False)
    panel.cancel.click(lambda: gr.update(visible=False), None, panel.confirm_row, queue=False)

    async def delete(cid: str | None, query: str) -> tuple[Any, ...]:
        if cid:
            await asyncio.to_thread(delete_everything, backend, cid)
        choices = await asyncio.to_thread(_choices, backend, query or "")
        return ([], None, status_html(""), gr.update(choices=choices, value=None), gr.update(visible=False),
                "The conversation and its workspace are deleted.", "", gr.update(visible=False))

    panel.confirm.click(delete, [chat.conversation_id, sb.search],
                        [chat.chatbot, chat.conversation_id, chat.status, sb.conversations, panel.confirm_row,
                         panel.result, panel.title, panel.files])

    async def branch(cid: str | None, history: list[Any], index: int, prompt: str, tag: str) -> tuple[Any, ...]:
        """A new conversation with the turns before `index`, its prompt in the composer (Send follows)."""
        if not cid or not (prompt or "").strip():
            return (gr.update(),) * 5
        db = _db(backend)
        seq = await asyncio.to_thread(forks.message_seq_of_turn, db, cid, _turn_of(history or [], index))
        if seq is None:
            return (gr.update(),) * 5
        source = await asyncio.to_thread(repo.get_conversation, db, cid)
        copy = await asyncio.to_thread(forks.copy_conversation, db, cid, seq,
                                       f"{source.title if source else 'Chat'} ({tag})")
        shown, status, title = await asyncio.to_thread(opened, backend, copy.id)
        return shown, copy.id, status, prompt, title

    branch_outputs = [chat.chatbot, chat.conversation_id, chat.status, chat.prompt, panel.title]

    async def regenerate(cid: str | None, history: list[Any], data: gr.RetryData) -> tuple[Any, ...]:
        index = data.index if isinstance(data.index, int) else data.index[0]
        value = data.value if isinstance(data.value, str) else _text_of(data.value)
        return await branch(cid, history, index, value, "regenerated")

    chat.chatbot.retry(regenerate, [chat.conversation_id, chat.chatbot], branch_outputs).then(None, js=CLICK_SEND_JS)

    async def edit(cid: str | None, history: list[Any], data: gr.EditData) -> tuple[Any, ...]:
        index = data.index if isinstance(data.index, int) else data.index[0]
        value = data.value if isinstance(data.value, str) else _text_of(data.value)
        return await branch(cid, history, index, value, "edited")

    chat.chatbot.edit(edit, [chat.conversation_id, chat.chatbot], branch_outputs).then(None, js=CLICK_SEND_JS)


def _text_of(value: Any) -> str:
    """A chat message's text whether Gradio hands a string, a dict or a list of parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("text") or value.get("content") or "")
    if isinstance(value, list):
        return "".join(_text_of(v) for v in value)
    return str(value or "")
