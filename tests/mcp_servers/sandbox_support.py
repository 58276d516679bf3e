"""Shared pieces of the sandbox tests: skip reasons, an in-memory sandbox client, and process inspection."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers.sandbox import golang
from mcp_servers.common import limits
from mcp_servers.sandbox.bwrap import Isolation, choose
from mcp_servers.sandbox.server import create_server
from tests.mcp_servers.conftest import ToolCaller, connect
from tests.helpers import requires

# A Go build cache that outlives test sessions: warming it compiles part of the standard library (~40 s), once.
GO_CACHE = Path(os.environ.get("K2HUB_TEST_GO_CACHE") or Path(tempfile.gettempdir()) / "k2hub-test-go-cache")


@functools.cache
def isolation() -> tuple[Isolation | None, str]:
    """The isolation this host offers (probed once), or why there is none."""
    return choose("bwrap", limits.Limits())


def _skip_reason() -> str:
    iso, why = isolation()
    return f"no code sandbox on this host: {why}" if iso is None else ""


requires_sandbox = requires(not _skip_reason(), _skip_reason() or "sandbox available")


def _go_missing() -> str:
    try:
        golang.goroot()
    except ToolError as exc:  # the message says what to install
        return str(exc)
    return ""


requires_go = requires(not _go_missing(), _go_missing() or "go available")
requires_cobc = requires(shutil.which("cobc") is not None, "GnuCOBOL (cobc) is not installed")


def sandbox_env(**extra: str) -> dict[str, str]:
    """The environment the hub would pass the server, with the shared test Go cache."""
    return {**os.environ, "K2HUB_GO_CACHE": str(GO_CACHE), **extra}


def sandbox_client(root: Path, **env: str) -> AbstractAsyncContextManager[ToolCaller]:
    """An in-memory client of a sandbox server whose workspaces live under root."""
    return connect(create_server(root, env=sandbox_env(**env)))


def uid_of(conversation: str) -> int:
    """The uid sandboxed code of a conversation runs as."""
    iso, _ = isolation()
    assert iso is not None
    uid = iso.uid_for(conversation)
    return os.getuid() if uid is None else uid


def processes_of(uid: int) -> list[int]:
    """Pids whose real uid is uid (sandboxed code left running would show up here)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry))
                        break
        except OSError:
            continue
    return pids
