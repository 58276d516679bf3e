"""Shared pieces of the browser tests: the real app in a subprocess on the fake K2 server, and a headless Chromium page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.helpers import chromium, free_port, requires_chromium, stop

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

__all__ = ["app_process", "chromium_page", "requires_chromium", "running_app"]


@contextmanager
def running_app(base_url: str, home: Path, **env: str) -> Iterator[str]:
    """`python -m app.server` on a free port, talking to the model at base_url; yields its URL and stops it on exit.

    The child gets this environment without K2HUB_* settings, API keys and DATABASE_URL, plus `env`.
    """
    with app_process(base_url, home, **env) as (_, url):
        yield url


@contextmanager
def app_process(base_url: str, home: Path, **env: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """running_app's process and URL (a test may stop it itself; on exit it is stopped if still running)."""
    child = {k: v for k, v in os.environ.items()
             if not k.startswith("K2HUB_") and k not in ("GROQ_API_KEY", "MOONSHOT_API_KEY", "DATABASE_URL")}  # fmt: skip
    child.update(
        {"K2HUB_HOME": str(home), "K2HUB_PROVIDER": "openai-compatible", "K2HUB_BASE_URL": base_url,
         "K2HUB_MODEL": "kimi-k2-thinking", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1",
         # The model worker (~3 s of CPU, ~220 MB per app) serves only swarms; the swarm and stop tests turn it on.
         "K2HUB_MODEL_WORKER": "false",
         **env}  # env may choose another model (K2HUB_MODEL=kimi-k2.5 for vision)
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.server", "--port", str(free_port()), "--no-browser"],
        cwd=ROOT, env=child, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        deadline, url = time.monotonic() + 90, None
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            if m := re.search(r"running at (http://\S+)", line):
                url = m.group(1)
        assert url, "the app did not start:\n" + "".join(lines)
        yield proc, url
    finally:
        stop(proc, timeout=30)  # SIGTERM takes the Ctrl+C path: the agent and its MCP servers are closed
        proc.stdout.close()  # type: ignore[union-attr]


@contextmanager
def chromium_page(url: str, height: int = 860, **options: Any) -> Iterator[Page]:
    """A 1280-wide page of headless Chromium opened at url (options go to new_page); the browser closes on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": height}, **options)
            page.goto(url)
            yield page
        finally:
            browser.close()
