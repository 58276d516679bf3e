"""The planner's state (checkpointed after every step) and its run-scoped context (not checkpointed).

The message list is a LangGraph DeltaChannel: a checkpoint stores the messages a step added, not the whole list
(which grew with every step: 876 MB of checkpoints for a 300-call run); LangGraph rebuilds the list on load by
replaying the stored writes. Measured in benchmarks/bench_long_run.py; the choice is explained in the README.
"""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Required, TypedDict

from langgraph.channels import DeltaChannel

from agents.policy.budget import Limits
from agents.hub.hub import Hub
from agents.models.providers import ModelSpec, RetryPolicy
from agents.planner.tools import PlannerTools
from agents.privacy.session import PrivacySession
from storage.db import Database


APPEND = "append"


def appended(messages: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A write to RunState.messages: the messages to add at the end.

    Wrapped in a dict on purpose: LangGraph turns bare message dicts written to a DeltaChannel into LangChain
    message objects (to give them ids), and the planner's messages must stay OpenAI-format dicts.
    """
    return {APPEND: list(messages)}


def append_messages(current: list[dict[str, Any]], writes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The DeltaChannel reducer: the list followed by every write's messages (batching-invariant, as it must be)."""
    out = list(current)
    for write in writes:
        if not isinstance(write, dict) or APPEND not in write:
            raise TypeError(f"write RunState.messages with appended([...]), not {type(write).__name__}")
        out.extend(write[APPEND])
    return out


# Snapshots of the whole list would make a checkpoint's size grow with the run again; LangGraph still takes one
# every 5,000 supersteps (its DELTA_MAX_SUPERSTEPS_SINCE_SNAPSHOT), which bounds the replay of a very long run.
SNAPSHOT_FREQUENCY = 1_000_000


class RunState(TypedDict, total=False):
    """What a run has done so far; OpenAI-format message dicts so K2 fields pass through untouched.

    Keys starting with "_" on a message (`_artifact`, `_error` on tool results) are ours: never sent to a model.
    """

    messages: Annotated[list[dict[str, Any]], DeltaChannel(append_messages, snapshot_frequency=SNAPSHOT_FREQUENCY)]
    base: int  # messages already stored before this run (history); the rest are this run's
    steps: Annotated[int, operator.add]  # model calls
    tool_calls: Annotated[int, operator.add]  # what the step budget (Limits.max_steps) counts
    context: dict[str, int]  # compaction: {"upto": messages folded, "compactions": how many so far}
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
    # A swarm's sub-agent (agents/workflows/swarm) asks anyway: the request is shown in the parent's view and the
    # branch waits here until the user decides (the row's decision); None: denied as above.
    await_decision: Callable[[Any], Awaitable[Any]] | None = None
    # False in sub-agents: no one watches their text arrive, so each model call is one JSON answer instead of a
    # stream (litellm's per-chunk work was most of a swarm's CPU); the same events follow, in one piece each.
    stream: bool = True
    # Where the nodes' events go instead of LangGraph's custom stream (sub-agents: their branch reads them at once;
    # LangGraph hands each custom event over with call_soon_threadsafe, a socket write per event).
    sink: Callable[[Any], None] | None = None
