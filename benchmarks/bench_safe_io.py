"""The safe file layer's cost: 1,000 small writes through safe_files.write_bytes against plain open() (target ≤ 1.2×).

Run: python benchmarks/bench_safe_io.py [--writes N] [--rounds R]
Both sides write N new 1 KB files into a folder of a workspace (plain: open(path, "wb").write; safe: write_bytes,
which walks the path with O_NOFOLLOW, creates an O_EXCL temporary and renames it into place), then the same N files
again (replacing them). Rounds alternate the two so a busy machine slows both alike; the median round counts.
Prints `name: ratio` lines (≤ 1.2 meets the target) and the microseconds per write.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp_servers.common import safe_files
from mcp_servers.common.paths import Workspace

TARGET = 1.2
DATA = os.urandom(1024)


def plain(folder: Path, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        with open(folder / f"f{i}.txt", "wb") as f:
            f.write(DATA)
    return time.perf_counter() - started


def safe(ws: Workspace, folder: str, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        safe_files.write_bytes(ws, f"{folder}/f{i}.txt", DATA)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writes", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    n = args.writes
    with tempfile.TemporaryDirectory(prefix="k2hub-bench-io-") as tmp:
        ws = Workspace(Path(tmp) / "workspaces" / "bench")
        safe_files.make_dirs(ws, "warm")
        ratios, plain_us, safe_us = [], [], []
        for r in range(args.rounds):
            base = Path(tmp) / f"plain-{r}"
            base.mkdir()
            t_plain = plain(base, n) + plain(base, n)  # create, then replace
            t_safe = safe(ws, f"round-{r}", n) + safe(ws, f"round-{r}", n)
            ratios.append(t_safe / t_plain)
            plain_us.append(t_plain / (2 * n) * 1e6)
            safe_us.append(t_safe / (2 * n) * 1e6)
    ratio = statistics.median(ratios)
    print(f"safe_write_vs_open: {ratio:.2f}  (target ≤ {TARGET}; {'met' if ratio <= TARGET else 'NOT met'})")
    print(f"plain_open_us_per_write: {statistics.median(plain_us):.1f}")
    print(f"safe_write_us_per_write: {statistics.median(safe_us):.1f}")


if __name__ == "__main__":
    main()
