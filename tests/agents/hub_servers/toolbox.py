"""A test server with one tool per behaviour the hub must handle: plain, slow, crashing, hanging, meta-echoing."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from typing import Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

mcp = MCPServer("toolbox")


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@mcp.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@mcp.tool()
def ping() -> str:
    """Answer pong; the cheapest possible tool, used by the benchmark."""
    return "pong"


@mcp.tool()
def blob(chars: int, seed: int = 0) -> str:
    """Return about `chars` characters of deterministic prose-like text (long-run tests and benchmarks)."""
    from tests.fakes.k2_context import filler

    return f"[blob {seed}] " + filler(chars, seed)


@mcp.tool()
def echo_meta(ctx: Context) -> dict[str, Any]:
    """Return the request's _meta so tests can see what the client sent."""
    return dict(ctx.request_context.meta or {})


@mcp.tool()
async def nap(seconds: float) -> str:
    """Sleep without blocking the server, then answer."""
    await anyio.sleep(seconds)
    return f"slept {seconds}"


@mcp.tool()
def crash(code: int = 3) -> str:
    """Write a last word to stderr and kill the process with the given exit code."""
    print(f"toolbox: crashing on purpose with code {code}", file=sys.stderr, flush=True)
    os._exit(code)


@mcp.tool()
async def hang() -> str:
    """Block the server's event loop for an hour: the server stops answering anything, pings included."""
    time.sleep(3600)
    return "unreachable"


@mcp.tool()
def fail(reason: str) -> str:
    """Raise a tool error with the given reason."""
    raise ToolError(reason)


@mcp.tool()
def pid() -> int:
    """Return the server's process id."""
    return os.getpid()


class Booking(BaseModel):
    """What `book` asks the user."""

    name: str = Field(description="Who travels")
    seats: int = Field(default=2, ge=1, le=9, description="How many seats")
    cabin: Literal["economy", "business"] = Field(default="economy", description="Cabin class")
    window: bool = Field(default=True, description="Window seat")


@mcp.tool()
async def book(ctx: Context) -> str:
    """Ask the user for the booking details (form-mode elicitation) and say what was answered."""
    answer = await ctx.elicit("Who is travelling?", Booking)
    if answer.action != "accept":
        return f"not booked: {answer.action}"
    data = answer.data
    return f"booked {data.seats} {data.cabin} seat(s) for {data.name}, window={data.window}"


@mcp.tool()
async def steps(ctx: Context, count: int = 3, pause: float = 0.0) -> str:
    """Work in steps (pause seconds each), reporting progress and a log line for each."""
    for n in range(1, count + 1):
        await anyio.sleep(pause)
        await ctx.report_progress(n, count, f"step {n} of {count}")
        await ctx.info(f"finished step {n}")
    return f"{count} steps done"


@mcp.tool()
def client(ctx: Context) -> str:
    """How the client introduced itself: name/version."""
    params = ctx.session.client_params
    return f"{params.client_info.name}/{params.client_info.version}" if params else "unknown"


@mcp.tool()
async def roots(ctx: Context) -> list[str]:
    """The roots the client offers."""
    listed = await ctx.session.list_roots()
    return [str(r.uri) for r in listed.roots]


if __name__ == "__main__":
    print("toolbox: starting", file=sys.stderr, flush=True)
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        mcp.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        mcp.run()
