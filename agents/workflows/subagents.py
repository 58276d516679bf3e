"""One sub-agent per document, in parallel (one use of the agent swarm, agents/workflows/swarm), then reconciliation.

The main planner starts it with the planner-level tool `subagents__analyze_documents` (`planner_tool(limits)`
registers it; offered only while the analysis and pdf_reader servers are up). Each sub-agent is the ordinary planner
graph (built by the run context's graph factory) with its own run row, budget, system prompt and a
reading-and-recording tool subset; it writes ledger rows with analysis__record_kpi. Its steps, tokens and cost stream
to the parent as SubagentUpdate events and are added to the parent run's totals. The swarm's scheduler runs them:
its concurrency cap, AIMD on 429s, the parent's shared budget, a failed sub-agent retried once, and a stored plan,
so a resumed run re-reads only the reports whose sub-agent had not finished.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import mcp_types as types

from agents.events import SubagentFinished, SubagentProgress, SubagentStarted, SubagentUpdate, SwarmStarted
from agents.hub import tool_names as tn
from agents.hub.hub import ToolResult
from agents.planner.state import RunContext
from agents.planner.tools import PlannerTool
from agents.policy import context as long_context
from agents.policy.budget import Limits
from agents.policy.compaction import NOTES_TOOL, READ_TOOL
from agents.workflows.swarm.branch import BranchPlan, Outcome
from agents.workflows.swarm.scheduler import Settled
from agents.workflows.swarm.spawn import run_swarm, swarm_key
from storage import documents, ledger, repo, swarms
from storage.swarms import SwarmBranch

TOOL_NAME = "subagents__analyze_documents"
PROMPT = (Path(__file__).resolve().parents[1] / "prompts" / "subagent.md").read_text(encoding="utf-8")
READ_TOOLS = (tn.PDF_OUTLINE, tn.PDF_READ_PAGES, tn.PDF_SEARCH, tn.PDF_LIST_DOCUMENTS)
WRITE_TOOLS = (tn.KPI_RECORD, tn.KPI_LEDGER)
# It starts runs that add rows to the ledger: not read-only, so a tainted conversation asks once, for the call.
ANNOTATIONS = types.ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                                    open_world_hint=False)
DELEGATES = frozenset({tn.KPI_RECORD})
"""What the approval of analyze_documents lets its sub-agents do without asking (they cannot pause for it)."""


@dataclasses.dataclass(frozen=True)
class SubagentLimits:
    """Concurrency and the budget each sub-agent gets (the K2HUB_SUBAGENT_* settings, handed in by the app)."""

    concurrency: int
    max_steps: int  # tool calls (then one call without tools for its answer)
    max_tokens: int  # billed tokens
    max_cost_usd: float
    max_wall_s: float = 900.0  # not a setting: a sub-agent that reads one report for 15 minutes is stuck


SPEC: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": (
            "Extract KPIs from several reports at once: one sub-agent per document reads it with the PDF reader and "
            f"records every value with its page and verbatim quote in the ledger ({tn.KPI_RECORD}); then the "
            "requested derived metrics are computed by code and the comparison table is returned. Use it for "
            "multi-report comparisons instead of reading each report yourself."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "metrics": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Metric names, reported (revenue, operating_income, net_income, cfo, "
                    "capex, total_debt, …) or derived (operating_margin, fcf, revenue_growth, …)",
                },
                "documents": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Document ids or filenames; omit for every report in the conversation",
                },
                "periods": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Fiscal periods, e.g. ['FY2021', 'FY2022']; omit for all the reports show",
                },
                "task": {"type": "string", "description": "The user's request, for the sub-agents' context"},
            },
            "required": ["metrics"],
        },
    },
}


def planner_tool(limits: SubagentLimits) -> PlannerTool:
    """analyze_documents as a planner-level tool, offered while the servers it needs are up."""

    async def run(parent: RunContext, args: Any, emit: Any) -> tuple[ToolResult, dict[str, Any]]:
        return await analyze_documents(parent, args, emit, limits)

    return PlannerTool(TOOL_NAME, spec=SPEC, run=run, needs=frozenset({tn.KPI_RECORD, tn.PDF_READ_PAGES}),
                       annotations=ANNOTATIONS, result_source="the reports the sub-agents read")


@dataclasses.dataclass
class FanOutContext:
    """What every sub-agent shares: the parent's context, the request, the event sink, limits."""

    parent: RunContext
    emit: Any
    metrics: list[str]
    periods: list[str]
    task: str
    limits: SubagentLimits


