"""The refactoring-session part of the COBOL tab: start a session from the opened project, draft the plan, edit and save
it, generate & verify with the progress streamed, then the per-program status table and the final report.

Every step is stored (agents/workflows/cobol_session.py): reopening a session from the list shows where it stands, and pressing
the step's button again resumes a run a crash interrupted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from agents.errors import AppError
from app.ui.backend import Backend, readable_error
from app.ui.plain_error import in_user_words
from app.ui.render import notice_html
from app.ui.sidebar import AUTO, Sidebar, wants_base_url
from app.ui.stream import stream_run

log = logging.getLogger(__name__)
STAGE_HELP = {
    "analyzed": "analysed — draft the plan next",
    "planned": "plan saved — edit it if needed, then Generate & verify",
    "generating": "generating Go (press Generate & verify to resume after a restart)",
    "verifying": "verifying against the COBOL (press Generate & verify to resume after a restart)",
    "done": "done — see the report",
    "failed": "the last run failed — fix the plan or press Generate & verify again",
}


@dataclass
class SessionPanel:
    start: gr.Button
    sessions: gr.Dropdown
    status: gr.Markdown
    draft: gr.Button
    save: gr.Button
    generate: gr.Button
    stop: gr.Button
    plan: gr.Textbox
    progress: gr.Chatbot
    table: gr.Dataframe
    report: gr.Markdown
    session_id: gr.State


def build_session_panel() -> SessionPanel:
    """The session components (inside the COBOL tab, under the map)."""
    from agents.workflows.cobol_report import TABLE_HEADERS

    gr.Markdown("### Refactoring session", elem_classes=["k2-cobol-heading"])
    with gr.Row(equal_height=True):
        start = gr.Button("Start session", scale=0, interactive=False, elem_id="k2-cobol-start")
        sessions = gr.Dropdown(label="or reopen a session", choices=[], scale=2, elem_id="k2-cobol-sessions")
    status = gr.Markdown(elem_id="k2-cobol-session-status")
    with gr.Row():
        # Nothing runs before a session exists: each step is enabled (and the next one highlighted) by its stage.
        draft = gr.Button("1 · Draft plan", scale=0, interactive=False, elem_id="k2-cobol-draft")
        save = gr.Button("2 · Save plan", scale=0, interactive=False, elem_id="k2-cobol-save")
        generate = gr.Button("3 · Generate & verify", scale=0, interactive=False, elem_id="k2-cobol-generate")
        stop = gr.Button("■ Stop", variant="stop", scale=0, interactive=False, elem_id="k2-cobol-stop")
    plan = gr.Textbox(
        label="Migration plan (markdown; edit it, then Save plan — generation follows the saved text)",
        lines=14,
        max_lines=40,
        interactive=True,
        elem_id="k2-cobol-plan",
    )
    progress = gr.Chatbot(
        value=[], label="Progress", height=360, elem_id="k2-cobol-progress", group_consecutive_messages=True
    )
    table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, elem_id="k2-cobol-status", wrap=True)
    report = gr.Markdown(elem_id="k2-cobol-report")
    return SessionPanel(start, sessions, status, draft, save, generate, stop, plan, progress, table, report, gr.State())


def _model(provider: str, model: str | None, base_url: str) -> dict[str, Any]:
    """The sidebar's model choice as RunRequest fields (Auto lets the planner pick)."""
    if provider == AUTO:
        return {}
    return {
        "provider": provider,
        "model": model or None,
        "base_url": (base_url or None) if wants_base_url(provider) else None,
    }


def step_buttons(panel: SessionPanel, stage: str | None, has_plan: bool, running: bool = False) -> dict[Any, Any]:
    """Which steps can run at this stage, the next one as the primary action (no session: none can; while a step
    runs, only Stop)."""
    can_draft = stage is not None and stage not in ("generating", "verifying") and not running
    can_generate = stage is not None and has_plan and not running
    primary = {
        "analyzed": panel.draft, "planned": panel.generate, "generating": panel.generate,
        "verifying": panel.generate, "failed": panel.generate if has_plan else panel.draft,
    }.get(stage or "")  # fmt: skip
    wanted = {panel.draft: can_draft, panel.save: stage is not None and not running, panel.generate: can_generate}
    out = {b: gr.update(interactive=on, variant="primary" if b is primary else "secondary") for b, on in wanted.items()}
    out[panel.stop] = gr.update(interactive=stage is not None)
    out[panel.start] = gr.update(variant="secondary" if stage is not None else "primary")
    return out


def _status_line(session: Any, note: str = "") -> str:
    stage = STAGE_HELP.get(session.stage, session.stage)
    line = f"**Session {session.id[:8]}** · stage **{session.stage}** ({stage}) · project `{session.project_path}/` "
    line += f"from {session.source or 'an upload'} · the conversation is in the sidebar's list (Chat tab)"
    if session.error:
        line += f"\n\n{notice_html('error', in_user_words(session.error), 'The last step failed.')}"
    return line + (f"\n\n{note}" if note else "")


