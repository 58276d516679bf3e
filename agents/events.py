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


class ToolCallProgress(_Event):
    """A server reported progress on a running call (MCP notifications/progress)."""

    type: Literal["tool_call_progress"] = "tool_call_progress"
    call_id: str
    name: str
    progress: float
    total: float | None = None
    message: str | None = None


class ToolCallLog(_Event):
    """A log message the server sent while the call ran (MCP notifications/message); untrusted text."""

    type: Literal["tool_call_log"] = "tool_call_log"
    call_id: str
    name: str
    level: str
    text: str


class ElicitationRequested(_Event):
    """A server asks the user for input mid-call (form mode): answer with Agent.answer(question_id, ...)."""

    type: Literal["elicitation_requested"] = "elicitation_requested"
    call_id: str
    name: str
    question_id: str
    server: str
    message: str
    form: dict[str, Any]  # the requested schema: a flat object of strings, numbers, booleans and enums


class ApprovalRequested(_Event):
    """A risky call waits for the user: what would run (name, arguments), what it does (risk) and why it asks."""

    type: Literal["approval_requested"] = "approval_requested"
    call_id: str
    name: str
    arguments: Any
    reason: str
    risk: str = ""
    # Asked inside a swarm's sub-agent: decide it with that run's id (its branch waits, the parent runs on).
    subagent_run_id: str = ""
    subagent: str = ""  # which sub-agent asks, e.g. "Sub-agent 3: summarise page 7"


class Usage(_Event):
    """Cumulative usage of the run so far, sent after every model call."""

    type: Literal["usage"] = "usage"
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    cost_usd: float
    price_source: str = ""


class ContextUsage(_Event):
    """How full the model's context window is, after every model call: `tokens` in the request (the provider's
    count, else our estimate) of `window`; `compacted_steps` tool calls are folded into records so far."""

    type: Literal["context"] = "context"
    tokens: int
    window: int
    compacted_steps: int = 0
    compactions: int = 0


class SubagentUpdate(_Event):
    """Progress of one sub-agent (one report) of a multi-document analysis: its own steps, tokens and cost."""

    type: Literal["subagent_update"] = "subagent_update"
    subagent_run_id: str
    document_id: str
    title: str
    status: str  # running, done, failed, budget, loop
    steps: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    rows: int = 0
    rejected: int = 0
    error: str | None = None


class SwarmStarted(_Event):
    """An agent swarm (agents__spawn) planned its sub-agents: the tree's root, one branch per goal."""

    type: Literal["swarm_started"] = "swarm_started"
    swarm_id: str
    goals: list[str]
    concurrency: int
    resumed: int = 0  # branches replayed from a stored result (a resumed run)


class _Branch(_Event):
    swarm_id: str
    index: int  # the branch's position in the plan
    goal: str
    subagent_run_id: str = ""
    status: str = "running"  # running, waiting (an approval), done, failed, budget, stopped
    attempt: int = 1
    steps: int = 0  # model calls
    tool_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    last_tool: str = ""
    elapsed_s: float = 0.0


class SubagentStarted(_Branch):
    """A swarm's sub-agent started (or was started again after a failure: attempt 2)."""

    type: Literal["subagent_started"] = "subagent_started"


class SubagentProgress(_Branch):
    """A sub-agent made a model call or started a tool: its running totals."""

    type: Literal["subagent_progress"] = "subagent_progress"


class SubagentFinished(_Branch):
    """A sub-agent ended: its state, a short preview of its result and the artifact holding all of it."""

    type: Literal["subagent_finished"] = "subagent_finished"
    preview: str = ""
    artifact_id: str | None = None
    error: str | None = None
    replayed: bool = False  # finished before a crash: its stored result was used


class Redaction(_Event):
    """What one model call sent in place of personal data and secrets: placeholders and kinds, never the values."""

    type: Literal["redaction"] = "redaction"
    active: bool  # False: the request went as is (K2HUB_REDACT=off, or auto with a local model)
    provider: str
    reason: str  # why it was on or off, in words the UI shows
    placeholders: list[str] = Field(default_factory=list)  # e.g. ["<EMAIL_1>", "<CARD_1>"]
    masked: list[str] = Field(default_factory=list)  # kinds the output filter hid in the answer
    answer: str | None = None  # the answer as shown after the output filter, when it changed it


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
    # 'waiting': paused until the user approves or denies the calls announced by ApprovalRequested.
    reason: Literal["done", "budget", "loop", "error", "stopped", "waiting"] = "done"
    error: str | None = None
    skills_used: list[str] = Field(default_factory=list)  # Agent-Hub skills loaded, as "name@version"
    tool_calls: int = 0
    # A tool was clearly needed (agents/planner/tool_needed.py) but the model answered in prose: the badge says so.
    tool_not_called: bool = False


Event = Annotated[
    Union[
        RunStarted,
        ReasoningDelta,
        TextDelta,
        ToolCallStarted,
        ToolCallFinished,
        ToolCallProgress,
        ToolCallLog,
        ElicitationRequested,
        ApprovalRequested,
        Usage,
        ContextUsage,
        Notice,
        Redaction,
        SubagentUpdate,
        SwarmStarted,
        SubagentStarted,
        SubagentProgress,
        SubagentFinished,
        RunFinished,
    ],
    Field(discriminator="type"),
]

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild a typed event from its JSON form (CLI --json consumers, tests)."""
    return event_adapter.validate_python(data)
