"""The chat column: streaming a run into the Chatbot, Stop, New chat, reopening a stored conversation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from agents.errors import AppError
from app.ui.approvals import ApprovalPanel, build_approval_panel, wire_approvals
from app.ui.approvals import refresh_after as refresh_approvals
from app.ui.backend import Backend, readable_error
from app.ui.doc_chips import INGESTS
from app.ui.documents import build_doc_chips
from app.ui.files import show_images
from app.ui.images import (AttachBox, attach_button, chips_box, latest_user_images, read_attachments,
                           show_step_images, step_images_html, wire_attach)
from app.ui.questions import QuestionPanel, build_question_panel, question_updates
from app.ui.render import RunView, notice_html, status_html
from app.ui.reopen import restore
from app.ui.swarm_history import running_here
from app.ui.swarm_tree import SwarmControls, build_swarm_controls, wire_swarm_controls
from app.ui.sidebar import AUTO, Sidebar, tools_need_attention, tools_panel, wants_base_url
from app.ui.stream import stream_run

log = logging.getLogger(__name__)

PLACEHOLDER = (
    "<div class='k2-empty'><h2>Ask Kimi K2 anything</h2>"
    "<p>Reasoning, tool calls and the answer stream here. Files the agent writes land in this chat's workspace.</p></div>"
)

FIT_HELD = ("⚠ Not sent: the attached documents cannot be sent whole to this model (see below). Choose Send anyway "
            "(the model searches them) or a bigger model.")


@dataclass
class Chat:
    """The chat column's components."""

    chatbot: gr.Chatbot
    status: gr.HTML
    prompt: gr.Textbox
    send: gr.Button
    stop: gr.Button
    conversation_id: gr.State
    approval: ApprovalPanel | None = None  # Approve / Deny for risky calls waiting in this conversation
    question: QuestionPanel | None = None  # a server's question (elicitation) while its tool call waits
    attach: AttachBox | None = None  # images waiting to go with the next message (issue 21)
    swarm: SwarmControls | None = None  # per-branch stop while an agent swarm runs
    resume: gr.Button | None = None  # ▶ Continue a stopped partial answer (app/ui/continue_run.py)
    ended: list[Any] = field(default_factory=list)  # events after which a run may have ended or a chat was opened
    doc_chips: gr.HTML | None = None  # the chat's documents above the composer (app/ui/documents.py fills it)
    # Set by app/ui/fit_notice.py while the chat's documents cannot be sent whole to the chosen model: a send then
    # waits for the user's choice ({"key": ..., "ack": bool}; None while everything fits).
    fit_gate: gr.State = field(default_factory=lambda: gr.State(None))

    def question_outputs(self) -> list[Any]:
        q = self.question
        return [q.box, q.current, q.header, q.error] if q is not None else []


def build_chat(budget: str = "") -> Chat:
    """Lay out the chat column (inside the caller's Column); `budget` is render.budget_html's line."""
    chatbot = gr.Chatbot(
        value=[],
        show_label=False,
        elem_id="k2-chat",
        placeholder=PLACEHOLDER,
        feedback_options=None,
        buttons=["copy", "copy_all"],  # a copy button on every message, and one for the whole chat
        editable="user",  # edit and resend a prompt (app/ui/conversations.py makes it a new branch)
        # One bubble per turn: thinking, tool cards and the answer read as one reply.
        group_consecutive_messages=True,
        scale=1,
        height="100%",
        min_height=360,
    )
    status = gr.HTML(status_html(""), elem_id="k2-status")
    resume = gr.Button("▶ Continue", visible=False, size="sm", elem_id="k2-continue")
    approval = build_approval_panel()
    question = build_question_panel()
    doc_chips = build_doc_chips()
    with gr.Row(elem_id="k2-composer", equal_height=True):
        image_button = attach_button()
        prompt = gr.Textbox(
            placeholder="Message K2…  (Enter to send, Shift+Enter for a new line)",
            show_label=False,
            lines=1,
            max_lines=8,
            scale=1,
            container=False,
            elem_id="k2-prompt",
            autofocus=True,
        )
        send = gr.Button("Send", variant="primary", scale=0, min_width=88, elem_id="k2-send")
        stop = gr.Button("■ Stop", variant="stop", scale=0, min_width=88, visible=False, elem_id="k2-stop")
    attach = AttachBox(image_button, gr.State([]), chips_box())
    swarm = build_swarm_controls()  # stop one sub-agent of a running swarm (app/ui/swarm_tree.py)
    if budget:
        gr.HTML(budget, elem_id="k2-budget")
    return Chat(chatbot, status, prompt, send, stop, gr.State(None), approval, question, attach, swarm, resume,
                doc_chips=doc_chips)


