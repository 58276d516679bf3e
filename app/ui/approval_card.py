"""The approval card: what a risky call will run and why, in the chat and in the panel under it (pure markup)."""

from __future__ import annotations

import json
from typing import Any

from gradio import ChatMessage

from agents.events import ApprovalRequested
from agents.policy.approval import code_of
from app.ui.markup import clip, escape, fence

MARK = "⚠"
CODE_CHARS = 4_000


def approval_markdown(name: str, arguments: Any, risk: str, reason: str, footer: str = "") -> str:
    """What will run and why: the tool and what it does, its code or arguments, then the untrusted source."""
    head = f'<div class="k2-approval-head">{MARK} <b>Approval needed:</b> <code>{escape(name)}</code>'
    head += f" {escape(risk)}</div>" if risk else "</div>"
    code = code_of(name, arguments)
    if code is not None:
        lang, text, rest = code
        body = fence(clip(text, CODE_CHARS), lang)
        if rest:
            body = fence(json.dumps(rest, ensure_ascii=False), "json") + "\n" + body
    else:
        text = arguments if isinstance(arguments, str) else json.dumps(arguments, indent=2, ensure_ascii=False)
        body = fence(clip(text, CODE_CHARS), "json")
    why = f'<div class="k2-approval-why"><b>Why:</b> {escape(reason)}</div>'
    return "\n\n".join(p for p in (head, body, why, footer) if p)


def approval_message(event: ApprovalRequested) -> ChatMessage:
    """The chat's record of a request (the buttons live in the panel under the chat)."""
    where = (f"<i>Asked by {escape(event.subagent)}: only that sub-agent waits; approve or deny it below the chat."
             "</i>" if event.subagent else "<i>Approve or deny it below the chat.</i>")
    text = approval_markdown(event.name, event.arguments, event.risk, event.reason, where)
    return ChatMessage(content=text, metadata={"id": f"approval:{event.call_id}"})
