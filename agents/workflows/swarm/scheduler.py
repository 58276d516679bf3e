"""Runs a swarm's branches: at most `cap` sub-agents at once, a failed one retried once, any one (or all) stoppable,
and every branch's state stored as it changes (storage/swarms.py), so a resumed parent runs only the unfinished.

The branches run as tasks of one asyncio.TaskGroup under the swarm's pacer (agents/models/call_gate.CALL_GATE):
stopping the parent run cancels them all; `stop(swarm_id, index)` cancels one, the others keep running.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agents.events import ApprovalRequested, Notice, SubagentFinished, SubagentProgress, SubagentStarted
from agents.models import providers
from agents.models.call_gate import CALL_GATE
from agents.planner.state import RunContext
from agents.workflows.swarm.branch import BranchPlan, Outcome, run_branch
from agents.workflows.swarm.pacer import Pacer
from storage import approvals, repo, swarms
from storage.swarms import FINISHED, Swarm, SwarmBranch

RETRIES = 1  # a failed sub-agent is run once more, then reported failed with its reason


@dataclass
class Settled:
    """A finished sub-agent's result as the swarm keeps it (agents/workflows/swarm/spawn.py decides)."""

    status: str
    preview: str = ""  # what the parent's digest shows
    result: Any = None
    artifact_id: str | None = None
    error: str | None = None
    correction: str = ""  # ask the sub-agent once more with this (its answer did not match the schema)


Plan = Callable[[SwarmBranch], BranchPlan]
Settle = Callable[[SwarmBranch, Outcome], Awaitable[Settled]]


@dataclass
class Job:
    """One swarm being run."""

    parent: RunContext
    swarm: Swarm
    branches: list[SwarmBranch]
    plan: Plan
    settle: Settle
    emit: Callable[[Any], None]
    pacer: Pacer
    tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    cpu_s: float = 0.0  # CPU of the scheduler's own bookkeeping in the event loop's thread (bench_swarm.py)
    graph: Any = None  # one compiled planner graph for every branch (compiling one costs ~50 ms of CPU)
    stopped: set[int] = field(default_factory=set)


_ACTIVE: dict[str, Job] = {}
_WORKERS: dict[int, int] = {}  # id(loop) -> worker threads of the default executor this module gave it


def _ensure_workers(count: int) -> None:
    """Enough worker threads for the sub-agents' database writes (the default pool has cores + 4: 6 on a
    2-core machine, and 20 sub-agents queued on it measured twice as slow in benchmarks/bench_swarm.py)."""
    loop = asyncio.get_running_loop()
    if _WORKERS.get(id(loop), 0) >= count:
        return
    loop.set_default_executor(ThreadPoolExecutor(max_workers=count, thread_name_prefix="swarm-io"))
    _WORKERS[id(loop)] = count


def stop(swarm_id: str, index: int | None = None) -> bool:
    """Stop one branch of a running swarm (or all of them with index None); False when nothing ran."""
    job = _ACTIVE.get(swarm_id)
    if job is None:
        return False
    targets = list(job.tasks) if index is None else [index]
    hit = False
    for idx in targets:
        task = job.tasks.get(idx)
        job.stopped.add(idx)
        if task is not None and not task.done():
            task.cancel()
            hit = True
    return hit or (index is not None and index in {b.idx for b in job.branches})


def active_branches(run_id: str) -> list[tuple[str, int, str, str]]:
    """(swarm id, branch index, goal, sub-agent run id) of every branch still running in this parent run's swarms."""
    return [(job.swarm.id, b.idx, b.goal, b.run_id or "") for job in list(_ACTIVE.values())
            if job.parent.run_id == run_id
            for b in job.branches if b.idx in job.tasks and not job.tasks[b.idx].done()]


def running(swarm_id: str) -> bool:
    """Whether this process is running the swarm."""
    return swarm_id in _ACTIVE