def wire_chat(chat: Chat, sb: Sidebar, backend: Backend) -> None:
    """Connect send/stop/new chat/conversation list to the backend."""
    settings = backend.settings
    if chat.question is not None:
        chat.question.backend = backend

    async def send(
        prompt: str,
        history: list[Any],
        conversation_id: str | None,
        provider: str,
        model: str | None,
        base_url: str,
        pending: list[str],
        gate: dict[str, Any] | None,
        request: gr.Request,
    ) -> AsyncIterator[dict[Any, Any]]:
        if not (prompt or "").strip():
            return
        if gate and not gate.get("ack"):  # known not to fit: the notice's choices first, nothing is sent
            yield {chat.status: status_html(FIT_HELD)}
            return
        session = request.session_hash or ""
        backend.stop_requested.discard(session)
        history = [*(history or []), gr.ChatMessage(role="user", content=prompt)]
        try:
            pictures = await asyncio.to_thread(read_attachments, pending)
        except AppError as exc:  # a file too large to send: said here, nothing is sent
            yield {chat.chatbot: [*history, gr.ChatMessage(content=notice_html("error", str(exc)))],
                   chat.attach.pending: [], chat.attach.chips: ""}
            return
        yield {
            chat.chatbot: history,
            chat.attach.pending: [],
            chat.attach.chips: "",
            chat.prompt: "",
            chat.status: status_html("● starting…"),
            chat.send: gr.update(visible=False),
            chat.stop: gr.update(visible=True, interactive=True),
        }
        # A PDF still being read goes with this message: wait for it (into the chat its upload created, if new).
        conversation_id = conversation_id or INGESTS.conversation(session)
        async for waiting in INGESTS.wait(session, conversation_id):
            yield {chat.status: status_html(f"● {waiting}")}
        from agents.planner.runner import RunRequest

        auto = provider == AUTO  # let the planner pick the first preset with a key
        req = RunRequest(
            prompt=prompt,
            conversation_id=conversation_id,
            provider=None if auto else provider,
            model=None if auto else (model or None),
            # The box keeps its text while hidden: only providers that show it may use it.
            base_url=(base_url or None) if wants_base_url(provider) else None,
            images=pictures,
        )
        shown: dict[str, Any] | None = None  # the server's question on screen, if any
        # The badge checks an answer's figures for page citations when documents are attached.
        view = RunView(documents=bool(conversation_id) and await asyncio.to_thread(backend.has_documents,
                                                                                 conversation_id))
        async for view, event in stream_run(backend, session, lambda agent: agent.run(req),
                                            failure="Something went wrong.", view=view):
            if event is None:
                break
            if event.type == "tool_call_finished":  # a screenshot or chart it wrote shows under its card
                show_images(view.messages, view.conversation_id, event.call_id)
                if backend.opened is not None and view.conversation_id:  # and the images the model was shown
                    thumbs = await asyncio.to_thread(step_images_html, backend.opened.db, view.conversation_id,
                                                     event.run_id, event.call_id)
                    if thumbs:
                        show_step_images(view.messages, thumbs, event.call_id)
            if pictures and event.type == "run_started" and backend.opened is not None:  # the attached thumbnails
                thumbs = await asyncio.to_thread(latest_user_images, backend.opened.db, event.conversation_id)
                history[-1] = gr.ChatMessage(role="user", content=prompt + thumbs)
            asked, shown = question_updates(chat.question, event, shown)
            yield {chat.chatbot: history + view.messages, chat.status: status_html(view.status, view.gauge), **asked}
        cid = view.conversation_id or conversation_id
        choices: list[tuple[str, str]] = []
        if cid:
            try:
                choices = await asyncio.to_thread(backend.conversations)
            except Exception:  # the chat already streamed; a failed sidebar refresh must not hide it
                log.exception("refreshing the conversation list failed")
        yield {
            chat.chatbot: history + view.messages,
            chat.status: status_html(view.status, view.gauge),
            chat.conversation_id: cid,
            chat.send: gr.update(visible=True),
            chat.stop: gr.update(visible=False),
            sb.conversations: gr.update(choices=choices, value=cid) if choices else gr.update(),
            sb.tools: tools_panel(settings, backend),
            **({chat.question.box: gr.update(visible=False), chat.question.current: None} if chat.question else {}),
        }

    send_inputs = [chat.prompt, chat.chatbot, chat.conversation_id, sb.provider, sb.model, sb.base_url,
                   chat.attach.pending, chat.fit_gate]
    send_outputs = [chat.chatbot, chat.prompt, chat.status, chat.send, chat.stop, chat.conversation_id,
                    sb.conversations, sb.tools, chat.attach.pending, chat.attach.chips, *chat.question_outputs()]
    wire_attach(chat.attach)
    for trigger in (chat.prompt.submit, chat.send.click):
        sent = trigger(send, send_inputs, send_outputs, concurrency_limit=None, show_progress="hidden")
        refresh_approvals(chat, backend, sent)
        chat.ended.append(sent)

    def stop(request: gr.Request) -> Any:
        backend.stop(request.session_hash or "")
        # Only the button changes: the run's own last frame may already be on its way with the final status.
        return gr.update(interactive=False)

    chat.stop.click(stop, None, chat.stop, queue=False)

    def new_chat() -> tuple[list[Any], None, str, Any, str]:
        return [], None, status_html(""), gr.update(value=None), ""

    chat.ended.append(sb.new_chat.click(new_chat, None, [chat.chatbot, chat.conversation_id, chat.status,
                                                          sb.conversations, chat.prompt], queue=False))

    async def open_conversation(conversation_id: str | None) -> tuple[Any, Any, str]:
        if not conversation_id:
            return gr.update(), gr.update(), gr.update()
        try:
            rows, steps, runs = await asyncio.to_thread(backend.conversation, conversation_id)
            trees = await asyncio.to_thread(backend.swarm_trees, conversation_id)
        except Exception as exc:
            log.exception("loading conversation %s failed", conversation_id)
            error = notice_html("error", readable_error(exc), "Cannot open this conversation.")
            return [gr.ChatMessage(content=error)], None, ""
        # Partial answers, stop reasons and errors included; workflow prompts shown as the step they ran.
        history, summary = restore(rows, steps, runs, trees, running_here)
        return show_images(history, conversation_id), conversation_id, status_html(summary)

    opened = sb.conversations.input(open_conversation, sb.conversations, [chat.chatbot, chat.conversation_id, chat.status])
    refresh_approvals(chat, backend, opened)
    chat.ended.append(opened)
    wire_approvals(chat, backend)
    if chat.swarm is not None:
        wire_swarm_controls(chat.swarm, backend)


def wire_startup(demo: gr.Blocks, chat: Chat, sb: Sidebar, backend: Backend) -> None:
    """On page load: start the agent (once per process), then fill the conversation list and the Tools panel."""
    settings = backend.settings

    async def on_load() -> tuple[Any, str, Any]:
        try:
            await backend.agent()
            choices = await asyncio.to_thread(backend.conversations)
        except Exception:
            log.exception("the agent failed to start")
            return gr.update(), tools_panel(settings, backend), gr.update(open=True)
        attention = tools_need_attention(settings, backend)
        return gr.update(choices=choices), tools_panel(settings, backend), gr.update(open=True) if attention else gr.update()

    demo.load(lambda: tools_panel(settings, backend), None, sb.tools, queue=False)
    demo.load(on_load, None, [sb.conversations, sb.tools, sb.tools_box], show_progress="hidden")
