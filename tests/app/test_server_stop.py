"""Stopping the app (SIGTERM, as a service manager or Ctrl+C does): the agent's MCP servers close with it, the exit code
is 0, and nothing it started is left running."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from tests.agents.conftest import LEAN_SERVERS
from tests.app.ui_support import app_process, chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server

pytestmark = [pytest.mark.slow, requires_chromium]


def _servers(pid: int, marker: str = "mcp_servers") -> list[psutil.Process]:
    """The processes below the app whose command line names `marker` (`python -m mcp_servers.<name>`)."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if any(marker in part for part in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def test_sigterm_closes_the_mcp_servers_and_exits_cleanly(fake_k2: FakeK2Server, tmp_path: Path) -> None:
    """The MCP servers and the model worker (started when the agent opens) are closed with the app."""
    from playwright.sync_api import expect

    with app_process(fake_k2.url, tmp_path / "home", K2HUB_BUILTIN_SERVERS=",".join(LEAN_SERVERS),
                     K2HUB_MODEL_WORKER="true") as (proc, url):
        with chromium_page(url) as page:  # the page's load opens the agent, which starts its MCP servers
            expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
            deadline = time.monotonic() + 60
            while ((len(servers := _servers(proc.pid)) < len(LEAN_SERVERS) or not _servers(proc.pid, "call_worker"))
                   and time.monotonic() < deadline):
                time.sleep(0.2)
        assert len(servers) >= len(LEAN_SERVERS), [s.cmdline() for s in servers]
        assert _servers(proc.pid, "call_worker"), "the model worker did not start when the agent opened"
        everything = psutil.Process(proc.pid).children(recursive=True)
        proc.terminate()
        assert proc.wait(30) == 0
        out = proc.stdout.read()  # type: ignore[union-attr]
        assert "Stopping…" in out
        # Nothing it started outlives it (the exit skips the interpreter's teardown, not the closing).
        _, alive = psutil.wait_procs(everything, timeout=5)
        assert not alive, [p.cmdline() for p in alive]
