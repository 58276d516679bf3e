"""Protocol details the MCP SDK leaves to each server, settled once for every built-in server.

- `prompts/get` of an unknown name: MCPServer turns its own ValueError into JSON-RPC error code 0; the spec says
  -32602 (invalid params). We raise the MCPError ourselves, which the SDK passes through unchanged.
- `logging/setLevel`: MCPServer registers no handler, so the method is "not found" and the logging capability is not
  advertised. Built-in servers send no log notifications at all (progress only), so accepting any level is exact.
  mcp 2.3 documents lowlevel `Server.add_request_handler` as the way to serve it; MCPServer keeps its lowlevel
  server private, hence the one private access below (tests/mcp_servers/test_protocol.py tells when it moves).
- A JSON-RPC batch (a JSON array) gets -32602 from the SDK's streamable HTTP transport instead of -32600 (invalid
  request): the check sits inside the transport with no hook, so it stays as the SDK answers (a test records it).
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError


def conform(server: MCPServer) -> MCPServer:
    """Apply the fixes above to a built-in server (idempotent) and return it."""
    if getattr(server, "_k2hub_conformed", False):
        return server
    original = server.get_prompt

    async def get_prompt(name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
        if name not in {p.name for p in await server.list_prompts()}:
            raise MCPError(types.INVALID_PARAMS, f"Unknown prompt: {name}")
        return await original(name, arguments, context)

    server.get_prompt = get_prompt  # type: ignore[method-assign]  # MCPServer's handler calls self.get_prompt

    async def set_level(_ctx: Any, _params: types.SetLevelRequestParams) -> types.EmptyResult:
        return types.EmptyResult()

    lowlevel = server._lowlevel_server  # noqa: SLF001 - see the module docstring
    if lowlevel.get_request_handler("logging/setLevel") is None:
        lowlevel.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_level)
    server._k2hub_conformed = True  # type: ignore[attr-defined]
    return server
