"""Approvals in the chat: a card per risky call waiting for the user (tool, arguments or code, why), Approve / Deny.

The chat shows each request as it happens (approval_message, used by RunView); the panel under the chat holds
the buttons for the oldest call still waiting in this conversation, read from storage, so a waiting run shows up
again after a reload or a restart. A click records the decision and streams the continued run into the chat.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from agents.policy.approval import code_of
from agents.events import ApprovalRequested, RunStarted

if TYPE_CHECKING:
    from app.ui.backend import Backend
    from app.ui.chat import Chat

log = logging.getLogger(__name__)

MARK = "⚠"
CODE_CHARS = 4_000
FRAME_S = 0.05


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:  # a longer fence than any backtick run inside keeps the block closed
        ticks += "`"
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _clip(text: str) -> str:
    return text if len(text) <= CODE_CHARS else text[:CODE_CHARS] + f"\n… ({len(text) - CODE_CHARS:,} more characters)"


def approval_markdown(name: str, arguments: Any, risk: str, reason: str, footer: str = "") -> str:
    """What will run and why: the tool and what it does, its code or arguments, then the untrusted source."""
    head = f'<div class="k2-approval-head">{MARK} <b>Approval needed:</b> <code>{_escape(name)}</code>'
    head += f" {_escape(risk)}</div>" if risk else "</div>"
    code = code_of(name, arguments)
    if code is not None:
        lang, text, rest = code
        body = _fence(_clip(text), lang)
        if rest:
            body = _fence(json.dumps(rest, ensure_ascii=False), "json") + "\n" + body
    else:
        text = arguments if isinstance(arguments, str) else json.dumps(arguments, indent=2, ensure_ascii=False)
        body = _fence(_clip(text), "json")
    why = f'<div class="k2-approval-why"><b>Why:</b> {_escape(reason)}</div>'
    return "\n\n".join(p for p in (head, body, why, footer) if p)


def approval_message(event: ApprovalRequested) -> gr.ChatMessage:
    """The chat's record of a request (the buttons live in the panel under the chat)."""
    text = approval_markdown(event.name, event.arguments, event.risk, event.reason,
                             "<i>Approve or deny it below the chat.</i>")  # fmt: skip
    return gr.ChatMessage(content=text, metadata={"id": f"approval:{event.call_id}"})


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


def wire_approvals(chat: Chat, backend: Backend) -> None:
    """Approve / Deny: record the decision and stream the continued run into the chat."""
    panel = chat.approval
    assert panel is not None
    panel_outputs = [panel.box, panel.details, panel.current]

    async def decide(approved: bool, current: dict[str, str] | None, note: str, history: list[Any],
                     request: gr.Request) -> AsyncIterator[dict[Any, Any]]:  # fmt: skip
        from app.ui.backend import readable_error
        from app.ui.chat import status_html
        from app.ui.render import RunView, notice_html

        if not current:
            return
        session = request.session_hash or ""
        history = list(history or [])
        view = RunView()
        yield {panel.box: gr.update(visible=False), panel.note: "", chat.status: status_html("● continuing…"),
               chat.send: gr.update(visible=False), chat.stop: gr.update(visible=True, interactive=True)}  # fmt: skip
        try:
            agent = await backend.agent()
            last = 0.0
            events = agent.approve(current["run_id"], current["call_id"], approved, note or "")
            async with aclosing(events) as stream:
                async for event in stream:
                    view.apply(event)
                    if isinstance(event, RunStarted):
                        backend.active[session] = event.run_id
                    now = time.monotonic()
                    if now - last >= FRAME_S or not event.type.endswith("_delta"):
                        last = now
                        yield {chat.chatbot: history + view.messages, chat.status: status_html(view.status)}
        except Exception as exc:  # the boundary: whatever broke becomes a message in the chat
            log.exception("approval failed")
            view.messages.append(gr.ChatMessage(content=notice_html("error", readable_error(exc), "Cannot continue.")))
        finally:
            backend.active.pop(session, None)
        box, details, now_current = await asyncio.to_thread(_panel_state, backend, current["conversation_id"])
        yield {chat.chatbot: history + view.messages, chat.status: status_html(view.status), chat.send: gr.update(visible=True),
               chat.stop: gr.update(visible=False), panel.box: box, panel.details: details, panel.current: now_current}  # fmt: skip

    outputs = [chat.chatbot, chat.status, chat.send, chat.stop, panel.note, *panel_outputs]
    inputs = [panel.current, panel.note, chat.chatbot]

    async def approve(current: Any, note: str, history: list[Any], request: gr.Request) -> AsyncIterator[Any]:
        async for update in decide(True, current, note, history, request):
            yield update

    async def deny(current: Any, note: str, history: list[Any], request: gr.Request) -> AsyncIterator[Any]:
        async for update in decide(False, current, note, history, request):
            yield update

    panel.approve.click(approve, inputs, outputs, concurrency_limit=None, show_progress="hidden")
    panel.deny.click(deny, inputs, outputs, concurrency_limit=None, show_progress="hidden")


def refresh_after(chat: Chat, backend: Backend, dependency: Any) -> None:
    """After a run or a conversation switch, show the call waiting in this conversation (or hide the panel)."""
    panel = chat.approval
    if panel is None:
        return

    async def refresh(conversation_id: str | None) -> tuple[Any, str, Any]:
        return await asyncio.to_thread(_panel_state, backend, conversation_id)

    dependency.then(refresh, chat.conversation_id, [panel.box, panel.details, panel.current], show_progress="hidden")
