"""What a client sees of every built-in server: its name, instructions and tools (name, description, input schema,
annotations, _meta), as JSON. `python -m tests.mcp_servers.tool_listing > listing.json` writes it, so a refactor can
prove that nothing changed for clients by comparing two dumps (tests/mcp_servers/test_tool_listing.py does)."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp import Client

from agents.hub.config import BUILTIN_SERVERS


async def listing(root: Path) -> dict[str, Any]:
    """Every built-in server as a client lists it, built with workspaces under root and an empty environment."""
    servers: dict[str, Any] = {}
    for name, module in BUILTIN_SERVERS:
        create = importlib.import_module(f"{module}.server").create_server
        # An empty environment: the sandbox's limits and the browser's guard are part of the instructions.
        options = {"env": {}} if "env" in inspect.signature(create).parameters else {}
        async with Client(create(root=root, **options)) as client:
            tools = (await client.list_tools()).tools
            servers[name] = {
                "instructions": (client.instructions or "").replace(str(root), "<root>"),
                "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools],
            }
    return servers


def main() -> None:
    """Print the listing as indented JSON (K2HUB_HOME points at a temporary directory while it is built)."""
    with tempfile.TemporaryDirectory(prefix="k2hub-listing-") as home:
        os.environ["K2HUB_HOME"] = home
        found = asyncio.run(listing(Path(home) / "workspaces"))
    json.dump(found, sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
