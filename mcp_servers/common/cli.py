"""Command line shared by the built-in MCP servers: stdio by default, streamable HTTP with --http PORT."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from mcp.server.mcpserver import MCPServer

from mcp_servers.common.event_store import MemoryEventStore
from mcp_servers.common.protocol import conform


def parser(description: str) -> argparse.ArgumentParser:
    """Return an argument parser with the transport options every built-in server accepts."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--http",
        metavar="PORT",
        type=int,
        help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface for --http (default: 127.0.0.1)")
    return p


def serve(server: MCPServer, args: argparse.Namespace) -> None:
    """Run the server on the transport the parsed arguments chose."""
    conform(server)
    if args.http is None:
        # mcp's stdio transport diverts fd 1 to stderr while it owns the wire, so stray prints are harmless.
        server.run()
    else:
        # The event store lets a client resume a dropped SSE stream (GET with Last-Event-ID) instead of a 500.
        server.run(transport="streamable-http", host=args.host, port=args.http, event_store=MemoryEventStore())


def main(server: MCPServer, argv: Sequence[str] | None = None) -> None:
    """Parse the shared options and run the server (for servers without options of their own)."""
    serve(server, parser(server.name).parse_args(argv))


def workspace_main(description: str, create: Callable[[Path | None], MCPServer], argv: Sequence[str] | None) -> None:
    """Run a server that serves per-conversation workspaces under --root (workspace, sandbox)."""
    p = parser(description)
    p.add_argument("--root", type=Path, help="directory holding one workspace per conversation")
    args = p.parse_args(argv)
    serve(create(args.root), args)


def human_size(n: int) -> str:
    """Byte count for people: 512 B, 3.4 KB, 1.2 MB."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"
