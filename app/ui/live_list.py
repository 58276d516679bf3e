"""The conversation list follows other tabs: a cheap periodic read of the recent titles, sent to the page only when
the list changed (a rename, a new or deleted conversation in another tab or process)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import gradio as gr

from app.ui.backend import Backend

if TYPE_CHECKING:
    from app.ui.sidebar import Sidebar

LIVE_S = 3.0


def recent(backend: Backend, keep: str | None) -> list[tuple[str, str]]:
    """(title, id) of the recent conversations, with the open one kept listed (sync: call in a thread)."""
    choices = backend.conversations()
    if keep and backend.opened is not None and keep not in {cid for _, cid in choices}:
        from storage import repo

        conv = repo.get_conversation(backend.opened.db, keep)
        if conv is not None:
            choices.insert(0, (conv.title or "Untitled", conv.id))
    return choices


def changed(fresh: list[tuple[str, str]], shown: list[Any] | None) -> bool:
    """Whether the page's list differs from the stored one (a State hands tuples back as lists)."""
    return [tuple(c) for c in (shown or [])] != [tuple(c) for c in fresh] or shown is None


def wire_live_list(sb: Sidebar, conversation_id: gr.State, backend: Backend) -> None:
    """Every LIVE_S seconds: the list of recent conversations (the open one kept), re-rendered only when it changed.
    A search in progress is left alone (its query reads message text, not worth repeating every few seconds)."""
    timer = gr.Timer(LIVE_S)
    shown = gr.State(None)  # the list this page last received from the timer

    async def tick(query: str, current: str | None, last: list[Any] | None) -> tuple[Any, Any]:
        if backend.opened is None or (query or "").strip():
            return gr.update(), gr.update()
        fresh = await asyncio.to_thread(recent, backend, current)
        if not changed(fresh, last):
            return gr.update(), gr.update()
        return gr.update(choices=fresh), fresh

    timer.tick(tick, [sb.search, conversation_id, shown], [sb.conversations, shown], show_progress="hidden",
               queue=False)
