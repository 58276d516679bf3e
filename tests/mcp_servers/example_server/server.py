"""Example MCP server: the instance, then one typed, documented, annotated function per tool; the work is in words.py."""

from __future__ import annotations

import sys
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_servers.common import cli
from mcp_servers.common.annotations import READ_ONLY
from tests.mcp_servers.example_server.words import word_counts

server = MCPServer("example", instructions="Counts the words of a text.")


@server.tool(annotations=READ_ONLY)
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
    cli.main(server, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
