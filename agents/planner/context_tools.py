"""The planner's own planner-level tools for long runs: re-read a kept result by artifact id (paged), working notes.

Folding (agents.policy.compaction) replaces old steps with one-line records that name the artifact holding each
full result; context__read_artifact reads it back, page by page. context__notes keeps the model's plan and findings:
its latest result is repeated in the newest record, so the notes survive every fold. Both answer from the database
(steps and artifacts of this conversation only), so they work the same after a resume. The Agent registers them
(agents.planner.tools) beside the features' tools, for every run and every sub-agent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from typing import TYPE_CHECKING, Any

from mcp import types

from agents.hub.hub import ToolResult
from agents.planner.tools import KEPT_ARTIFACT, PlannerTool
from agents.policy.compaction import NOTES_PREFIX, NOTES_TOOL, READ_TOOL
from agents.policy.untrusted import FENCE_TAG, UNTRUSTED_META
from storage import images, tool_results

if TYPE_CHECKING:
    from agents.planner.state import RunContext

NOTES_CHARS = 4_000
"""Notes longer than this are refused: they are sent with every request after a fold."""
PAGE_HEADROOM = 300
"""A page leaves room for its header inside the result view (RunContext.result_chars)."""
LIST_LIMIT = 40
OWN_CONTEXT = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=False,
                                    open_world_hint=False)
"""Both change nothing the user has (notes are the model's own scratchpad, kept as its step results): the approval
gate never asks for them."""
_FENCE_SOURCE = re.compile(rf'^<{FENCE_TAG} source="([^"]*)"')

NOTES_SPEC: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": NOTES_TOOL,
        "description": (
            "Your working notes for this conversation. During long tasks older steps are folded to save context, "
            "but these notes stay visible: keep your plan, progress and findings here. 'write' replaces the notes, "
            "'append' adds to them, 'read' shows them."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": ["write", "append", "read"], "description": "What to do"},
                "text": {"type": "string", "description": f"The notes (write) or the lines to add (append); at "
                         f"most {NOTES_CHARS:,} characters in all"},
            },
            "required": ["action"],
        },
    },
}

READ_SPEC: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": READ_TOOL,
        "description": (
            "Read a full tool result kept as an artifact: results that were cut, and earlier steps folded to save "
            "context, name their artifact id. Paged by characters (offset, length). Without artifact_id: list this "
            "conversation's kept results, newest first."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "artifact_id": {"type": "string", "description": "The artifact id (its first 12 characters suffice)"},
                "offset": {"type": "integer", "description": "First character to read (default 0)"},
                "length": {"type": "integer", "description": "Characters to read (default: one page)"},
            },
        },
    },
}

def planner_tools() -> list[PlannerTool]:
    """context__notes and context__read_artifact as planner-level tools (they run in-process, never on the hub)."""
    return [PlannerTool(NOTES_TOOL, spec=NOTES_SPEC, run=_run_notes, annotations=OWN_CONTEXT),
            PlannerTool(READ_TOOL, spec=READ_SPEC, run=_run_read, annotations=OWN_CONTEXT)]


async def _run_notes(ctx: RunContext, args: Any, emit: Any) -> tuple[ToolResult, dict[str, Any]]:
    started = time.monotonic()
    text, error = await asyncio.to_thread(_notes, ctx, args if isinstance(args, dict) else {})
    return ToolResult(text, error, [], None, time.monotonic() - started), {}


async def _run_read(ctx: RunContext, args: Any, emit: Any) -> tuple[ToolResult, dict[str, Any]]:
    started = time.monotonic()
    text, error, source = await asyncio.to_thread(_read, ctx, args if isinstance(args, dict) else {})
    kept = {KEPT_ARTIFACT: source} if source else None  # the step points to the artifact it read, not a copy
    # A kept web page or document is still text from outside: flagged, so run_tool fences it again.
    outside = await asyncio.to_thread(_outside_source, ctx, source) if source else None
    meta = {UNTRUSTED_META: [outside]} if outside else None
    blocks = await asyncio.to_thread(_image_blocks, ctx, source) if source else []  # an image is shown again
    return ToolResult(text, error, blocks, kept, time.monotonic() - started, meta), {}


def _image_blocks(ctx: RunContext, artifact_id: str) -> list[dict[str, Any]]:
    """An image artifact as the MCP image block a tool would return (issue 21: folded images are re-viewable)."""
    found = images.image_of(ctx.db, artifact_id)
    if found is None:
        return []
    return [{"type": "image", "mimeType": found[0], "data": base64.b64encode(found[1]).decode("ascii")}]


def _outside_source(ctx: RunContext, artifact_id: str) -> str | None:
    """Where the kept result came from when it was untrusted (its view was fenced when it arrived)."""
    found = _FENCE_SOURCE.match(tool_results.result_view_of(ctx.db, artifact_id) or "")
    return found.group(1) if found else None


def _notes(ctx: RunContext, args: dict[str, Any]) -> tuple[str, bool]:
    action = str(args.get("action") or "read")
    if action not in ("write", "append", "read"):
        return f"Unknown action {action!r}: use 'write', 'append' or 'read'.", True
    previous = tool_results.latest_step_of(ctx.db, ctx.conversation_id, NOTES_TOOL)
    current = _notes_of(previous.result_preview if previous is not None else None)
    if action == "read":
        return f"{NOTES_PREFIX} ({len(current):,} characters):\n{current}" if current else f"{NOTES_PREFIX}: (empty)\n", False
    text = args.get("text")
    if not isinstance(text, str):
        return "Give the notes as 'text' (a string).", True
    notes = text if action == "write" else (current + ("\n" if current and not current.endswith("\n") else "") + text)
    if len(notes) > NOTES_CHARS:
        return (f"Notes would be {len(notes):,} characters; keep them under {NOTES_CHARS:,}: write a shorter "
                "version (the details can stay in tool results, which can be re-read)."), True
    return f"{NOTES_PREFIX} (saved, {len(notes):,} characters):\n{notes}", False


def _notes_of(result: str | None) -> str:
    if not result or not result.startswith(NOTES_PREFIX):
        return ""
    head, _, body = result.partition("\n")
    return "" if head.endswith(": (empty)") else body


def _read(ctx: RunContext, args: dict[str, Any]) -> tuple[str, bool, str | None]:
    ref = str(args.get("artifact_id") or "").strip()
    try:
        offset = max(0, int(args.get("offset") or 0))
        page = max(PAGE_HEADROOM, ctx.result_chars - PAGE_HEADROOM)
        length = min(page, max(1, int(args.get("length") or page)))
    except (TypeError, ValueError):
        return "offset and length must be integers.", True, None
    if not ref:
        return _listing(ctx, offset), False, None
    artifact = tool_results.find_artifact(ctx.db, ctx.conversation_id, ref)
    if artifact is None:
        return (f"No artifact {ref!r} in this conversation (give its id or its first 12 characters; call "
                f"{READ_TOOL} without artifact_id to list them)."), True, None
    if artifact.mime.startswith("image/"):
        return (f"Artifact {artifact.id[:12]} is an image ({artifact.name}, {artifact.mime}, {artifact.size:,} bytes)."
                , False, artifact.id)
    text = artifact.data.decode("utf-8", "replace")
    if offset >= len(text) and text:
        return f"Artifact {artifact.id[:12]} has {len(text):,} characters; offset {offset:,} is past its end.", True, None
    end = min(len(text), offset + length)
    more = f"; more: offset={end}" if end < len(text) else "; this is the end"
    head = (f"Artifact {artifact.id[:12]} ({artifact.name}, {len(text):,} characters): characters "
            f"{offset:,}–{end:,}{more}")
    return f"{head}\n{text[offset:end]}", False, artifact.id


def _listing(ctx: RunContext, offset: int) -> str:
    entries, total = tool_results.list_artifacts(ctx.db, ctx.conversation_id, offset, LIST_LIMIT)
    if not entries:
        return "No kept results in this conversation." if not offset else f"No more kept results (there are {total})."
    lines = [f"Kept results {offset + 1}–{offset + len(entries)} of {total}, newest first (artifact id, tool, "
             "arguments, size):"]
    for e in entries:
        args = json.dumps(e.args, ensure_ascii=False) if e.args else "{}"
        lines.append(f"- {e.id[:12]} {e.tool} {args[:120]} {e.size:,} bytes")
    if offset + len(entries) < total:
        lines.append(f"More: offset={offset + len(entries)}.")
    return "\n".join(lines)
