"""The web UI perimeter's cost per request: Host/Origin checks and the token cookie (target ≤ 1 ms added at p50).

Run: python benchmarks/bench_ui_perimeter.py [--requests N]
The same minimal ASGI app is called directly, then behind app.perimeter.Perimeter (token mode, so the cookie check
runs too), with the headers a browser sends to the UI (Host, Origin, Cookie, Sec-Fetch-Site); calls alternate so a
busy machine slows both alike. Prints `name: value` lines: the p50 and p99 added in ms, and the ratio of the p50
added to the 1 ms target (≤ 1 meets it).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.perimeter import Auth, Perimeter, allowed_hosts

TARGET_MS = 1.0
PORT = 7860


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def request(token: str) -> dict[str, Any]:
    headers = {"host": f"127.0.0.1:{PORT}", "origin": f"http://127.0.0.1:{PORT}", "sec-fetch-site": "same-origin",
               "cookie": f"_ga=1; k2hub-token-{PORT}={token}; other=2", "content-type": "application/json",
               "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/140", "accept": "*/*"}
    return {"type": "http", "method": "POST", "path": "/gradio_api/queue/join", "scheme": "http", "query_string": b"",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}


async def timed(app: Any, scope: dict[str, Any]) -> float:
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    await app(scope, receive, send)
    elapsed = time.perf_counter() - started
    assert statuses == [200], statuses
    return elapsed


async def run(n: int) -> tuple[list[float], list[float]]:
    auth = Auth("token", token="t" * 32)
    guarded = Perimeter(bare, hosts=allowed_hosts("127.0.0.1", []), auth=auth, port=PORT)
    scope = request(auth.token)
    plain_s, guarded_s = [], []
    for _ in range(n):
        plain_s.append(await timed(bare, dict(scope)))
        guarded_s.append(await timed(guarded, dict(scope)))
    return plain_s, guarded_s


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20_000)
    args = ap.parse_args(argv)
    plain_s, guarded_s = asyncio.run(run(args.requests))
    added = sorted(g - p for g, p in zip(guarded_s, plain_s))
    p50 = statistics.median(added) * 1000
    p99 = added[int(len(added) * 0.99)] * 1000
    print(f"perimeter_p50_added_ms: {p50:.4f}")
    print(f"perimeter_p99_added_ms: {p99:.4f}")
    print(f"perimeter_p50_vs_target: {p50 / TARGET_MS:.4f}  (target ≤ 1: {'met' if p50 <= TARGET_MS else 'NOT met'})")
    print(f"bare_app_p50_ms: {statistics.median(plain_s) * 1000:.4f}")


if __name__ == "__main__":
    main()
