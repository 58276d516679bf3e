"""What a tool call may hear from its server while it runs: progress, log messages, questions for the user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import mcp_types as types

from agents.hub.elicitation import Answer, Question

CLIENT_NAME = "k2hub"


@cache
def client_info() -> types.Implementation:
    """How the hub introduces itself in `initialize`: name k2hub and the app's version."""
    try:
        version = metadata.version("k2-agent-hub")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        version = "0.0.0+source"
    return types.Implementation(name=CLIENT_NAME, title="K2 Agent Hub", version=version)


@dataclass
class CallHooks:
    """Callbacks for one tool call; any may be None. The planner turns them into events for the UI and CLI."""

    on_progress: Callable[[float, float | None, str | None], None] | None = None
    on_log: Callable[[str, str | None, Any], None] | None = None
    # Ask the user (form-mode elicitation); None: the call cannot ask, the hub declines for it.
    on_elicit: Callable[[Question], Awaitable[Answer]] | None = None
    conversation: str | None = None  # its workspace is offered to the server as a root


def workspace_roots(root: Path | None, conversations: list[str]) -> list[types.Root]:
    """The workspaces of these conversations as MCP roots (file:// URIs), newest first, no duplicates."""
    if root is None:
        return []
    seen: list[str] = []
    for conversation in conversations:
        if conversation and conversation not in seen:
            seen.append(conversation)
    return [
        types.Root(uri=(root / c).resolve().as_uri(), name=f"workspace of conversation {c}")  # type: ignore[arg-type]
        for c in seen
    ]
