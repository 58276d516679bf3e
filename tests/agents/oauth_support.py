"""The OAuth test server as a subprocess, and a stand-in for the user's browser that clicks Allow."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.helpers import free_port, stop, wait_until_listening

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class OAuthServer:
    base: str

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    def stats(self) -> dict[str, int]:
        return httpx.get(f"{self.base}/stats", timeout=5).json()


@contextmanager
def oauth_server(*args: str) -> Iterator[OAuthServer]:
    """tests/agents/hub_servers/oauth_server.py on a free port of 127.0.0.1 (args: --ttl, --bad ...)."""
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "tests.agents.hub_servers.oauth_server", str(port), *args],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    try:
        if not wait_until_listening(proc, port, timeout=30):
            log.seek(0)
            raise RuntimeError(f"the OAuth test server did not start: {log.read().decode(errors='replace')[-2000:]}")
        yield OAuthServer(f"http://127.0.0.1:{port}")
    finally:
        stop(proc)
        log.close()


async def click_allow(url: str) -> None:
    """What the user does in the browser: open the authorization URL, press Allow, land on the hub's loopback."""
    async with httpx.AsyncClient(timeout=20) as client:
        page = await client.get(url, follow_redirects=True)
        allow = re.search(r"href='([^']+)'", page.text)
        assert allow, page.text[:300]
        done = await client.get(allow.group(1), follow_redirects=True)
        assert done.status_code == 200 and "Logged in" in done.text, done.text[:300]
