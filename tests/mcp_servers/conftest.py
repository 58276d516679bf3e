"""Fixtures for the built-in MCP servers: in-memory clients and helpers to start servers as subprocesses."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult

from tests.helpers import free_port, stop, wait_until_listening

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Reply:
    """A tool result reduced to what tests assert on."""

    text: str
    is_error: bool


class ToolCaller:
    """Calls tools on a connected client, optionally as a given conversation."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def __call__(self, tool: str, conversation: str | None = None, **arguments: Any) -> Reply:
        meta = {"k2hub/conversation": conversation} if conversation is not None else None
        result: CallToolResult = await self.client.call_tool(tool, arguments, meta=meta)
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        return Reply(text=text, is_error=bool(result.is_error))

    async def ok(self, tool: str, conversation: str | None = None, **arguments: Any) -> str:
        """Call a tool that must succeed and return its text."""
        reply = await self(tool, conversation, **arguments)
        assert not reply.is_error, reply.text
        return reply.text

    async def error(self, tool: str, conversation: str | None = None, **arguments: Any) -> str:
        """Call a tool that must fail and return its error text."""
        reply = await self(tool, conversation, **arguments)
        assert reply.is_error, f"expected an error, got: {reply.text}"
        return reply.text


@asynccontextmanager
async def connect(server: MCPServer) -> AsyncIterator[ToolCaller]:
    """Yield a ToolCaller connected in memory to server, usable from an async yield-fixture."""
    # pytest-asyncio runs a fixture's setup and teardown in different tasks, while the client's task group
    # must be entered and exited in one task: a dedicated task holds the connection open.
    ready: asyncio.Future[ToolCaller] = asyncio.get_running_loop().create_future()
    done = asyncio.Event()

    async def hold() -> None:
        try:
            async with Client(server) as client:
                ready.set_result(ToolCaller(client))
                await done.wait()
        except BaseException as err:
            if not ready.done():
                ready.set_exception(err)
            raise

    task = asyncio.create_task(hold())
    try:
        yield await ready
    finally:
        done.set()
        await task


@pytest.fixture
def http_server() -> Iterator[Any]:
    """Start `python -m <module> --http PORT <args>` and yield its /mcp URL once it accepts connections."""
    procs: list[tuple[subprocess.Popen[bytes], Any]] = []

    def start(module: str, *args: str, env: dict[str, str] | None = None) -> str:
        port = free_port()
        # A file, not a pipe: nobody drains a pipe while the server runs, and a full one would block it.
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--http", str(port), *args],
            cwd=REPO,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        procs.append((proc, log))
        if wait_until_listening(proc, port, timeout=20):
            return f"http://127.0.0.1:{port}/mcp"
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{module} exited early: {log.read().decode(errors='replace')}")
        raise RuntimeError(f"{module} did not listen on port {port} within 20 s")

    yield start
    for proc, log in procs:
        stop(proc, timeout=5)
        log.close()