async def run(job: Job) -> list[SwarmBranch]:
    """Run the unfinished branches (finished ones are replayed) and return every branch as stored at the end."""
    if job.parent.subgraph is None:
        raise RuntimeError("the run context has no graph factory for sub-agents")
    job.graph = job.parent.subgraph()
    # The model worker (sub-agents' whole answers in a second process) is started when the web app's agent opens
    # (Agent.warm_model_worker); here when that did not happen (the CLI, no model configured then, or it ended since).
    # Calls made before it is ready run in this process.
    providers.start_model_worker()
    _ensure_workers(min(2 * job.swarm.concurrency + 8, 128))
    _ACTIVE[job.swarm.id] = job
    token = CALL_GATE.set(job.pacer)  # the branch tasks inherit it (they copy this context)
    semaphore = asyncio.Semaphore(job.swarm.concurrency)
    try:
        for branch in job.branches:
            if branch.status in FINISHED:
                job.emit(_finished(job, branch, replayed=True))
        async with asyncio.TaskGroup() as group:
            for branch in job.branches:
                if branch.status not in FINISHED:
                    job.tasks[branch.idx] = group.create_task(_guarded(job, branch, semaphore))
    finally:
        CALL_GATE.reset(token)
        _ACTIVE.pop(job.swarm.id, None)
        job.pacer.close()  # its cap leaves the providers' limits it shared with other swarms
    return await asyncio.to_thread(swarms.branches, job.parent.db, job.swarm.id)


async def _guarded(job: Job, branch: SwarmBranch, semaphore: asyncio.Semaphore) -> None:
    """One branch; a stop cancels only it (the TaskGroup must not see the CancelledError)."""
    try:
        async with semaphore:
            await _branch(job, branch)
    except asyncio.CancelledError:
        if branch.idx not in job.stopped:
            raise  # the whole run is being stopped
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        fields: dict[str, Any] = {"status": "stopped", "error": "Stopped by the user."}
        run = await asyncio.to_thread(repo.get_run, job.parent.db, branch.run_id) if branch.run_id else None
        if run is not None:  # what it spent before the stop (its run row was closed with its totals)
            fields.update(steps=run.steps, prompt_tokens=run.prompt_tokens, completion_tokens=run.completion_tokens,
                          cached_tokens=run.cached_tokens, cost_usd=run.cost_usd)
        await asyncio.to_thread(swarms.update_branch, job.parent.db, job.swarm.id, branch.idx, **fields)
        for name, value in fields.items():
            setattr(branch, name, value)
        job.emit(_finished(job, branch))


async def _branch(job: Job, branch: SwarmBranch) -> None:
    parent, db = job.parent, job.parent.db
    if branch.run_id and branch.status == "running":  # left running by a crash: its run will not continue
        await asyncio.to_thread(_interrupted, db, branch.run_id)
    plan = job.plan(branch)
    for attempt in range(1, RETRIES + 2):
        started = time.time()

        def report(event: Any, outcome: Outcome, attempt: int = attempt, started: float = started) -> None:
            cpu = time.thread_time()
            _report(event, outcome, attempt, started)
            job.cpu_s += time.thread_time() - cpu

        def _report(event: Any, outcome: Outcome, attempt: int, started: float) -> None:
            if isinstance(event, Notice):  # e.g. a call denied because it needed an approval
                event.message = f"Sub-agent {branch.idx + 1} ({branch.goal[:60]}): {event.message}"
                job.emit(event)
            elif isinstance(event, ApprovalRequested):  # one card in the parent's view, naming the sub-agent
                event.subagent_run_id = outcome.run_id
                event.subagent = f"Sub-agent {branch.idx + 1}: {branch.goal[:80]}"
                job.emit(event)
            else:
                job.emit(_progress(job, branch, outcome, attempt, started, SubagentProgress))

        outcome = None
        run_id = None
        try:
            spec = parent.chain[0]
            run = await asyncio.to_thread(repo.create_run, db, parent.conversation_id, spec.provider, spec.model,
                                          meta={"subagent_of": parent.run_id, **plan.meta})
            run_id = run.id
            await asyncio.to_thread(swarms.update_branch, db, job.swarm.id, branch.idx, status="running",
                                    run_id=run_id, attempts=branch.attempts + 1)
            branch.attempts += 1
            branch.run_id = run_id
            job.emit(_progress(job, branch, Outcome(run_id, "running"), attempt, started, SubagentStarted))
            waiter = _waiter(job, branch, attempt, started)
            outcome = await run_branch(parent, job.graph, plan, report, run_id=run_id, await_decision=waiter)
            settled = await job.settle(branch, outcome)
            if settled.correction and outcome.status == "done":
                outcome = await run_branch(parent, job.graph, plan, report, run_id=run_id, previous=outcome,
                                           correction=settled.correction, await_decision=waiter)
                settled = await job.settle(branch, outcome)
                if settled.correction:
                    settled.status = "failed"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported as this branch's failure
            outcome = outcome or Outcome(run_id or "", "failed")
            settled = Settled("failed", error=f"{type(exc).__name__}: {exc}")
        if settled.status == "failed" and attempt <= RETRIES:
            job.emit(Notice(level="warning", message=f"Sub-agent {branch.idx + 1} ({branch.goal[:60]}) failed "
                                                     f"({settled.error}); starting it once more."))
            continue
        break
    fields = dict(status=settled.status, answer=outcome.answer, result=settled.result, artifact_id=settled.artifact_id,
                  error=settled.error, steps=outcome.steps, tool_calls=outcome.tool_calls,
                  prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens,
                  cached_tokens=outcome.cached_tokens, cost_usd=outcome.cost_usd, last_tool=outcome.last_tool)
    await asyncio.to_thread(swarms.update_branch, db, job.swarm.id, branch.idx, **fields)
    for name, value in fields.items():
        setattr(branch, name, value)
    job.emit(_finished(job, branch, preview=settled.preview))


