"""A server whose tools/list answer is about 10 MB (one tool with an enormous description)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("huge")


def ping() -> str:
    return "pong"


if __name__ == "__main__":
    mcp.add_tool(ping, name="ping", description="x" * 10_000_000)
    mcp.run()
