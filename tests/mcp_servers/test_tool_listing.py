"""What clients see of the built-in servers changes only on purpose: the listing of every server (instructions and
each tool's name, description, input schema, annotations, _meta) must equal the recorded tool_listing.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.mcp_servers.tool_listing import listing

RECORDED = Path(__file__).with_name("tool_listing.json")


async def test_builtin_servers_list_exactly_the_recorded_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K2HUB_HOME", str(tmp_path))
    found = json.loads(json.dumps(await listing(tmp_path / "workspaces")))  # JSON round trip, as recorded
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    for name in sorted(set(found) | set(recorded)):
        assert found.get(name) == recorded.get(name), (
            f"the {name} server lists different tools than tests/mcp_servers/tool_listing.json records; if the change "
            "is intended, record it: python -m tests.mcp_servers.tool_listing > tests/mcp_servers/tool_listing.json"
        )