DECISION_POLL_S = 0.3
INTERRUPTED = "the sub-agent's run was interrupted (the app stopped); the sub-agent was started again"


def _interrupted(db: Any, run_id: str) -> None:
    """A branch's run that a crash left running: marked interrupted, and a request it waited on is closed (the new
    run asks again if it needs to), so no approval card stays pending for a run that will never read it."""
    repo.update_run(db, run_id, status="interrupted")
    for row in approvals.approvals_for_run(db, run_id, pending_only=True):
        approvals.decide(db, run_id, row.call_id, False, INTERRUPTED)


def _waiter(job: Job, branch: SwarmBranch, attempt: int, started: float) -> Callable[[Any], Awaitable[Any]]:
    """How a branch waits for the user's decision on one of its calls: the stored row, read until decided (the
    decision may come from this process's UI or from `python run.py approve` in another terminal)."""

    async def wait(row: Any) -> Any:
        waiting = SubagentProgress(swarm_id=job.swarm.id, index=branch.idx, goal=branch.goal,
                                   subagent_run_id=row.run_id, status="waiting", attempt=attempt,
                                   last_tool=row.tool, elapsed_s=time.time() - started)
        job.emit(waiting)
        while row.decision == "pending":
            await asyncio.sleep(DECISION_POLL_S)
            row = await asyncio.to_thread(approvals.get_approval, job.parent.db, row.run_id, row.call_id) or row
        return row

    return wait


def _progress(job: Job, branch: SwarmBranch, outcome: Outcome, attempt: int, started: float, kind: Any) -> Any:
    return kind(swarm_id=job.swarm.id, index=branch.idx, goal=branch.goal, subagent_run_id=outcome.run_id,
                status="running", attempt=attempt, steps=outcome.steps, tool_calls=outcome.tool_calls,
                tokens=outcome.tokens, cost_usd=outcome.cost_usd, last_tool=outcome.last_tool,
                elapsed_s=time.time() - started)


def _finished(job: Job, branch: SwarmBranch, *, replayed: bool = False, preview: str = "") -> SubagentFinished:
    return SubagentFinished(
        swarm_id=job.swarm.id, index=branch.idx, goal=branch.goal, subagent_run_id=branch.run_id or "",
        status=branch.status, attempt=max(branch.attempts, 1), steps=branch.steps, tool_calls=branch.tool_calls,
        tokens=branch.prompt_tokens + branch.completion_tokens, cost_usd=branch.cost_usd, last_tool=branch.last_tool,
        preview=preview or (branch.answer or "")[:200], artifact_id=branch.artifact_id, error=branch.error,
        replayed=replayed,
    )  # fmt: skip
