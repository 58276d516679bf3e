"""The server.py shape (mcp_servers/common/adapter.py): tools registered in order, state shared by every session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp import Client
from mcp.server.mcpserver import Context, MCPServer

from mcp_servers.common.adapter import ServerState, Tools, workspace
from mcp_servers.common.annotations import APPENDS, READ_ONLY

tools = Tools()


@dataclass
class CountingState(ServerState):
    calls: int = 0


@tools.tool(annotations=APPENDS)
def count(ctx: Context) -> str:
    """Count this call."""
    state = CountingState.of(ctx)
    state.calls += 1
    return str(state.calls)


@tools.tool(annotations=READ_ONLY)
def where(ctx: Context) -> str:
    """The requesting conversation's workspace."""
    return str(workspace(ctx).root)


def build(state: ServerState) -> MCPServer:
    return tools.register(MCPServer("counting", lifespan=state.lifespan()))


async def test_tools_keep_their_order_docstring_and_annotations_and_take_no_ctx_argument(tmp_path: Path) -> None:
    async with Client(build(CountingState(tmp_path))) as client:
        listed = (await client.list_tools()).tools
    assert [t.name for t in listed] == ["count", "where"]
    assert listed[0].description == "Count this call." and listed[0].annotations == APPENDS
    assert listed[0].input_schema.get("properties", {}) == {} and listed[0].output_schema is None


async def test_the_state_outlives_a_session_and_workspaces_follow_the_conversation(tmp_path: Path) -> None:
    server = build(CountingState(tmp_path))
    for expected in ("1", "2"):  # a second connection sees what the first one did: one state per server
        async with Client(server) as client:
            assert (await client.call_tool("count", {})).content[0].text == expected
    async with Client(server) as client:
        reply = await client.call_tool("where", {}, meta={"k2hub/conversation": "c42"})
    assert reply.content[0].text == str(tmp_path / "c42")


async def test_a_tool_asking_for_another_servers_state_is_an_error_not_a_wrong_answer(tmp_path: Path) -> None:
    async with Client(build(ServerState(tmp_path))) as client:
        reply = await client.call_tool("count", {})
    # A programming error: the SDK hides its text from the client (the server's log has it) and keeps serving.
    assert reply.is_error and reply.content[0].text == "Error executing tool count"
    with pytest.raises(TypeError, match="holds ServerState, not CountingState"):
        CountingState.of(_Ctx(ServerState(tmp_path)))  # type: ignore[arg-type]


class _Ctx:
    """Just enough of a Context for ServerState.of: a request context holding a lifespan state."""

    def __init__(self, state: object) -> None:
        self.request_context = type("RequestContext", (), {"lifespan_context": state})()


@pytest.mark.parametrize("structured", [False, True])
def test_structured_output_is_off_unless_asked_for(structured: bool) -> None:
    table = Tools()

    @table.tool(annotations=READ_ONLY, structured_output=structured)
    def echo(text: str) -> str:
        """Echo."""
        return text

    server = table.register(MCPServer("echo"))
    tool = server._tool_manager.get_tool("echo")  # noqa: SLF001 - the registered form, before any client
    assert (tool.output_schema is not None) is structured
