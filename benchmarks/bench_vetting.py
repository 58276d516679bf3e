"""Cost of vetting an external server: the quarantined first start (bubblewrap, initialize, tools/list, the strict
checks and poisoning heuristics) against the plain start + initialize + tools/list of the same server.

Run: python benchmarks/bench_vetting.py   (prints `name: value` lines; target: vetting_vs_plain_ratio <= 1.5)

The npm server is @modelcontextprotocol/server-everything (pinned), started the way mcp.json says: `npx -y PKG`.
Both sides find it in npx's cache (.ci/run puts it there); rounds alternate so machine noise hits both alike.
Vetting skips npx's own registry lookup (the hub resolves the package in npx's cache itself, see agents/hub/npx.py),
which is why the npm case comes out below 1; the node case runs that resolved command both ways, so its ratio is the
quarantine's own cost (bubblewrap, the checks, the report).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.hub.config import ServerConfig  # noqa: E402
from agents.hub.connection import ServerConnection, Services  # noqa: E402
from agents.hub.vetting import vet  # noqa: E402

PACKAGE = "@modelcontextprotocol/server-everything@2026.8.31"
ROUNDS = 7


async def plain_start(config: ServerConfig) -> float:
    """Seconds from spawning the server to its tool list, as the hub starts an enabled server."""
    started = time.perf_counter()
    conn = ServerConnection(config, startup_timeout_s=120, ping_timeout_s=3, services=Services())
    try:
        await conn.start()
        assert conn.state == "ready", conn.error
        return time.perf_counter() - started
    finally:
        await conn.aclose(5)


async def vetting(config: ServerConfig, home: Path) -> float:
    started = time.perf_counter()
    report = await vet(config, home)
    assert report.ok, (report.error, report.stderr_tail)
    return time.perf_counter() - started


async def measure(config: ServerConfig, rounds: int = ROUNDS) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        await vetting(config, home)  # warm both paths once (npm resolution, page cache)
        await plain_start(config)
        plain: list[float] = []
        vetted: list[float] = []
        for n in range(rounds):  # alternate which goes first: a loaded machine drifts within a round
            if n % 2:
                vetted.append(await vetting(config, home))
                plain.append(await plain_start(config))
            else:
                plain.append(await plain_start(config))
                vetted.append(await vetting(config, home))
    return {"plain_p50_s": statistics.median(plain), "vet_p50_s": statistics.median(vetted),
            "vetting_vs_plain_ratio": statistics.median(vetted) / statistics.median(plain)}


def main() -> None:
    started = time.perf_counter()
    from agents.hub.npx import resolve

    with tempfile.TemporaryDirectory() as tmp:
        direct = resolve(["-y", PACKAGE], Path(tmp)).argv  # the same package as `node <its bin>`, no npx
    cases = {
        "npm": ServerConfig(name="everything", command="npx", args=["-y", PACKAGE]),
        # The quarantine's own cost: the very command vetting runs, started plainly vs vetted.
        "node": ServerConfig(name="everything", command=direct[0], args=direct[1:]),
        "python": ServerConfig(name="toolbox", command=sys.executable,
                               args=[str(ROOT / "tests" / "agents" / "hub_servers" / "toolbox.py")]),
    }
    for label, config in cases.items():
        for name, value in asyncio.run(measure(config)).items():
            print(f"{label}_{name}: {value:.3f}")
    print(f"wall_s: {time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