def wire_session_panel(panel: SessionPanel, root: gr.State, sb: Sidebar, backend: Backend) -> None:
    """Handlers: start / reopen a session, draft, save, generate & verify (streamed), stop."""
    from agents.workflows import cobol_report, cobol_session
    from storage import cobol_sessions

    def snapshot(agent: Any, session_id: str, running: bool = False) -> dict[Any, Any]:
        session = cobol_sessions.get_session(agent.db, session_id)
        rows = cobol_sessions.programs(agent.db, session_id)
        return {
            panel.status: _status_line(session),
            panel.table: cobol_report.table_rows(rows),
            panel.report: cobol_session.report(agent, session_id) if session.stage in ("done", "failed") else "",
            **step_buttons(panel, session.stage, bool(session.plan.strip()), running),
        }

    def choices(agent: Any) -> list[tuple[str, str]]:
        return [
            (f"{s.id[:8]} · {s.source.rsplit('/', 1)[-1] or s.project_path} · {s.stage}", s.id)
            for s in cobol_sessions.list_sessions(agent.db)
        ]

    async def start(project_root: str | None) -> dict[Any, Any]:
        if not project_root:
            raise gr.Error("Open a project first (folder or .zip, then Analyze)")
        try:
            agent = await backend.agent()
            session = await cobol_session.start(agent, project_root)
            out = await asyncio.to_thread(snapshot, agent, session.id)
            listed = await asyncio.to_thread(choices, agent)
        except Exception as exc:
            log.exception("starting a COBOL session failed")
            raise gr.Error(readable_error(exc)) from None
        return {**out, panel.session_id: session.id, panel.plan: "", panel.progress: [],
                panel.sessions: gr.update(choices=listed, value=session.id)}  # fmt: skip

    async def reopen(session_id: str | None) -> dict[Any, Any]:
        if not session_id:
            return {}
        agent = await backend.agent()
        session = await asyncio.to_thread(cobol_sessions.get_session, agent.db, session_id)
        if session is None:
            raise gr.Error("That session no longer exists")
        out = await asyncio.to_thread(snapshot, agent, session_id)
        return {**out, panel.session_id: session_id, panel.plan: session.plan, panel.progress: []}

    async def stream(
        kind: str, session_id: str | None, model: dict[str, Any], request: gr.Request
    ) -> AsyncIterator[dict[Any, Any]]:
        if not session_id:
            raise gr.Error("Start a session first (or reopen one)")
        agent = await backend.agent()
        session_key = request.session_hash or ""
        backend.stop_requested.discard(session_key)
        steps = {"plan": cobol_session.plan, "generate": cobol_session.generate_and_verify}
        yield step_buttons(panel, "running", True, running=True)  # only Stop while the step runs
        start = lambda opened: steps[kind](opened, session_id, **model)  # noqa: E731
        async for view, event in stream_run(backend, session_key, start, failure="Step failed."):
            if event is None:
                break
            frame = {panel.progress: view.messages}
            if event.type in ("tool_call_finished", "run_started"):  # the status table follows the verify calls
                frame.update(await asyncio.to_thread(snapshot, agent, session_id, True))
            yield frame
        final = await asyncio.to_thread(snapshot, agent, session_id)
        session = await asyncio.to_thread(cobol_sessions.get_session, agent.db, session_id)
        listed = await asyncio.to_thread(choices, agent)
        yield {**final, panel.progress: view.messages, panel.sessions: gr.update(choices=listed, value=session_id),
               **({panel.plan: session.plan} if kind == "plan" else {})}  # fmt: skip

    async def draft(
        session_id: str | None, provider: str, model: str | None, base_url: str, request: gr.Request
    ) -> AsyncIterator[dict[Any, Any]]:
        async for frame in stream("plan", session_id, _model(provider, model, base_url), request):
            yield frame

    async def generate(
        session_id: str | None, text: str, provider: str, model: str | None, base_url: str, request: gr.Request
    ) -> AsyncIterator[dict[Any, Any]]:
        if session_id and (text or "").strip():  # unsaved edits in the box are what the user means: save them first
            agent = await backend.agent()
            stored = await asyncio.to_thread(cobol_sessions.get_session, agent.db, session_id)
            if stored is not None and stored.plan.strip() != text.strip():
                await cobol_session.save_plan(agent, session_id, text)
        async for frame in stream("generate", session_id, _model(provider, model, base_url), request):
            yield frame

    async def save(session_id: str | None, text: str) -> dict[Any, Any]:
        if not session_id:
            raise gr.Error("Start a session first (or reopen one)")
        agent = await backend.agent()
        try:
            await cobol_session.save_plan(agent, session_id, text or "")
        except AppError as exc:
            raise gr.Error(readable_error(exc)) from None
        out = await asyncio.to_thread(snapshot, agent, session_id)
        out[panel.status] += "\n\nPlan saved (also as `migration/plan.md` in the workspace)."
        return out

    def stop(request: gr.Request) -> None:
        backend.stop(request.session_hash or "")

    buttons = [panel.start, panel.draft, panel.save, panel.generate, panel.stop]
    everything = [panel.status, panel.table, panel.report, panel.session_id, panel.plan, panel.progress, panel.sessions,
                  *buttons]
    model_inputs = [sb.provider, sb.model, sb.base_url]
    panel.start.click(start, [root], everything)
    panel.sessions.input(reopen, [panel.sessions], everything)
    panel.draft.click(draft, [panel.session_id, *model_inputs], everything, concurrency_limit=None)
    panel.save.click(save, [panel.session_id, panel.plan], [panel.status, panel.table, panel.report, *buttons])
    panel.generate.click(generate, [panel.session_id, panel.plan, *model_inputs], everything, concurrency_limit=None)
    panel.stop.click(stop, None, None, queue=False)
