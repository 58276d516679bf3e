"""The shape of every built-in server.py: module-level tool functions, registered by create_server, state via lifespan.

A server.py declares its tools as the MCP SDK's examples do, one typed function per tool at module level with its
docstring as the description and `Annotated[..., Field(description=...)]` parameters, marked with `@tools.tool(...)`
of a `Tools` table instead of `@server.tool(...)`: the server itself is built later by `create_server(root, ...)`,
because tests and the hub build servers with their own roots and environments. `create_server` builds the server's
state (a `ServerState`), hands it to every request through the SDK's lifespan, and registers the table's tools on
the new server; a tool reaches the state with `MyState.of(ctx)` and its conversation's files with `workspace(ctx)`.

The SDK takes a docstring verbatim as the tool's description, indentation of continuation lines included: the
multi-line docstrings of the built-in tools keep the 8-space indentation they had when the tools were nested in
create_server, so clients see exactly the descriptions they saw before (tests/mcp_servers/tool_listing.json).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

from mcp_servers.common.paths import Workspace, conversation_id

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class _Entry:
    fn: Callable[..., Any]
    annotations: ToolAnnotations
    meta: dict[str, Any] | None
    structured_output: bool


class Tools:
    """A server's tools in the order clients list them; `register` adds them to a server built by create_server."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def tool(
        self, annotations: ToolAnnotations, meta: dict[str, Any] | None = None, structured_output: bool = False
    ) -> Callable[[F], F]:
        """Mark a module-level function as a tool, named after the function (clients call it by that name).

        Built-in tools answer in text (or content blocks) for a model to read, so structured output is off unless
        asked for: the SDK would otherwise wrap every string result in a second, structured copy.
        """

        def mark(fn: F) -> F:
            self._entries.append(_Entry(fn, annotations, meta, structured_output))
            return fn

        return mark

    def register(self, server: MCPServer) -> MCPServer:
        """Add every tool to server (name, description and input schema come from the function) and return it."""
        for entry in self._entries:
            server.add_tool(entry.fn, annotations=entry.annotations, meta=entry.meta,
                            structured_output=entry.structured_output)
        return server


@dataclass
class ServerState:
    """What create_server configured, shared by every request and session of one server (subclass to add more).

    root holds one workspace directory per conversation.
    """

    root: Path

    @classmethod
    def of(cls, ctx: Context) -> Self:
        """The state of the server handling this request."""
        state = ctx.request_context.lifespan_context
        if not isinstance(state, cls):
            raise TypeError(f"this server holds {type(state).__name__}, not {cls.__name__}: build it with create_server")
        return state

    def lifespan(self) -> Callable[[MCPServer], AbstractAsyncContextManager[Self]]:
        """An MCPServer lifespan that hands this state to every request (`ctx.request_context.lifespan_context`)."""

        @asynccontextmanager
        async def hold(_server: MCPServer) -> AsyncIterator[Self]:
            # Built once by create_server, not per session: what one connection opened (a database, a browser, the
            # chosen sandbox) serves every other connection of the process too.
            yield self

        return hold


def conversation(ctx: Context) -> str:
    """The id of the conversation the request is for (the client's `k2hub/conversation` _meta; see paths)."""
    return conversation_id(ctx.request_context.meta)


def workspace(ctx: Context) -> Workspace:
    """The requesting conversation's workspace, under the root of the server's state."""
    return Workspace(ServerState.of(ctx).root / conversation(ctx))
