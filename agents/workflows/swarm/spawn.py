"""`agents__spawn`, the planner-level tool that runs a swarm: tasks → sub-agents → a compact digest.

Each task becomes a sub-agent (agents/workflows/swarm/branch.py) with only the tools it was given; their model
calls share what is left of the parent run's budget (pacer.Pool) and a per-provider AIMD limit. Every full result
is kept as an artifact; the parent reads one line per sub-agent plus the artifact id. The swarm's plan and each
branch's state are stored, so a resumed parent replays finished branches and runs only the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import mcp_types as types

from agents.events import Notice, SwarmStarted
from agents.hub.hub import ToolResult
from agents.planner.state import RunContext
from agents.planner.tools import PlannerTool
from agents.policy.budget import Limits
from agents.workflows.swarm import scheduler
from agents.workflows.swarm.branch import BranchPlan, Outcome, tools_for
from agents.workflows.swarm.pacer import Pacer, Pool
from agents.workflows.swarm.scheduler import Job, Settle, Settled
from agents.workflows.swarm.tasks import SPEC, TOOL_NAME, Task, TaskError, parse, structured
from storage import repo, swarms
from storage.swarms import SwarmBranch

PROMPT = (Path(__file__).resolve().parents[2] / "prompts" / "swarm_subagent.md").read_text(encoding="utf-8")
PARENT_RESERVE = 0.1
"""Share of the parent's remaining budget the swarm leaves to the parent (its answer after the swarm)."""
DIGEST_CHARS = 12_000  # the whole digest; each line gets its share (at least PREVIEW_MIN)
PREVIEW_MIN = 120
# It starts runs that may call any tool the parent could: not read-only, so a tainted conversation asks once.
ANNOTATIONS = types.ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False,
                                    open_world_hint=True)


def planner_tool(limits: Any) -> PlannerTool:
    """agents__spawn as a planner-level tool; `limits` are the per-sub-agent caps (SubagentLimits)."""

    async def run(parent: RunContext, args: Any, emit: Any) -> tuple[ToolResult, dict[str, Any]]:
        return await spawn(parent, args, emit, limits)

    return PlannerTool(TOOL_NAME, spec=SPEC, run=run, annotations=ANNOTATIONS, model_worker=True,
                       result_source="the sub-agents' results (they read tools' output)")


def swarm_key(run_id: str, args: Any) -> str:
    """What a resumed run finds its swarm by: the same call of the same run."""
    return hashlib.sha256(f"{run_id}\n{json.dumps(args, sort_keys=True, default=str)}".encode()).hexdigest()


def parent_pool(parent: RunContext, already: list[SwarmBranch]) -> tuple[Pool, int]:
    """(the budget the swarm may spend, tool calls left): the parent's limits minus what the parent spent so far."""
    steps = repo.steps_for_run(parent.db, parent.run_id)
    cost = sum(s.cost_usd for s in steps)
    tokens = sum(s.prompt_tokens + s.completion_tokens for s in steps)
    calls = sum(s.kind == "tool" for s in steps)
    lim = parent.limits
    keep = 1.0 - PARENT_RESERVE
    pool = Pool(max_cost_usd=max(lim.max_cost_usd - cost, 0.0) * keep, max_tokens=int(max(lim.max_tokens - tokens, 0) * keep))
    pool.spent_cost = sum(b.cost_usd for b in already)  # replayed branches of a resumed swarm
    pool.spent_tokens = sum(b.prompt_tokens + b.completion_tokens for b in already)
    return pool, max(lim.max_steps - calls - sum(b.tool_calls for b in already), 0)


async def spawn(parent: RunContext, args: Any, emit: Any, limits: Any) -> tuple[ToolResult, dict[str, Any]]:
    """Run the swarm: the tool result (the digest) and the usage to add to the parent run."""
    started = time.monotonic()
    try:
        tasks, brief, cap = parse(args, limits.concurrency)
    except TaskError as exc:
        return _error(str(exc), started), {}
    unknown = sorted({n for t in tasks for n in tools_for(parent, t.tools)[1]})
    if unknown:
        offered = ", ".join(t["function"]["name"] for t in tools_for(parent, None)[0])
        return _error(f"no tool {', '.join(unknown)} to give a sub-agent; yours are: {offered}", started), {}
    goals = [(t.goal, t.stored()) for t in tasks]
    swarm, branches = await asyncio.to_thread(swarms.open_swarm, parent.db, parent.run_id, parent.conversation_id,
                                              swarm_key(parent.run_id, args), "spawn", brief, cap, goals)
    result = await run_swarm(parent, swarm, branches, emit, limits,
                             plan=lambda b, per: _plan(parent, swarm, b, len(branches), per),
                             settle=lambda b, o: _settle(parent, b, o))
    return ToolResult(digest(result), False, [], None, time.monotonic() - started), usage_of(result)


