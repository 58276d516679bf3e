"""A tool call's line to the user while it runs: server progress and log messages become events for its card,
and a server's question (elicitation) becomes a form the UI or the CLI answers through Agent.answer."""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable
from typing import Any

from agents.events import ElicitationRequested, ToolCallLog, ToolCallProgress
from agents.hub.elicitation import Answer, Question, Questions
from agents.hub.hooks import CallHooks

LOG_CHARS = 500


def call_hooks(emit: Callable[[Any], None], questions: Questions, call_id: str, name: str,
               conversation: str) -> CallHooks:
    """Hooks for one planner tool call (call it inside the node: the hooks emit in the node's context)."""
    # Servers' notifications arrive on the session's own task; LangGraph's stream writer works only inside the
    # node's context, so every event is emitted in a copy of it.
    node = contextvars.copy_context()

    def send(event: Any) -> None:
        node.run(emit, event)

    def progress(done: float, total: float | None, message: str | None) -> None:
        send(ToolCallProgress(call_id=call_id, name=name, progress=done, total=total, message=message))

    def log(level: str, logger: str | None, data: Any) -> None:
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        prefix = f"{logger}: " if logger else ""
        send(ToolCallLog(call_id=call_id, name=name, level=level, text=(prefix + text)[:LOG_CHARS]))

    async def elicit(question: Question) -> Answer:
        send(ElicitationRequested(call_id=call_id, name=name, question_id=question.id, server=question.server,
                                  message=question.message, form=question.schema))
        return await questions.ask(question)

    return CallHooks(on_progress=progress, on_log=log, on_elicit=elicit, conversation=conversation)
