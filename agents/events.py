"""Typed events the planner streams to the UI, the CLI and tests (one stream for all three)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter


class _Event(BaseModel):
    run_id: str = ""


class RunStarted(_Event):
    type: Literal["run_started"] = "run_started"
    conversation_id: str
    provider: str
    model: str
    resumed: bool = False


class ReasoningDelta(_Event):
    type: Literal["reasoning_delta"] = "reasoning_delta"
    text: str


class TextDelta(_Event):
    type: Literal["text_delta"] = "text_delta"
    text: str


class ToolCallStarted(_Event):
    type: Literal["tool_call_started"] = "tool_call_started"
    call_id: str
    name: str
    arguments: Any


class ToolCallFinished(_Event):
    type: Literal["tool_call_finished"] = "tool_call_finished"
    call_id: str
    name: str
    preview: str
    duration_s: float
    error: str | None = None
    artifact_id: str | None = None


class ApprovalRequested(_Event):
    type: Literal["approval_requested"] = "approval_requested"
    call_id: str
    name: str
    arguments: Any
    reason: str


class Usage(_Event):
    """Cumulative usage of the run so far, sent after every model call."""

    type: Literal["usage"] = "usage"
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    cost_usd: float
    price_source: str = ""


class Notice(_Event):
    """Something the user should know that is not part of the answer (retry, fallback, loop nudge)."""

    type: Literal["notice"] = "notice"
    level: Literal["info", "warning", "error"] = "info"
    message: str


class RunFinished(_Event):
    type: Literal["run_finished"] = "run_finished"
    answer: str
    steps: int
    tokens: int
    cost_usd: float
    reason: Literal["done", "budget", "loop", "error", "stopped"] = "done"
    error: str | None = None


Event = Annotated[
    Union[
        RunStarted,
        ReasoningDelta,
        TextDelta,
        ToolCallStarted,
        ToolCallFinished,
        ApprovalRequested,
        Usage,
        Notice,
        RunFinished,
    ],
    Field(discriminator="type"),
]

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild a typed event from its JSON form (CLI --json consumers, tests)."""
    return event_adapter.validate_python(data)
