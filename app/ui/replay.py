"""Replay a run against another model: a new conversation with the history before the run, whose prompt (its text and
the images attached to it) is sent again on the chosen provider and model; the original conversation and run are
untouched. The Runs tab shows the replay's progress, a Stop of its own, and a link to it."""

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
from app.ui.sidebar import AUTO, model_picker, provider_choices
from app.ui.stream import stream_run

ANSWER_CHARS = 400


@dataclass
class ReplayControls:
    """Provider and model to replay the picked run on, the button, and its result."""

    provider: gr.Dropdown
    model: gr.Dropdown
    button: gr.Button
    stop: gr.Button  # shown while a replay runs; stops only the replay (the chat may run at the same time)
    result: gr.HTML


@dataclass
class ReplaySource:
    """What a replay sends: into a new conversation holding the history before the run, the run's prompt again."""

    conversation_id: str
    prompt: str
    label: str | None  # a workflow's step name, shown instead of its internal prompt
    base_url: str  # the run's own when it ran on the same provider (an OpenAI-compatible server's address)
    images: list[Any]  # the images the user attached to the prompt (agents.planner.images.Attachment)


def build_replay() -> ReplayControls:
    """Lay out the controls (inside the Runs tab, under the timeline)."""
    with gr.Row(equal_height=True):
        provider = gr.Dropdown(provider_choices(), value=AUTO, label="Replay on provider",
                               elem_id="k2-replay-provider")
        # Auto picks the model itself: the box opens once a provider is chosen (as switching back to Auto closes it).
        model = gr.Dropdown([], value=None, label="Model", allow_custom_value=True, interactive=False,
                            elem_id="k2-replay-model")
        button = gr.Button("Replay in a new conversation", size="sm", elem_id="k2-replay", scale=0, min_width=220)
        stop = gr.Button("■ Stop replay", variant="stop", size="sm", visible=False, elem_id="k2-replay-stop", scale=0,
                         min_width=140)
    result = gr.HTML("", elem_id="k2-replay-result")
    return ReplayControls(provider, model, button, stop, result)


def prompt_images(db: Any, conversation_id: str, seq: int) -> list[Any]:
    """The images attached to the prompt at `seq`, as attachments to send again (each stored as the model saw it)."""
    from agents.planner.images import Attachment
    from storage import repo

    prompt = next((m for m in repo.get_messages(db, conversation_id) if m.seq == seq), None)
    out = []
    for entry in (prompt.extra or {}).get("_images") or [] if prompt is not None else []:
        art = repo.get_artifact(db, str(entry.get("id") or "")) if isinstance(entry, dict) else None
        if art is None or not art.mime.startswith("image/"):
            raise LookupError("An image attached to this run's prompt is no longer stored; the replay cannot send it.")
        out.append(Attachment(art.name or f"image-{art.id[:12]}", art.data))
    return out


def prepare(db: Any, run_id: str, provider: str, model: str) -> ReplaySource:
    """The replay of a run: the history before the run copied into a new conversation, the run's prompt and images."""
    from storage import forks, repo

    run = repo.get_run(db, run_id)
    if run is None:
        raise LookupError(f"No run {run_id!r}.")
    conversation_id, seq, prompt, label = forks.replay_source(db, run_id)
    images = prompt_images(db, conversation_id, seq)  # read first: a missing image leaves no half-made copy
    source = repo.get_conversation(db, conversation_id)
    title = f"{source.title if source else 'Chat'} (replay on {model or provider or 'Auto'})"
    copy = forks.copy_conversation(db, conversation_id, seq, title[:200])
    base_url = str((run.meta or {}).get("base_url") or "") if provider == run.provider else ""
    return ReplaySource(copy.id, prompt, label, base_url, images)


def _line(view: RunView) -> str:
    return f'<p class="k2-status-line">{html.escape(view.status)}</p>'


def wire_replay(controls: ReplayControls, backend: Backend, run_id: gr.Textbox) -> None:
    """Model choices follow the provider; the button replays the run in the Runs tab's run box."""

    def models(provider: str) -> Any:
        return model_picker(provider)

    controls.provider.input(models, controls.provider, controls.model, queue=False)

    def shown(result: str, running: bool) -> dict[Any, Any]:
        return {controls.result: result, controls.button: gr.update(visible=not running),
                controls.stop: gr.update(visible=running, interactive=True)}

    async def replay(run: str, provider: str, model: str | None,
                     request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        run = (run or "").strip()
        if not run:
            yield shown('<p class="k2-muted">Pick a run first.</p>', False)
            return
        try:
            agent = await backend.agent()
            src = await asyncio.to_thread(prepare, agent.db, run, provider, model or "")
        except Exception as exc:  # a missing run, prompt or image is said here, never as a toast
            yield shown(f'<p class="k2-config-errors">{html.escape(readable_error(exc))}</p>', False)
            return
        from agents.planner.runner import RunRequest

        auto = provider == AUTO
        req = RunRequest(prompt=src.prompt, label=src.label, conversation_id=src.conversation_id,
                         provider=None if auto else provider, model=None if auto else (model or None),
                         base_url=src.base_url or None, images=src.images)
        link = f'<a href="?c={html.escape(src.conversation_id)}" id="k2-replay-link">open it</a>'
        pictures = f" with {len(src.images)} image{'s' if len(src.images) != 1 else ''}" if src.images else ""
        # Its own key for Stop and the active-run table: the chat of this tab may be running at the same time.
        session = replay_session(request)
        backend.stop_requested.discard(session)  # a Stop pressed after an earlier replay ended is stale
        yield shown(f'<p class="k2-status-line">● replaying{pictures} in a new conversation ({link})…</p>', True)
        view = RunView()
        async for view, event in stream_run(backend, session, lambda a: a.run(req), failure="The replay failed."):
            if event is None:
                break
            yield shown(_line(view) + f"<p>Replay: {link}</p>", True)
        answer = next((str(m.content) for m in reversed(view.messages)
                       if not m.metadata and m.content and "k2-notice" not in str(m.content)), "")
        quote = f"<blockquote>{html.escape(shorten(answer, ANSWER_CHARS))}</blockquote>" if answer else ""
        done = view.finished is not None and view.finished.reason == "done"
        head = ("✓ Replayed in a new conversation" if done
                else "The replay did not finish; it is kept in a new conversation")
        yield shown(f'{_line(view)}{quote}<p>{head}: {link}. The original is unchanged.</p>', False)

    controls.button.click(replay, [run_id, controls.provider, controls.model],
                          [controls.result, controls.button, controls.stop], concurrency_limit=None,
                          show_progress="hidden")

    def stop(request: gr.Request) -> Any:
        backend.stop(replay_session(request))
        return gr.update(interactive=False)  # the replay's own last frame hides it

    controls.stop.click(stop, None, controls.stop, queue=False)


def replay_session(request: gr.Request) -> str:
    """The key of this page's replay in the backend's active runs (beside the chat's own, the plain session hash)."""
    return f"replay:{request.session_hash or ''}"
