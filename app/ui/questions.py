"""A server's question in the chat (MCP elicitation, form mode): a small form under the chat while the tool waits.

The form is built from the server's schema (text, number, yes/no, a choice, several choices; defaults filled in).
Send checks the answer against the schema before it goes back: a wrong field says so and the form stays. Decline
and Cancel tell the server no. The tool card shows that the server asked; the form closes when the call ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html import escape
from typing import Any

import gradio as gr

from agents.hub.elicitation import FormError, FormField, form_fields

log = logging.getLogger(__name__)


@dataclass
class QuestionPanel:
    """The form's place under the chat; `backend` is set when the chat is wired (the form's buttons need it)."""

    box: gr.Column
    header: gr.HTML
    current: gr.State  # {"question_id", "call_id", "server", "message", "form"} of the question shown
    error: gr.HTML
    backend: Any = None


def build_question_panel() -> QuestionPanel:
    """Lay out the panel (hidden until a server asks)."""
    with gr.Column(visible=False, elem_id="k2-question", elem_classes=["k2-question"]) as box:
        header = gr.HTML(padding=False)
        error = gr.HTML(padding=False)
        current = gr.State(None)
    panel = QuestionPanel(box, header, current, error)
    with box:
        # On a change only: the page opens with no question, and a render on page load was one more queued event.
        @gr.render(inputs=[current], triggers=[current.change])
        def form(question: dict[str, Any] | None) -> None:
            if not question:
                return
            try:
                fields = form_fields(question["form"])
            except FormError:
                fields = []
            with gr.Row(equal_height=True, elem_classes=["k2-question-fields"]):
                inputs = [_input(f) for f in fields]
            with gr.Row():
                send = gr.Button("Send", variant="primary", size="sm", elem_id="k2-question-send", scale=0, min_width=90)
                decline = gr.Button("Decline", size="sm", elem_id="k2-question-decline", scale=0, min_width=90)
                cancel = gr.Button("Cancel", size="sm", elem_id="k2-question-cancel", scale=0, min_width=90)
            outputs = [panel.box, panel.current, panel.error]

            async def answer_with(*values: Any) -> tuple[Any, Any, str]:
                return _answer(panel, question, "accept", dict(zip([f.name for f in fields], values, strict=True)))

            send.click(answer_with, inputs, outputs, show_progress="hidden")
            decline.click(lambda: _answer(panel, question, "decline", None), None, outputs, show_progress="hidden")
            cancel.click(lambda: _answer(panel, question, "cancel", None), None, outputs, show_progress="hidden")
    return panel


def _input(f: FormField) -> Any:
    label = f.title + (" *" if f.required else "")
    info = f.description or None
    size = {"min_width": 220, "scale": 1}
    if f.kind == "boolean":
        return gr.Checkbox(label=label, info=info, value=bool(f.default), interactive=True, **size)
    if f.kind == "choice":
        return gr.Dropdown(label=label, info=info, choices=[(lbl, v) for v, lbl in f.options], value=f.default,
                           interactive=True, **size)
    if f.kind == "multi":
        return gr.CheckboxGroup(label=label, info=info, choices=[(lbl, v) for v, lbl in f.options],
                                value=list(f.default or []), interactive=True, **size)
    if f.kind in ("number", "integer"):
        return gr.Number(label=label, info=info, value=f.default, precision=0 if f.kind == "integer" else None,
                         minimum=f.minimum, maximum=f.maximum, interactive=True, **size)
    return gr.Textbox(label=label, info=info, value=f.default or "", placeholder=f.fmt or "", max_lines=4,
                      interactive=True, **size)


def _answer(panel: QuestionPanel, question: dict[str, Any], action: str,
            values: dict[str, Any] | None) -> tuple[Any, Any, str]:
    agent = panel.backend.opened if panel.backend is not None else None
    if agent is None:
        return gr.update(visible=False), None, ""
    if values is not None:  # widgets give numbers as floats and empty numbers as None
        values = {k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in values.items()}
    try:
        agent.answer(question["question_id"], action, values)
    except FormError as exc:  # the form stays as the user filled it (no re-render), with the reason above it
        return gr.update(visible=True), gr.update(), f'<div class="k2-tool-error">✗ {escape(str(exc))}</div>'
    except KeyError:  # the server stopped waiting (the call ended or timed out)
        return gr.update(visible=False), None, ""
    return gr.update(visible=False), None, ""


def question_header(question: dict[str, Any]) -> str:
    return (f'<div class="k2-question-head">✎ <b>{escape(question["server"])}</b> asks '
            f'(tool <code>{escape(question["name"])}</code>): {escape(question["message"])}</div>')


def question_updates(panel: QuestionPanel | None, event: Any, shown: dict[str, Any] | None) -> tuple[
        dict[Any, Any], dict[str, Any] | None]:
    """The panel's updates for a run event, and the question shown afterwards."""
    if panel is None:
        return {}, shown
    if event.type == "elicitation_requested":
        question = {"question_id": event.question_id, "call_id": event.call_id, "server": event.server,
                    "name": event.name, "message": event.message, "form": event.form}
        return {panel.box: gr.update(visible=True), panel.current: question, panel.header: question_header(question),
                panel.error: ""}, question
    ended = event.type == "run_finished" or (event.type == "tool_call_finished" and shown is not None
                                             and event.call_id == shown["call_id"])
    if shown is not None and ended:
        return {panel.box: gr.update(visible=False), panel.current: None, panel.error: ""}, None
    return {}, shown
