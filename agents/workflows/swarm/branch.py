"""One sub-agent: the ordinary planner graph with a run of its own, its own budget, prompt and tool subset.

The parent's context management applies inside it (it keeps the planner's context tools); it starts no
sub-agents (no planner tool that runs calls itself, except the context tools). Its model calls pass through the
swarm's pacer (set by the scheduler as the task's CALL_GATE).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agents.events import ApprovalRequested, Notice, ToolCallStarted, Usage
from agents.planner.state import RunContext, appended
from agents.planner.tools import PlannerTools
from agents.policy.budget import Limits
from agents.policy.compaction import NOTES_TOOL, READ_TOOL
from agents.workflows.swarm.pacer import BUDGET_REFUSAL
from storage import repo
from storage.models import utcnow

CONTEXT_TOOLS = (NOTES_TOOL, READ_TOOL)
_STATUS = {"budget": "budget", "loop": "failed", "error": "failed"}


@dataclass
class BranchPlan:
    """What one sub-agent runs with."""

    system_prompt: str
    user_message: str
    tools: list[dict[str, Any]]
    limits: Limits
    meta: dict[str, Any] = field(default_factory=dict)  # stored on its run row (e.g. the swarm and branch)
    preapproved: frozenset[str] = frozenset()  # tools its parent call's approval covers
    ask_user: bool = True  # a call that needs approval waits for the user (False: it is denied, as before issue 20)


@dataclass
class Outcome:
    """How a sub-agent ended and what it used."""

    run_id: str
    status: str  # done, failed, budget, stopped
    answer: str = ""
    error: str | None = None
    steps: int = 0
    tool_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    last_tool: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


Report = Callable[[Any, "Outcome"], None]
"""Called with each event the sub-agent emits (Usage, ToolCallStarted, Notice, ApprovalRequested) and its totals."""


def tools_for(parent: RunContext, names: tuple[str, ...] | None) -> tuple[list[dict[str, Any]], list[str]]:
    """(the parent's tool specs a sub-agent may use, names asked for that the parent does not have).

    Tools that start runs (agents__spawn, analyze_documents) are never among them; the context tools always are.
    """
    runners = {t.name for t in parent.planner_tools.tools if t.run is not None and t.name not in CONTEXT_TOOLS}
    usable = {t["function"]["name"]: t for t in parent.tools if t["function"]["name"] not in runners}
    if names is None:
        return list(usable.values()), []
    wanted = [*dict.fromkeys(names), *(c for c in CONTEXT_TOOLS if c not in names)]
    unknown = [n for n in names if n not in usable]
    return [usable[n] for n in wanted if n in usable], unknown


async def run_branch(parent: RunContext, graph: Any, plan: BranchPlan, report: Report, *, run_id: str,
                     previous: Outcome | None = None, correction: str = "",
                     await_decision: Callable[[Any], Awaitable[Any]] | None = None) -> Outcome:
    """Run one sub-agent (its run row exists) to its end in `graph` (a planner graph without checkpoints, shared
    by the swarm's branches); with `previous`, continue it once with a correction."""
    outcome = Outcome(run_id=run_id, status="done")
    state: dict[str, Any] = {"messages": appended([{"role": "user", "content": plan.user_message}]), "base": 1,
                             "started_at": time.time()}
    if previous is not None:  # the same run, told what was wrong with its answer; its totals carry on
        state = {"messages": appended([*previous.messages, {"role": "user", "content": correction}]), "base": 1,
                 "started_at": time.time(), "steps": previous.steps, "tool_calls": previous.tool_calls,
                 "prompt_tokens": previous.prompt_tokens, "completion_tokens": previous.completion_tokens,
                 "cached_tokens": previous.cached_tokens, "cost_usd": previous.cost_usd}
        outcome.steps, outcome.tool_calls, outcome.last_tool = previous.steps, previous.tool_calls, previous.last_tool
        outcome.prompt_tokens, outcome.completion_tokens = previous.prompt_tokens, previous.completion_tokens
        outcome.cached_tokens, outcome.cost_usd = previous.cached_tokens, previous.cost_usd

    def absorb(event: Any) -> None:
        if isinstance(event, Usage):
            outcome.steps += 1
            outcome.prompt_tokens, outcome.completion_tokens = event.prompt_tokens, event.completion_tokens
            outcome.cached_tokens, outcome.cost_usd = event.cached_tokens, event.cost_usd
        elif isinstance(event, ToolCallStarted):
            outcome.tool_calls += 1
            outcome.last_tool = event.name
        elif not isinstance(event, (Notice, ApprovalRequested)):
            return
        report(event, outcome)

    ctx = dataclasses.replace(
        parent,
        run_id=run_id,
        tools=plan.tools,
        resumed=False,
        limits=plan.limits,
        system_prompt=plan.system_prompt,
        planner_tools=PlannerTools(tuple(t for t in parent.planner_tools.tools
                                         if t.run is None or t.name in CONTEXT_TOOLS)),
        # It cannot pause the way a run does (no checkpoint of its own): its parent call's approval covers what that
        # call delegates, and anything else that would ask is denied and announced in the parent's stream.
        preapproved=plan.preapproved,
        can_ask=False,
        await_decision=await_decision if plan.ask_user else None,
        stream=False,  # its text deltas are dropped (absorb): a whole answer per call costs a third of the CPU
        sink=absorb,  # its events come straight here, not through LangGraph's custom stream
    )
    final: dict[str, Any] = {}
    try:
        async for chunk in graph.astream(state, {"configurable": {"thread_id": run_id}}, context=ctx,
                                         stream_mode="values"):
            final = chunk
    except asyncio.CancelledError:
        outcome.status, outcome.error = "stopped", "Stopped by the user."
        await asyncio.shield(_close_run(parent, outcome))
        raise
    except Exception as exc:  # noqa: BLE001 - one failed sub-agent must not sink the others: it is reported
        outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
    reason = final.get("stop_reason")
    if reason:
        outcome.error = final.get("error")
        budget_refused = reason == "error" and (outcome.error or "").startswith(BUDGET_REFUSAL)
        outcome.status = "budget" if budget_refused else _STATUS.get(reason, "failed")
    outcome.messages = list(final.get("messages", []))
    outcome.answer = next((m.get("content") or "" for m in reversed(outcome.messages)
                           if m.get("role") == "assistant"), "")
    await _close_run(parent, outcome)
    return outcome


async def _close_run(parent: RunContext, outcome: Outcome) -> None:
    run_status = {"done": "done", "budget": "budget", "stopped": "stopped"}.get(outcome.status, "failed")
    await asyncio.to_thread(
        repo.update_run, parent.db, outcome.run_id, status=run_status, error=outcome.error, finished_at=utcnow(),
        steps=outcome.steps, prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens,
        cached_tokens=outcome.cached_tokens, cost_usd=outcome.cost_usd,
    )  # fmt: skip
