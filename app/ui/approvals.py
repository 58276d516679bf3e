"""Approvals in the chat: a card per risky call waiting for the user (tool, arguments or code, why), Approve / Deny.

The chat shows each request as it happens (app/ui/approval_card.py, used by RunView); the panel under the chat holds
the buttons for the oldest call still waiting in this conversation, read from storage, so a waiting run shows up
again after a reload or a restart. A click records the decision and streams the continued run into the chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import gradio as gr

from app.ui.approval_card import approval_markdown
from app.ui.backend import Backend
from app.ui.render import status_html
from app.ui.stream import stream_run


class ChatParts(Protocol):
    """What the approval panel drives in the chat column (app/ui/chat.py's Chat has these)."""

    chatbot: gr.Chatbot
    status: gr.HTML
    send: gr.Button
    stop: gr.Button
    conversation_id: gr.State
    approval: ApprovalPanel | None
    question: Any  # app/ui/questions.py's QuestionPanel: a server may ask the user during the continued run

    def question_outputs(self) -> list[Any]: ...


@dataclass
class ApprovalPanel:
    """The panel under the chat: the oldest waiting call, a note and the two buttons."""

    box: gr.Column
    details: gr.Markdown
    note: gr.Textbox
    approve: gr.Button
    deny: gr.Button
    current: gr.State  # {"run_id", "call_id", "conversation_id"} of the call shown


def build_approval_panel() -> ApprovalPanel:
    """Lay out the panel (hidden until a call waits)."""
    with gr.Column(visible=False, elem_id="k2-approval", elem_classes=["k2-approval"]) as box:
        details = gr.Markdown("", elem_id="k2-approval-details")
        with gr.Row(equal_height=True):
            note = gr.Textbox(placeholder="Note for the model (optional)", show_label=False, container=False, scale=1,
                              elem_id="k2-approval-note")  # fmt: skip
            approve = gr.Button("Approve", variant="primary", scale=0, min_width=110, elem_id="k2-approve")
            deny = gr.Button("Deny", variant="stop", scale=0, min_width=110, elem_id="k2-deny")
    return ApprovalPanel(box, details, note, approve, deny, gr.State(None))


def _panel_state(backend: Backend, conversation_id: str | None) -> tuple[Any, str, Any]:
    """(box update, details, current) for the oldest call waiting in the conversation (sync: run in a thread)."""
    agent = backend.opened
    if agent is None or not conversation_id:
        return gr.update(visible=False), "", None
    from storage import approvals

    pending = approvals.pending_for_conversation(agent.db, conversation_id)
    if not pending:
        return gr.update(visible=False), "", None
    row = pending[0]
    more = f"<i>{len(pending) - 1} more call(s) of this run wait after this one.</i>" if len(pending) > 1 else ""
    text = approval_markdown(row.tool, row.arguments, row.risk, row.reason, more)
    return (
        gr.update(visible=True),
        text,
        {"run_id": row.run_id, "call_id": row.call_id, "conversation_id": conversation_id},
    )


def wire_approvals(chat: ChatParts, backend: Backend) -> None:
    """Approve / Deny: record the decision and stream the continued run into the chat."""
    panel = chat.approval
    assert panel is not None
    panel_outputs = [panel.box, panel.details, panel.current]

    async def decide(approved: bool, current: dict[str, str] | None, note: str, history: list[Any],
                     request: gr.Request) -> AsyncIterator[dict[Any, Any]]:  # fmt: skip
        if not current:
            return
        session = request.session_hash or ""
        history = list(history or [])
        yield {panel.box: gr.update(visible=False), panel.note: "", chat.status: status_html("● continuing…"),
               chat.send: gr.update(visible=False), chat.stop: gr.update(visible=True, interactive=True)}  # fmt: skip
        def start(agent: Any) -> AsyncIterator[Any]:
            return agent.approve(current["run_id"], current["call_id"], approved, note or "")

        from app.ui.questions import question_updates

        shown: dict[str, Any] | None = None  # a server's question on screen (a tool of the continued run asks)
        async for view, event in stream_run(backend, session, start, failure="Cannot continue."):
            if event is None:
                break
            asked, shown = question_updates(chat.question, event, shown)
            yield {chat.chatbot: history + view.messages, chat.status: status_html(view.status, view.gauge), **asked}
        box, details, now_current = await asyncio.to_thread(_panel_state, backend, current["conversation_id"])
        yield {chat.chatbot: history + view.messages, chat.status: status_html(view.status, view.gauge), chat.send: gr.update(visible=True),
               chat.stop: gr.update(visible=False), panel.box: box, panel.details: details, panel.current: now_current}  # fmt: skip

    outputs = [chat.chatbot, chat.status, chat.send, chat.stop, panel.note, *panel_outputs, *chat.question_outputs()]
    inputs = [panel.current, panel.note, chat.chatbot]

    async def approve(current: Any, note: str, history: list[Any], request: gr.Request) -> AsyncIterator[Any]:
        async for update in decide(True, current, note, history, request):
            yield update

    async def deny(current: Any, note: str, history: list[Any], request: gr.Request) -> AsyncIterator[Any]:
        async for update in decide(False, current, note, history, request):
            yield update

    panel.approve.click(approve, inputs, outputs, concurrency_limit=None, show_progress="hidden")
    panel.deny.click(deny, inputs, outputs, concurrency_limit=None, show_progress="hidden")


def refresh_after(chat: ChatParts, backend: Backend, dependency: Any) -> None:
    """After a run or a conversation switch, show the call waiting in this conversation (or hide the panel)."""
    panel = chat.approval
    if panel is None:
        return

    async def refresh(conversation_id: str | None) -> tuple[Any, str, Any]:
        return await asyncio.to_thread(_panel_state, backend, conversation_id)

    dependency.then(refresh, chat.conversation_id, [panel.box, panel.details, panel.current], show_progress="hidden")
