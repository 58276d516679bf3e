"""The planner's state (checkpointed after every step) and its run-scoped context (not checkpointed)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Required, TypedDict

from agents.policy.budget import Limits
from agents.hub.hub import Hub
from agents.models.providers import ModelSpec, RetryPolicy
from agents.planner.tools import PlannerTools
from agents.privacy.session import PrivacySession
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
    key: str  # the planner's own key of this call, "<step>.<index>": approvals and taint never use model ids
    batch: list[str]  # keys of every call of the same assistant message


@dataclass
class RunContext:
    """Everything a node needs that is not state: services, the model chain, limits, the planner-level tools."""

    run_id: str
    conversation_id: str
    db: Database
    hub: Hub
    chain: list[ModelSpec]
    limits: Limits
    system_prompt: str
    result_chars: int  # of a tool result the model sees; the rest is kept as an artifact
    tools: list[dict[str, Any]] = field(default_factory=list)
    planner_tools: PlannerTools = field(default_factory=PlannerTools)
    # A fresh planner graph without a checkpointer, for runs started inside this one (sub-agents): handed in, so
    # features never import the graph that dispatches to them.
    subgraph: Callable[[], Any] | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    resumed: bool = False  # only a resumed run can meet tool calls that already ran
    privacy: PrivacySession | None = None  # placeholders for personal data and secrets in what leaves (issue 22)
    library_dirs: tuple[str, ...] = ()  # the user's library folders: reading files there needs no approval
    preapproved: frozenset[str] = frozenset()  # tools a sub-agent may call under its parent call's approval
    can_ask: bool = True  # False in sub-agents: a call that would ask is denied (and announced) instead
