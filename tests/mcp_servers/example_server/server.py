"""Example MCP server: one typed, documented, annotated module-level function per tool; the work is in words.py."""

from __future__ import annotations

import os
import sys
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_servers.common import cli
from mcp_servers.common.adapter import ServerState, Tools
from mcp_servers.common.annotations import READ_ONLY
from mcp_servers.common.paths import workspace_root
from tests.mcp_servers.example_server.words import word_counts

tools = Tools()


def create_server(root: str | os.PathLike[str] | None = None) -> MCPServer:
    """Build the example server; root holds the per-conversation workspaces (this server reads none)."""
    state = ServerState(workspace_root(root))
    server = MCPServer("example", instructions="Counts the words of a text.", lifespan=state.lifespan())
    return tools.register(server)


@tools.tool(annotations=READ_ONLY)
def count_words(
    text: Annotated[str, Field(description="The text to count the words of")],
    top: Annotated[int, Field(ge=1, le=100, description="How many of the most frequent words to list")] = 5,
) -> str:
    """List the most frequent words of a text with their counts."""
    counts = word_counts(text, top)
    if not counts:
        raise ToolError("the text has no words: pass some text")
    return "\n".join(f"{word}: {n}" for word, n in counts)


def main(argv: list[str] | None = None) -> None:
    """Run the example server on stdio, or on streamable HTTP with --http PORT."""
    cli.workspace_main("K2 Agent Hub example MCP server", create_server, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