def _branch_plan(fan: FanOutContext, branch: SwarmBranch, per: Limits) -> BranchPlan:
    """One sub-agent over one report: its prompt, its reading-and-recording tools, its budget."""
    parent, doc = fan.parent, (branch.task or {})["document"]
    spec = parent.chain[0]
    # The context tools too: a sub-agent reading a long report folds its old pages like the planner does.
    tools = [t for t in parent.tools if t["function"]["name"] in {*READ_TOOLS, *WRITE_TOOLS, NOTES_TOOL, READ_TOOL}]
    return BranchPlan(
        system_prompt=_prompt(doc, fan, long_context.context_window(spec), long_context.CALIBRATION.ratio(spec.label)),
        user_message=branch.goal,
        tools=tools,
        limits=per,
        meta={"document": doc["id"], "swarm": branch.swarm_id, "branch": branch.idx},
        # A sub-agent cannot pause for the user: its parent call's approval covers what that call delegates, and
        # anything else that would ask is denied and announced in the parent's stream (never left pending).
        preapproved=DELEGATES,
        ask_user=False,  # as before the swarm: a call that would ask is denied and announced
    )


async def _settle(fan: FanOutContext, branch: SwarmBranch, outcome: Outcome) -> Settled:
    """A finished sub-agent: the ledger rows its run recorded, announced as its card's final state."""
    parent, doc = fan.parent, (branch.task or {})["document"]
    rows = await asyncio.to_thread(ledger.rows, parent.db, parent.conversation_id, include_rejected=True)
    mine = [r for r in rows if r.run_id == outcome.run_id]
    verified = sum(r.status != "rejected" for r in mine)
    run = await asyncio.to_thread(repo.get_run, parent.db, outcome.run_id)
    seconds = (run.finished_at - run.started_at).total_seconds() if run is not None and run.finished_at else 0.0
    fan.emit(SubagentUpdate(subagent_run_id=outcome.run_id, document_id=doc["id"], title=doc["title"],
                            status=outcome.status, steps=outcome.steps, tokens=outcome.tokens,
                            cost_usd=outcome.cost_usd, elapsed_s=seconds, rows=verified,
                            rejected=len(mine) - verified, error=outcome.error))
    return Settled(outcome.status, preview=outcome.answer[:200], error=outcome.error,
                   result={"rows": verified, "rejected": len(mine) - verified, "seconds": seconds})


def _relay(fan: FanOutContext, titles: dict[int, dict[str, Any]]) -> Any:
    """The swarm's events as this workflow's cards: SubagentUpdate per report (the tree events stay inside)."""

    def emit(event: Any) -> None:
        if isinstance(event, (SubagentStarted, SubagentProgress)):
            doc = titles[event.index]
            fan.emit(SubagentUpdate(subagent_run_id=event.subagent_run_id, document_id=doc["id"], title=doc["title"],
                                    status="running", steps=event.steps, tokens=event.tokens,
                                    cost_usd=event.cost_usd, elapsed_s=event.elapsed_s))
        elif not isinstance(event, (SwarmStarted, SubagentFinished)):
            fan.emit(event)

    return emit


def _prompt(doc: dict[str, Any], fan: FanOutContext, context_window: int, ratio: float = 1.0) -> str:
    fits = long_context.fits_sub_agent(doc["tokens"], doc["pages"], context_window, ratio)
    reading = (
        f"It fits in your context: read it whole with {tn.PDF_READ_PAGES}(doc='{doc['id']}', first=1, "
        f"last={doc['pages']}) (continue where a result says it was cut), then record."
        if fits
        else f"It is too long to read whole: use {tn.PDF_OUTLINE}(doc='{doc['id']}') to find the financial "
        f"statements, {tn.PDF_SEARCH} for each metric, and {tn.PDF_READ_PAGES} on the pages found."
    )
    return PROMPT.format(
        today=date.today().isoformat(),
        title=doc["title"],
        doc_id=doc["id"],
        pages=doc["pages"],
        tokens=doc["tokens"],
        reading=reading,
        task=fan.task or "compare KPIs across reports",
        metrics=", ".join(fan.metrics),
        periods=", ".join(fan.periods) or "all the report shows",
    )


