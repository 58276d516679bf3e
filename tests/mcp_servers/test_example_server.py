"""The README's recipe for a new built-in server, done once: the example server is started and called by the hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.hub import config
from agents.hub.hub import Hub


async def test_a_server_made_from_the_recipe_runs_as_a_builtin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    # Step "register it": one line in agents/hub/config.py's BUILTIN_SERVERS (here patched in).
    monkeypatch.setattr(config, "BUILTIN_SERVERS", [*config.BUILTIN_SERVERS, ("example", "tests.mcp_servers.example_server")])
    monkeypatch.chdir(tmp_path)
    servers = config.builtin_servers(only=["example"])
    assert servers[0].args == ["-m", "tests.mcp_servers.example_server"] and servers[0].builtin
    async with Hub(servers, default_timeout_s=30) as hub:
        status = hub.status()[0]
        assert status.state == "ready", (status.error, status.stderr_tail)
        spec = next(t for t in hub.tools() if t["function"]["name"] == "example__count_words")
        assert spec["function"]["description"] == "List the most frequent words of a text with their counts."
        assert spec["function"]["parameters"]["properties"]["top"]["description"].startswith("How many")
        info = hub.tool_info("example__count_words")
        assert info is not None and info[1] is not None and info[1].annotations.read_only_hint is True
        ok = await hub.call("example__count_words", {"text": "the cat and the hat", "top": 2})
        assert not ok.is_error and ok.text == "the: 2\nand: 1"
        refused = await hub.call("example__count_words", {"text": "1 2 3"})
        assert refused.is_error and "the text has no words" in refused.text
