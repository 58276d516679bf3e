"""Untrusted content and approvals: which results are untrusted, which calls are risky, and the planner's gate.

The policy, in one place (README "Untrusted content and approvals" says the same for users):

- A tool result is **untrusted content** when its server is untrusted: the built-ins `browser` and `pdf_reader`
  (web pages and documents are written by strangers), and every external (mcp.json) server unless its entry says
  `"trusted": true`. Each untrusted result is recorded (storage.approvals.untrusted_reads) with its URL/document:
  from then on the conversation is tainted, in every later run and after a restart.
- A tool call is **risky** when it can change things or run code: every `sandbox__*` tool, `workspace__write_file`,
  `workspace__delete_path`, `browser__download`, `browser__type` with `submit: true`, `browser__click` (a click can
  submit a form or press "buy"; which element a ref names is known only to the page, so every click counts; follow a
  link with `browser__open` instead), `skills_hub__install_skill`; any tool its server annotates
  `destructiveHint: true`; and every external tool not annotated `readOnlyHint: true` (MCP's defaults say an
  unannotated tool may be destructive and open-world, and we take the server at its word only when it says less).
- A risky call in a tainted conversation waits for the user's approval (a LangGraph interrupt). Content read by a
  call made in the same assistant message does not count: the model had not seen it when it asked.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import mcp_types as types

from agents.events import ApprovalRequested, ToolCallFinished
from agents.hub.config import ServerConfig
from storage import approvals, repo
from storage.approvals import UntrustedRead

if TYPE_CHECKING:  # the UI imports this module for code_of: it must not pull in the planner (litellm)
    from agents.planner.state import RunContext

UNTRUSTED_BUILTINS = frozenset({"browser", "pdf_reader"})
RISKY_SERVERS = {"sandbox": "runs code in the sandbox"}
RISKY_TOOLS = {
    "workspace__write_file": "writes a file in the workspace",
    "workspace__delete_path": "deletes files in the workspace",
    "browser__download": "downloads a file from the web into the workspace",
    "browser__click": "clicks an element on a web page (may submit a form or trigger an action)",
    "skills_hub__install_skill": "installs a skill into the registry",
    "skills_hub__install": "installs a skill into the registry",
}
SOURCE_KEYS = ("url", "href", "document", "document_id", "doc", "file", "filename", "path")
URL_RE = re.compile(r"https?://[^\s\"'<>)\]`]+")
SOURCES_SHOWN = 3


def is_untrusted_server(config: ServerConfig) -> bool:
    """Whether results from this server are untrusted content."""
    if config.builtin:
        return config.name in UNTRUSTED_BUILTINS
    return not config.trusted


def risk_of(name: str, args: Any, config: ServerConfig | None, tool: types.Tool | None) -> str | None:
    """What a risky call would do, in a few words; None when the call is not risky."""
    args = args if isinstance(args, dict) else {}
    server = config.name if config is not None else name.split("__")[0]
    builtin = config is None or config.builtin
    hints = tool.annotations if tool is not None else None
    if builtin and server in RISKY_SERVERS:
        return RISKY_SERVERS[server]
    if builtin and name in RISKY_TOOLS:
        return RISKY_TOOLS[name]
    if builtin and name == "browser__type" and args.get("submit") is True:
        return "types into a web page and submits the form"
    if hints is not None and hints.destructive_hint is True:
        return f"is marked destructive by the {server} server"
    if not builtin and not (hints is not None and hints.read_only_hint is True):
        return f"is a tool of the external server {server}, not marked read-only"
    return None


def source_of(config: ServerConfig, args: Any, text: str) -> str:
    """Where an untrusted result came from, for the approval's reason: a URL, a document, else the server."""
    args = args if isinstance(args, dict) else {}
    url = args.get("url")
    if isinstance(url, str) and url.strip():
        return url.strip()
    found = URL_RE.search(text[:4000])
    if found:
        return found.group(0)
    for key in SOURCE_KEYS:
        value = args.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return f"the {config.name} server"


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
        "things you did not ask for, so risky tool calls wait for your approval."
    )


def denial_text(name: str, note: str) -> str:
    """The tool error the model gets when the user says no."""
    said = f" The user said: {note.strip()}" if note.strip() else ""
    return (
        f"The user denied this call to {name}; it did not run.{said} Do not try to get the same effect another way; "
        "continue without it or ask the user."
    )


async def gate(
    ctx: RunContext, emit: Callable[[Any], None], call_id: str, name: str, args: Any, batch: Sequence[str]
) -> str | None:
    """Before a tool call runs: None when it may run; else the denial to return to the model as its result.

    A risky call in a tainted conversation records a pending approval, emits ApprovalRequested and interrupts the
    graph; Agent.approve records the decision and resumes it, and this node runs again from the top.
    """
    info = ctx.hub.tool_info(name)
    if info is None:
        return None  # an unknown tool: the hub answers with an error and nothing runs
    risk = risk_of(name, args, *info)
    if risk is None:
        return None
    db, run_id = ctx.db, ctx.run_id
    row = await asyncio.to_thread(approvals.get_approval, db, run_id, call_id)
    if row is None:
        reads = await asyncio.to_thread(
            approvals.untrusted_reads, db, ctx.conversation_id, exclude_run=run_id, exclude_calls=batch, limit=20
        )
        if not reads:
            return None
        stored_args = args if isinstance(args, dict) else {"raw": args}
        row = await asyncio.to_thread(
            approvals.request_approval, db, run_id, call_id, name, stored_args, risk, explain(reads)
        )
    if row.decision == "pending":
        from langgraph.types import interrupt  # imported here: the UI imports this module and never interrupts

        emit(approval_event(row))
        answer = interrupt({"call_id": call_id, "name": name, "risk": row.risk})
        # Agent.approve records the decision before resuming; a bare Command(resume=...) is recorded here.
        approved, note = _answer(answer)
        row = await asyncio.to_thread(approvals.decide, db, run_id, call_id, approved, note)
    return None if row.decision == "approved" else denial_text(name, row.note)


async def record_denial(
    ctx: RunContext, emit: Callable[[Any], None], call_id: str, name: str, args: Any, denial: str
) -> None:
    """A denied call is a step with an error (a resumed run replays it) and a finished, failed card."""
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


async def note_result(ctx: RunContext, call_id: str, name: str, args: Any, text: str) -> None:
    """After a tool call: remember a result from an untrusted server (the conversation is tainted from now on)."""
    info = ctx.hub.tool_info(name)
    if info is None or not is_untrusted_server(info[0]):
        return
    source = source_of(info[0], args, text)
    await asyncio.to_thread(
        approvals.record_untrusted_read, ctx.db, ctx.conversation_id, ctx.run_id, call_id, name, source
    )


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