async def run_swarm(parent: RunContext, swarm: Any, branches: list[SwarmBranch], emit: Any, limits: Any, *,
                    plan: Callable[[SwarmBranch, Limits], BranchPlan], settle: Settle) -> list[SwarmBranch]:
    """Pool, pacer and scheduler for a stored swarm (analyze_documents uses it too)."""
    done = [b for b in branches if b.status in swarms.FINISHED]
    pool, steps_left = await asyncio.to_thread(parent_pool, parent, done)
    todo = max(len(branches) - len(done), 1)
    # Each sub-agent's own limits: the app's per-sub-agent caps, and its share of the tool calls left.
    per = Limits(max(min(limits.max_steps, steps_left // todo), 1), limits.max_tokens, limits.max_cost_usd,
                 limits.max_wall_s)
    emit(SwarmStarted(swarm_id=swarm.id, goals=[b.goal for b in branches], concurrency=swarm.concurrency,
                      resumed=len(done)))
    pacer = Pacer(swarm.concurrency, pool, on_cut=lambda text: emit(Notice(level="warning", message=text)))
    job = Job(parent, swarm, branches, lambda b: plan(b, per), settle, emit, pacer)
    out = await scheduler.run(job)
    await asyncio.to_thread(swarms.finish_swarm, parent.db, swarm.id, "done")
    return out


def _plan(parent: RunContext, swarm: Any, branch: SwarmBranch, count: int, per: Limits) -> BranchPlan:
    task = Task.from_stored(branch.goal, branch.task)
    tools, _ = tools_for(parent, task.tools)
    if task.output_schema is not None:
        output = ("Answer with ONLY one JSON value matching this JSON Schema (no prose around it):\n"
                  + json.dumps(task.output_schema, ensure_ascii=False))
    else:
        output = "When done, answer with your result: complete, but no longer than it needs to be."
    prompt = PROMPT.format(number=branch.idx + 1, count=count, today=date.today().isoformat(), max_steps=per.max_steps,
                           brief=swarm.brief or "(none)", goal=branch.goal, output=output,
                           tools=", ".join(t["function"]["name"] for t in tools) or "none")
    return BranchPlan(system_prompt=prompt, user_message=branch.goal, tools=tools, limits=per,
                      meta={"swarm": swarm.id, "branch": branch.idx})


async def _settle(parent: RunContext, branch: SwarmBranch, outcome: Outcome) -> Settled:
    """Check the answer against the task's schema and keep the full result as an artifact."""
    task = Task.from_stored(branch.goal, branch.task)
    if outcome.status != "done":
        text = outcome.answer or ""
        return Settled(outcome.status, preview=text[:200], error=outcome.error,
                       artifact_id=await _keep(parent, branch, text) if text else None)
    value: Any = None
    if task.output_schema is not None:
        value, problem = structured(outcome.answer, task.output_schema)
        if problem is not None:
            return Settled("failed", error=f"answer does not match the output schema: {problem}",
                           correction=f"Your answer does not match the required JSON Schema ({problem}). Answer "
                                      "again with ONLY the JSON value.")
    text = json.dumps(value, ensure_ascii=False) if value is not None else outcome.answer
    return Settled("done", preview=text, result=value, artifact_id=await _keep(parent, branch, text))


async def _keep(parent: RunContext, branch: SwarmBranch, text: str) -> str:
    artifact = await asyncio.to_thread(repo.save_artifact, parent.db, text, name=f"subagent-{branch.idx + 1}.txt",
                                       mime="text/plain", kind="subagent_result",
                                       conversation_id=parent.conversation_id, run_id=parent.run_id)
    return artifact.id


def digest(branches: list[SwarmBranch]) -> str:
    """One line per sub-agent: state, goal, a compact result and the artifact with all of it."""
    share = max(PREVIEW_MIN, DIGEST_CHARS // max(len(branches), 1))
    counts: dict[str, int] = {}
    for b in branches:
        counts[b.status] = counts.get(b.status, 0) + 1
    cost = sum(b.cost_usd for b in branches)
    lines = [f"Swarm of {len(branches)} sub-agents: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
             + f"; {sum(b.tool_calls for b in branches)} tool calls, ${cost:.4f}."]
    for b in branches:
        body = json.dumps(b.result, ensure_ascii=False) if b.result is not None else (b.answer or "")
        body = " ".join(body.split())
        body = body if len(body) <= share else body[:share] + " …"
        where = f" [artifact {b.artifact_id}]" if b.artifact_id else ""
        why = f" — {b.error}" if b.error and b.status != "done" else ""
        lines.append(f"{b.idx + 1}. [{b.status}] {b.goal[:100]}{why}: {body}{where}")
    lines.append("Read a full result with context__read_artifact(artifact=<id>) when the line is not enough.")
    return "\n".join(lines)


def usage_of(branches: list[SwarmBranch]) -> dict[str, Any]:
    """What the sub-agents spent, added to the parent run's totals (and its tool-call budget)."""
    return {"prompt_tokens": sum(b.prompt_tokens for b in branches),
            "completion_tokens": sum(b.completion_tokens for b in branches),
            "cached_tokens": sum(b.cached_tokens for b in branches),
            "cost_usd": sum(b.cost_usd for b in branches),
            "tool_calls": sum(b.tool_calls for b in branches)}


def _error(text: str, started: float) -> ToolResult:
    return ToolResult(text, True, [], None, time.monotonic() - started)
