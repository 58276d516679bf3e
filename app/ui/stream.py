"""Streams a run into the UI: the one loop that chat, approvals and the COBOL session share.

Events go into a RunView; a frame is yielded at most every FRAME_S for token deltas (the browser needs ~20 frames
a second to look live; deltas can arrive hundreds per second) and for every other event. The run's id is noted for
Stop (a Stop pressed before the run began stops it as soon as it starts); whatever breaks becomes an error notice in
the view, never a bare toast.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING

from gradio import ChatMessage

from agents.events import Event, RunStarted
from app.ui.backend import Backend, readable_error
from app.ui.render import RunView, notice_html

if TYPE_CHECKING:
    from agents.planner.runner import Agent

log = logging.getLogger(__name__)

FRAME_S = 0.05


async def stream_run(
    backend: Backend,
    session: str,
    start: Callable[[Agent], AsyncIterator[Event]],
    *,
    failure: str,
    frame_s: float = FRAME_S,
    view: RunView | None = None,
) -> AsyncIterator[tuple[RunView, Event | None]]:
    """(view, event) per frame while `start(agent)` runs, then (view, None) once it ended (or failed: `failure` titles
    the error notice). The caller clears a stale Stop (backend.stop_requested) before its first frame."""
    view = view or RunView()  # the caller may hand in one that knows more (e.g. documents are attached)
    try:
        agent = await backend.agent()
        last = 0.0
        async with aclosing(start(agent)) as events:  # type: ignore[type-var]
            async for event in events:
                view.apply(event)
                if isinstance(event, RunStarted):
                    backend.active[session] = event.run_id
                    if session in backend.stop_requested:  # Stop was pressed before the run began
                        agent.stop(event.run_id)
                now = time.monotonic()
                if now - last >= frame_s or not event.type.endswith("_delta"):
                    last = now
                    yield view, event
    except Exception as exc:  # the boundary: whatever broke becomes a message in the view
        log.exception("%s", failure)
        view.messages.append(ChatMessage(content=notice_html("error", readable_error(exc), failure)))
        view.status = "■ failed"
    finally:
        backend.active.pop(session, None)
        backend.stop_requested.discard(session)
    yield view, None
