"""Browser server: cold start to first snapshot, and open+snapshot per navigation vs raw Playwright doing the same.

Prints `name: value` lines. Pages come from the test site (tests/mcp_servers/browser_support.py) on 127.0.0.1.
The raw baseline is Playwright alone in the same process: goto + aria_snapshot(mode="ai") on a plain context (no
guard proxy, no fencing, no MCP). The server's number is a full MCP `open` call (in memory), whose result already
holds the snapshot. Target: ratio <= 1.3.

    .venv/bin/python benchmarks/bench_browser.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcp import Client, ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from playwright.async_api import async_playwright

from mcp_servers.browser.guard import Guard, parse_rules
from mcp_servers.browser.session import CHROMIUM_ARGS, BrowserPool, executable
from mcp_servers.browser.server import create_server
from tests.mcp_servers.browser_support import serve_site

PAGES = ("/", "/js", "/form")


async def cold_server(base: str, port: int, home: str) -> float:
    """Seconds from spawning `python -m mcp_servers.browser` (stdio) to the first snapshot in hand."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": home,
        "K2HUB_HOME": home,
        "PYTHONPATH": str(ROOT),
        "K2HUB_BROWSER_ALLOW_HOSTS": f"127.0.0.1:{port}",
    }
    start = time.perf_counter()
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_servers.browser"], cwd=str(ROOT), env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("open", {"url": f"{base}/"})
        assert not result.is_error and "Welcome" in result.content[0].text  # type: ignore[union-attr]
        return time.perf_counter() - start


async def cold_raw(base: str) -> float:
    """Seconds for Playwright alone: start, launch, new page, goto, aria snapshot."""
    start = time.perf_counter()
    async with async_playwright() as pw:
        args = [*CHROMIUM_ARGS, *(["--no-sandbox"] if os.geteuid() == 0 else [])]
        browser = await pw.chromium.launch(executable_path=executable({}), args=args)
        page = await (await browser.new_context()).new_page()
        await page.goto(f"{base}/")
        assert "Welcome" in await page.aria_snapshot(mode="ai")
        elapsed = time.perf_counter() - start
        await browser.close()
    return elapsed


async def per_navigation(base: str, port: int, rounds: int, home: str) -> tuple[list[float], list[float]]:
    """Interleaved timings of one navigation + snapshot: through the server, and raw."""
    pool = BrowserPool(Guard(parse_rules(f"127.0.0.1:{port}")), env={})
    server_times: list[float] = []
    raw_times: list[float] = []
    async with async_playwright() as pw:
        args = [*CHROMIUM_ARGS, *(["--no-sandbox"] if os.geteuid() == 0 else [])]
        browser = await pw.chromium.launch(executable_path=executable({}), args=args)
        page = await (await browser.new_context()).new_page()
        async with Client(create_server(Path(home) / "ws", env={}, pool=pool)) as client:
            for i in range(rounds + 3):  # the first rounds warm both up
                url = f"{base}{PAGES[i % len(PAGES)]}"
                t0 = time.perf_counter()
                result = await client.call_tool("open", {"url": url})
                t1 = time.perf_counter()
                await page.goto(url)
                snapshot = await page.aria_snapshot(mode="ai")
                t2 = time.perf_counter()
                assert not result.is_error and snapshot
                if i >= 3:
                    server_times.append(t1 - t0)
                    raw_times.append(t2 - t1)
        await browser.close()
    await pool.close()
    return server_times, raw_times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    if executable({}) is None:
        sys.exit("needs Chromium: apt-get install chromium, or set K2HUB_BROWSER_PATH")
    home = os.environ.get("K2HUB_HOME") or str(Path("/tmp") / f"k2hub-bench-browser-{os.getpid()}")
    with serve_site() as site:
        raw_cold = await cold_raw(site.base)
        server_cold = await cold_server(site.base, site.port, home)
        server, raw = await per_navigation(site.base, site.port, args.rounds, home)
    print(f"cold_start_server_to_first_snapshot_s: {server_cold:.2f}")
    print(f"cold_start_raw_playwright_s: {raw_cold:.2f}")
    print(f"cold_start_ratio: {server_cold / raw_cold:.2f}")
    print(f"open_snapshot_server_median_ms: {statistics.median(server) * 1000:.1f}")
    print(f"open_snapshot_raw_playwright_median_ms: {statistics.median(raw) * 1000:.1f}")
    print(f"open_snapshot_ratio: {statistics.median(server) / statistics.median(raw):.2f}  (target <= 1.3)")


if __name__ == "__main__":
    asyncio.run(main())
