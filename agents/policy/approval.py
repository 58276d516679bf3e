"""Approvals: which tool calls are risky, from what the tools declare, and the planner's gate that asks the user.

The policy, in one place (README "Untrusted content and approvals" says the same for users):

- Risk comes from declarations, never from a list of names: a tool is safe only when it declares itself read-only
  (MCP annotation `readOnlyHint: true`). Declarations count when they are the app's own (built-in servers,
  planner-level tools) or come from an external server that mcp.json marks `"trusted": true`; any other external
  tool is treated as not read-only, whatever it claims.
- Once the conversation has read untrusted content (agents/policy/untrusted.py), every call to a tool that is not
  read-only waits for the user's approval (a LangGraph interrupt). Content read by calls of the same assistant
  message does not count: the model had not seen it yet. Calls and reads are keyed by the planner's own counter
  (`<step>.<index>`), never by the ids the model chose, so a reused id cannot hide a read or reuse an approval.
- A call that would read a file outside the conversation's workspace (an argument the tool declares in
  `_meta["k2hub/host_paths"]` holding an absolute path outside the user's library folders) asks every time,
  tainted or not.
- A sub-agent cannot pause for approval: its run is covered by the approval of the planner-level tool that started
  it (for the tools that tool declares it delegates); anything else that would ask is denied, recorded as denied
  and announced in the parent's event stream, except in an agent swarm (agents__spawn): there the request is shown
  in the parent's view, naming the sub-agent, and only that branch waits for the user's decision.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mcp_types as types

from agents.events import ApprovalRequested, Notice, ToolCallFinished
from agents.hub.config import ServerConfig
from storage import approvals, repo
from storage.approvals import UntrustedRead

if TYPE_CHECKING:  # the UI imports this module for code_of: it must not pull in the planner (litellm)
    from agents.planner.state import RunContext

HOST_PATHS_META = "k2hub/host_paths"
"""Tool _meta key listing the arguments that may be paths outside the workspace (mcp_servers/common/annotations)."""
SOURCES_SHOWN = 3
SUBAGENT_DENIAL = "sub-agents cannot pause for an approval"


@dataclass(frozen=True)
class Risk:
    """Why a call may need the user: what it would do, and whether it asks even in an untainted conversation."""

    what: str
    always: bool = False


def assess(name: str, args: Any, config: ServerConfig | None, tool: types.Tool | None,
           planner: types.ToolAnnotations | None = None, library: Sequence[str] = ()) -> Risk | None:
    """The risk of a call from its tool's trusted declarations (planner: a planner-level tool's); None: read-only."""
    args = args if isinstance(args, dict) else {}
    if planner is not None:
        hints, declared = planner, True
    else:
        declared = config is not None and (config.builtin or config.trusted) and tool is not None
        hints = tool.annotations if declared and tool is not None else None
    if declared and tool is not None:
        outside = _host_paths(tool, args, library)
        if outside:
            return Risk(f"reads {outside}, outside this conversation's workspace", always=True)
    if hints is not None and hints.read_only_hint is True:
        return None
    if not declared:
        server = config.name if config is not None else name.split("__")[0]
        return Risk(f"is a tool of the external server {server}, whose own annotations are not trusted (mark the "
                    "server \"trusted\": true in mcp.json to use them)")
    return Risk(_effect(hints, tool))


def _effect(hints: types.ToolAnnotations | None, tool: types.Tool | None) -> str:
    """What a declared, not read-only tool does, in words: its own summary plus what its hints say."""
    summary = re.split(r": |; | \(|\. ", (tool.description or "").strip().split("\n")[0])[0].rstrip(".") if tool else ""
    if hints is None:
        effect = "may change anything (it declares nothing)"
    elif hints.destructive_hint is not False and hints.open_world_hint is not False:
        effect = "acts outside this machine and may change or delete things there"
    elif hints.destructive_hint is not False:
        effect = "may change or delete files, or runs code"
    elif hints.open_world_hint is not False:
        effect = "brings content from outside into the workspace"
    else:
        effect = "adds data"
    return f"{summary[:160]} ({effect})" if summary else effect


def _host_paths(tool: types.Tool, args: dict[str, Any], library: Sequence[str]) -> str:
    """The first declared path argument naming a place outside the workspace and the library folders, or ''."""
    names = (tool.meta or {}).get(HOST_PATHS_META) or []
    for key in names if isinstance(names, list) else []:
        value = args.get(key)
        if not isinstance(value, str) or not (value.startswith("/") or value.startswith("~")):
            continue  # relative paths stay in the workspace: the server confines them
        real = os.path.realpath(os.path.expanduser(value))
        if not any(real == lib or real.startswith(lib.rstrip("/") + "/") for lib in library):
            return value
    return ""


def explain(reads: Sequence[UntrustedRead]) -> str:
    """Why a call asks: the untrusted content the conversation has read (most recent first)."""
    seen: list[str] = []
    for read in reads:
        item = f"{read.source} (via {read.tool})"
        if item not in seen:
            seen.append(item)
    shown = "; ".join(seen[:SOURCES_SHOWN]) + (
        f"; and {len(seen) - SOURCES_SHOWN} more" if len(seen) > SOURCES_SHOWN else ""
    )
    return (
        f"This conversation has read untrusted content: {shown}. Text from there may try to make the agent do "
        "things you did not ask for, so tools that are not read-only wait for your approval."
    )


def denial_text(name: str, note: str) -> str:
    """The tool error the model gets when the user says no."""
    said = f" The user said: {note.strip()}" if note.strip() else ""
    return (
        f"The user denied this call to {name}; it did not run.{said} Do not try to get the same effect another way; "
        "continue without it or ask the user."
    )


async def gate(ctx: RunContext, emit: Callable[[Any], None], key: str, name: str, args: Any,
               batch: Sequence[str], planner: types.ToolAnnotations | None = None) -> str | None:
    """Before a tool call runs: None when it may run; else the denial to return to the model as its result.

    key is the planner's own key of the call (`<step>.<index>`), batch the keys of its assistant message, planner
    the annotations of a planner-level tool (agents/planner/tools.py) when the planner runs the call itself. A call
    that must ask records a pending approval, emits ApprovalRequested and interrupts the graph; Agent.approve
    records the decision and resumes it, and this node runs again from the top.
    """
    info = ctx.hub.tool_info(name)
    if info is None and planner is None:
        return None  # not offered: run_tool refused it before the gate
    config, tool = info if info is not None else (None, None)
    risk = assess(name, args, config, tool, planner, ctx.library_dirs)
    if risk is None or (name in ctx.preapproved and not risk.always):
        return None
    db, run_id = ctx.db, ctx.run_id
    # The call's approval row and, when it has none, the conversation's untrusted reads: one thread hop.
    row, reads = await asyncio.to_thread(approvals.gate_reads, db, run_id, key, ctx.conversation_id,
                                         exclude_calls=batch, with_reads=not risk.always, limit=20)
    if row is None:
        if not risk.always and not reads:
            return None
        why = explain(reads) if reads else "The model chose a file outside this conversation's workspace by itself."
        stored_args = args if isinstance(args, dict) else {"raw": args}
        row = await asyncio.to_thread(approvals.request_approval, db, run_id, key, name, stored_args, risk.what, why)
    if row.decision == "pending" and not ctx.can_ask and ctx.await_decision is not None:
        # A swarm's sub-agent: one card in the parent's view names it; only this branch waits for the decision.
        emit(approval_event(row))
        row = await ctx.await_decision(row)
    if row.decision == "pending" and not ctx.can_ask:
        # A sub-agent's graph has no checkpoint to pause in: the call is denied, visibly, never left pending.
        row = await asyncio.to_thread(approvals.decide, db, run_id, key, False, SUBAGENT_DENIAL)
        emit(Notice(level="warning", message=f"A sub-agent's call to {name} needed your approval ({risk.what}) and "
                                             f"was denied: {SUBAGENT_DENIAL}. Ask for it in the chat if you want it."))
    if row.decision == "pending":
        from langgraph.types import interrupt  # imported here: the UI imports this module and never interrupts

        emit(approval_event(row))
        answer = interrupt({"call_id": key, "name": name, "risk": row.risk})
        # Agent.approve records the decision before resuming; a bare Command(resume=...) is recorded here.
        approved, note = _answer(answer)
        row = await asyncio.to_thread(approvals.decide, db, run_id, key, approved, note)
    return None if row.decision == "approved" else denial_text(name, row.note)


async def record_denial(
    ctx: RunContext, emit: Callable[[Any], None], call_id: str, name: str, args: Any, denial: str
) -> None:
    """A denied or refused call is a step with an error (a resumed run replays it) and a finished, failed card."""
    await asyncio.to_thread(
        repo.add_step, ctx.db, ctx.run_id, kind="tool", name=name, call_id=call_id,
        args=args if isinstance(args, dict) else {"raw": args}, result_preview=denial, error=denial,
    )  # fmt: skip
    emit(ToolCallFinished(call_id=call_id, name=name, preview=denial, duration_s=0.0, error=denial))


def approval_event(row: approvals.Approval) -> ApprovalRequested:
    """The event that shows a pending approval: what would run and why."""
    arguments = row.arguments if row.arguments is not None else {}
    return ApprovalRequested(run_id=row.run_id, call_id=row.call_id, name=row.tool, arguments=arguments,
                             reason=row.reason, risk=row.risk)  # fmt: skip


def _answer(value: Any) -> tuple[bool, str]:
    """A resume value: True/False, 'approve'/'deny', or {"approved": bool, "note": str}."""
    if isinstance(value, dict):
        return bool(value.get("approved")), str(value.get("note") or "")
    if isinstance(value, str):
        return value.strip().lower() in ("approve", "approved", "yes", "y"), ""
    return bool(value), ""


async def record_reads(ctx: RunContext, key: str, name: str, sources: Sequence[str]) -> None:
    """Remember that the model has seen untrusted content from these sources (the conversation is tainted now)."""
    source = "; ".join(sources[:SOURCES_SHOWN]) + (f"; and {len(sources) - SOURCES_SHOWN} more"
                                                    if len(sources) > SOURCES_SHOWN else "")
    await asyncio.to_thread(approvals.record_untrusted_read, ctx.db, ctx.conversation_id, ctx.run_id, key, name,
                            source)


def code_of(name: str, arguments: Any) -> tuple[str, str, dict[str, Any]] | None:
    """(language, code, other arguments) when a call carries code or file content, to show it as code, not JSON."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    go_args = arguments.get("args")
    if name.endswith("__go") and isinstance(go_args, list):
        rest = {k: v for k, v in arguments.items() if k != "args"}
        return "bash", "go " + " ".join(str(a) for a in go_args), rest
    for key, lang in (("code", "python"), ("command", "bash"), ("script", "bash"), ("content", "")):
        value = arguments.get(key)
        if isinstance(value, str) and value.strip():
            return lang, value, {k: v for k, v in arguments.items() if k != key}
    return None
