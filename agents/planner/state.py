"""The planner's state (checkpointed after every step) and its run-scoped context (not checkpointed)."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, Required, TypedDict

from agents.policy.budget import Limits
from agents.hub.hub import Hub
from agents.models.providers import ModelSpec, RetryPolicy
from storage.db import Database


class RunState(TypedDict, total=False):
    """What a run has done so far; OpenAI-format message dicts so K2 fields pass through untouched."""

    messages: Annotated[list[dict[str, Any]], operator.add]
    base: int  # messages already stored before this run (history); the rest are this run's
    steps: Annotated[int, operator.add]
    prompt_tokens: Annotated[int, operator.add]
    completion_tokens: Annotated[int, operator.add]
    cached_tokens: Annotated[int, operator.add]
    cost_usd: Annotated[float, operator.add]
    started_at: float
    stop_reason: str | None
    error: str | None


class ToolTask(TypedDict, total=False):
    """Payload of one fanned-out tool call."""

    call: Required[dict[str, Any]]
    batch: list[str]  # ids of every call of the same assistant message


@dataclass
class RunContext:
    """Everything a node needs that is not state: services, the model chain, limits."""

    run_id: str
    conversation_id: str
    db: Database
    hub: Hub
    chain: list[ModelSpec]
    limits: Limits
    system_prompt: str
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_timeout_s: float = 120.0
    result_chars: int = 12_000
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    resumed: bool = False  # only a resumed run can meet tool calls that already ran
