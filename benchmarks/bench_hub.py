"""Overhead of the MCP hub: sequential calls through Hub.call vs a raw ClientSession, same kind of server; and
what the OAuth layer adds to an authorised call over streamable HTTP once its token is cached.

Run: python benchmarks/bench_hub.py   (prints `name: value` lines; targets: ratio <= 1.2, hub p50 <= 2 ms,
oauth_overhead_p50_ms <= 1)

The OAuth case logs in once to the test authorization server (tests/agents/hub_servers/oauth_server.py, on
127.0.0.1), then times the same call through the hub with the SDK's OAuth provider holding the token, and with the
same token sent as a fixed Authorization header (no OAuth layer). Blocks alternate.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

from agents.hub.hub import Hub  # noqa: E402
from agents.hub.config import ServerConfig  # noqa: E402
from agents.hub.connection import Services  # noqa: E402

OAUTH_CALLS = 1000

SERVER_ARGS = ["-m", "tests.agents.hub_servers.toolbox"]
CALLS = 1000
BLOCK = 100  # alternate hub and raw blocks so machine noise hits both alike


async def measure(calls: int = CALLS, block: int = BLOCK) -> dict[str, float]:
    """Time `calls` sequential trivial tool calls each way; return p50s (ms), means and the p50 ratio."""
    config = ServerConfig(name="bench", command=sys.executable, args=SERVER_ARGS, cwd=str(ROOT))
    params = StdioServerParameters(command=sys.executable, args=SERVER_ARGS, cwd=str(ROOT))
    hub_times: list[float] = []
    raw_times: list[float] = []
    with open(os.devnull, "w") as devnull:  # the raw side's server stderr, silenced like the hub's
        async with Hub([config], default_timeout_s=60) as hub, stdio_client(params, errlog=devnull) as (r, w), ClientSession(r, w) as session:
            await session.initialize()
            await session.list_tools()  # the raw side gets the same one-time tool listing the hub does
            for _ in range(20):  # warm both paths (validator compile, first-call caches)
                await hub.call("bench__ping", {})
                await session.call_tool("ping", {})
            perf = time.perf_counter
            for _ in range(calls // block):
                for _ in range(block):
                    t = perf()
                    result = await hub.call("bench__ping", {})
                    hub_times.append(perf() - t)
                    assert not result.is_error, result.text
                for _ in range(block):
                    t = perf()
                    await session.call_tool("ping", {})
                    raw_times.append(perf() - t)
    hub_p50 = statistics.median(hub_times) * 1000
    raw_p50 = statistics.median(raw_times) * 1000
    return {
        "hub_vs_raw_ratio": hub_p50 / raw_p50,
        "hub_p50_ms": hub_p50,
        "raw_p50_ms": raw_p50,
        "hub_mean_ms": statistics.fmean(hub_times) * 1000,
        "raw_mean_ms": statistics.fmean(raw_times) * 1000,
        "calls_each": float(len(hub_times)),
    }


async def measure_oauth(calls: int = OAUTH_CALLS, block: int = 50) -> dict[str, float]:
    """p50 of an authorised call with the OAuth provider (token cached) vs the same token as a fixed header."""
    import json
    import tempfile

    from agents.hub import admin, oauth
    from tests.agents.oauth_support import click_allow, oauth_server

    with oauth_server() as server, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        config = ServerConfig(name="guarded", url=server.url)
        await admin.login(config, home, click_allow)
        token = json.loads(oauth.token_path(home, "guarded").read_text())["tokens"]["access_token"]
        fixed = ServerConfig(name="fixed", url=server.url, headers={"Authorization": f"Bearer {token}"})
        with_oauth: list[float] = []
        with_header: list[float] = []
        async with Hub([config], default_timeout_s=30, services=Services(home=home)) as a, \
                Hub([fixed], default_timeout_s=30) as b:
            for _ in range(20):
                assert not (await a.call("guarded__whoami", {})).is_error
                assert not (await b.call("fixed__whoami", {})).is_error
            perf = time.perf_counter
            for _ in range(calls // block):
                for hub, name, out in ((a, "guarded__whoami", with_oauth), (b, "fixed__whoami", with_header)):
                    for _ in range(block):
                        t = perf()
                        await hub.call(name, {})
                        out.append(perf() - t)
    oauth_p50 = statistics.median(with_oauth) * 1000
    header_p50 = statistics.median(with_header) * 1000
    return {"http_oauth_p50_ms": oauth_p50, "http_fixed_header_p50_ms": header_p50,
            "oauth_overhead_p50_ms": oauth_p50 - header_p50}


def main() -> None:
    started = time.perf_counter()
    results = asyncio.run(measure())
    results |= asyncio.run(measure_oauth())
    for name, value in results.items():
        print(f"{name}: {value:.0f}" if name == "calls_each" else f"{name}: {value:.3f}")
    print(f"wall_s: {time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