async def analyze_documents(
    parent: RunContext, args: dict[str, Any], emit: Any, limits: SubagentLimits
) -> tuple[ToolResult, dict[str, Any]]:
    """Run the fan-out and the reconciliation: the tool result and the usage to add to the parent run."""
    started = time.monotonic()
    args = args if isinstance(args, dict) else {}
    meta = {"k2hub/conversation": parent.conversation_id, "k2hub/run": parent.run_id}
    metrics = [str(m) for m in args.get("metrics") or []]
    if not metrics:
        return _error("give metrics, e.g. ['revenue', 'operating_margin', 'fcf']", started), {}
    docs, missing = await asyncio.to_thread(_documents, parent, args.get("documents") or [])
    if missing or not docs:
        why = f"no document {', '.join(map(repr, missing))}" if missing else "no reports in this conversation"
        return _error(f"{why}: ingest them with {tn.PDF_INGEST} first (or pass their ids)", started), {}
    plan = await parent.hub.call(tn.KPI_PLAN, {"metrics": metrics}, meta=meta)
    if plan.is_error:
        return _error(plan.text, started), {}
    reported, derived = _parse_plan(plan.text)
    fan = FanOutContext(
        parent, emit, reported, [str(p) for p in args.get("periods") or []], str(args.get("task") or ""), limits
    )
    goals = [(f"Extract {', '.join(fan.metrics)} from {d['title']}.", {"document": d}) for d in docs]
    swarm, branches = await asyncio.to_thread(
        swarms.open_swarm, parent.db, parent.run_id, parent.conversation_id, swarm_key(parent.run_id, args),
        "documents", fan.task, limits.concurrency, goals,
    )  # fmt: skip
    titles = {b.idx: (b.task or {})["document"] for b in branches}
    stored = await run_swarm(parent, swarm, branches, _relay(fan, titles), limits,
                             plan=lambda b, per: _branch_plan(fan, b, per), settle=lambda b, o: _settle(fan, b, o))
    results = sorted((_result(b) for b in stored), key=lambda r: r["doc"]["title"])
    lines = ["Sub-agents (one per report):"]
    for r in results:
        lines.append(
            f"- {r['doc']['title']}: {r['status']}, {r['rows']} row(s) recorded, {r['rejected']} rejected, "
            f"{r['steps']} steps, {r['tokens']:,} tokens, ${r['cost_usd']:.4f}, "
            f"{r['seconds']:.1f} s" + (f" — {r['error']}" if r["error"] else "")
        )
        if r["answer"]:
            lines.append("  " + r["answer"].strip().replace("\n", "\n  ")[:1500])
    lines.append("\nReconciliation:")
    for name in derived:  # dependencies first, as plan_metrics orders them
        res = await parent.hub.call(tn.KPI_DERIVE, {"metric": name}, meta=meta)
        lines.append(res.text)
    conflicts = [
        r for r in await asyncio.to_thread(ledger.rows, parent.db, parent.conversation_id) if r.status == "conflict"
    ]
    lines.append(
        f"{len(conflicts)} row(s) in conflict (flagged, not resolved): "
        + ", ".join(f"row {r.id} {r.company} {r.fiscal_period} {r.metric}" for r in conflicts)
        if conflicts
        else "no conflicts between reports or pages"
    )
    table = await parent.hub.call(tn.KPI_COMPARE, {"metrics": metrics}, meta=meta)
    lines += [
        "",
        table.text,
        "",
        (
            "Next: write the executive summary citing every number with its ledger row as [r12] "
            f"({tn.KPI_LEDGER} lists the rows and their ids; copy values, do not round them differently), then "
            f"call {tn.KPI_REPORT}(metrics, summary): it checks every number of the summary against the ledger and "
            "says which are not verified. Show the comparison table in your answer."
        ),
    ]
    usage = {
        "prompt_tokens": sum(r["prompt"] for r in results),
        "completion_tokens": sum(r["completion"] for r in results),
        "cached_tokens": sum(r["cached"] for r in results),
        "cost_usd": sum(r["cost_usd"] for r in results),
    }
    return ToolResult("\n".join(lines), False, [], None, time.monotonic() - started), usage


def _result(branch: SwarmBranch) -> dict[str, Any]:
    """A stored branch as the reconciliation's line needs it."""
    result = branch.result if isinstance(branch.result, dict) else {}
    return {"doc": (branch.task or {})["document"], "run_id": branch.run_id, "status": branch.status,
            "error": branch.error, "answer": branch.answer, "rows": result.get("rows", 0),
            "rejected": result.get("rejected", 0), "seconds": result.get("seconds", 0.0), "steps": branch.steps,
            "tokens": branch.prompt_tokens + branch.completion_tokens, "cost_usd": branch.cost_usd,
            "prompt": branch.prompt_tokens, "completion": branch.completion_tokens, "cached": branch.cached_tokens}


def _error(text: str, started: float) -> ToolResult:
    return ToolResult(text, True, [], None, time.monotonic() - started)


def _documents(parent: RunContext, refs: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    found, missing = [], []
    mine = documents.conversation_documents(parent.db, parent.conversation_id)
    library = documents.library_documents(parent.db, parent.library_dirs)
    if refs:
        within = {d.id for d in [*mine, *library]}  # never another conversation's documents
        for ref in refs:
            doc = documents.get_document(parent.db, str(ref), within=within)
            (found.append(doc) if doc is not None else missing.append(str(ref)))
    else:
        found = mine
    unique = {d.id: d for d in found}.values()
    return [
        {"id": d.id, "title": Path(d.filename).stem or d.title, "pages": d.page_count, "tokens": d.token_count}
        for d in unique
    ], missing


def _parse_plan(text: str) -> tuple[list[str], list[str]]:
    data = json.loads(text)
    return list(data["reported"]), list(data["derived"])
