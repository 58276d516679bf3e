"""Replay a run against another model: a new conversation with the history before the run, whose prompt is sent
again on the chosen provider and model; the original conversation and run are untouched. The Runs tab shows the
replay's progress and a link to it."""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.ui.backend import Backend, readable_error
from app.ui.markup import shorten
from app.ui.render import RunView
from app.ui.sidebar import AUTO, model_choices, provider_choices
from app.ui.stream import stream_run

ANSWER_CHARS = 400


@dataclass
class ReplayControls:
    """Provider and model to replay the picked run on, the button, and its result."""

    provider: gr.Dropdown
    model: gr.Dropdown
    button: gr.Button
    result: gr.HTML


def build_replay() -> ReplayControls:
    """Lay out the controls (inside the Runs tab, under the timeline)."""
    with gr.Row(equal_height=True):
        provider = gr.Dropdown(provider_choices(), value=AUTO, label="Replay on provider",
                               elem_id="k2-replay-provider")
        model = gr.Dropdown([], value=None, label="Model", allow_custom_value=True, elem_id="k2-replay-model")
        button = gr.Button("Replay in a new conversation", size="sm", elem_id="k2-replay", scale=0, min_width=220)
    result = gr.HTML("", elem_id="k2-replay-result")
    return ReplayControls(provider, model, button, result)


def prepare(db: Any, run_id: str, provider: str, model: str) -> tuple[str, str, str | None, str]:
    """(new conversation id, prompt, label, base URL) for a replay: the history before the run copied; the base URL
    is the run's own when it ran on the same provider (an OpenAI-compatible server's address)."""
    from storage import forks, repo

    run = repo.get_run(db, run_id)
    if run is None:
        raise LookupError(f"No run {run_id!r}.")
    conversation_id, seq, prompt, label = forks.replay_source(db, run_id)
    source = repo.get_conversation(db, conversation_id)
    title = f"{source.title if source else 'Chat'} (replay on {model or provider or 'Auto'})"
    copy = forks.copy_conversation(db, conversation_id, seq, title[:200])
    base_url = str((run.meta or {}).get("base_url") or "") if provider == run.provider else ""
    return copy.id, prompt, label, base_url


def _line(view: RunView) -> str:
    return f'<p class="k2-status-line">{html.escape(view.status)}</p>'


def wire_replay(controls: ReplayControls, backend: Backend, run_id: gr.Textbox) -> None:
    """Model choices follow the provider; the button replays the run in the Runs tab's run box."""

    def models(provider: str) -> Any:
        ids = model_choices(provider)
        return gr.update(choices=ids, value=ids[0] if ids else None, interactive=provider != AUTO)

    controls.provider.input(models, controls.provider, controls.model, queue=False)

    async def replay(run: str, provider: str, model: str | None, request: gr.Request) -> AsyncIterator[str]:
        run = (run or "").strip()
        if not run:
            yield '<p class="k2-muted">Pick a run first.</p>'
            return
        try:
            agent = await backend.agent()
            cid, prompt, label, base_url = await asyncio.to_thread(prepare, agent.db, run, provider, model or "")
        except Exception as exc:  # a missing run or prompt is said here, never as a toast
            yield f'<p class="k2-config-errors">{html.escape(readable_error(exc))}</p>'
            return
        from agents.planner.runner import RunRequest

        auto = provider == AUTO
        req = RunRequest(prompt=prompt, label=label, conversation_id=cid, provider=None if auto else provider,
                         model=None if auto else (model or None), base_url=base_url or None)
        link = f'<a href="?c={html.escape(cid)}" id="k2-replay-link">open it</a>'
        yield f'<p class="k2-status-line">● replaying in a new conversation ({link})…</p>'
        # Its own key for Stop and the active-run table: the chat of this tab may be running at the same time.
        session = f"replay:{request.session_hash or ''}"
        view = RunView()
        async for view, event in stream_run(backend, session, lambda a: a.run(req), failure="The replay failed."):
            if event is None:
                break
            yield _line(view) + f"<p>Replay: {link}</p>"
        answer = next((str(m.content) for m in reversed(view.messages)
                       if not m.metadata and m.content and "k2-notice" not in str(m.content)), "")
        shown = f"<blockquote>{html.escape(shorten(answer, ANSWER_CHARS))}</blockquote>" if answer else ""
        done = view.finished is not None and view.finished.reason == "done"
        head = ("✓ Replayed in a new conversation" if done
                else "The replay did not finish; it is kept in a new conversation")
        yield f'{_line(view)}{shown}<p>{head}: {link}. The original is unchanged.</p>'

    controls.button.click(replay, [run_id, controls.provider, controls.model], controls.result,
                          concurrency_limit=None, show_progress="hidden")
