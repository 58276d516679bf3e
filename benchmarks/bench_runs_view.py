"""The Runs view over 10,000 runs: one page (filters, newest first, whether older runs follow, the rows formatted for
the table) against a plain SELECT of the same rows on the same database, both measured in this run.

The baseline is the same SELECT (same columns, same join, same order, same page) as plain SQL through the app's
own engine, fetched as is: what any page of rows costs the app. For reference a second line divides by the same
SELECT on a bare sqlite3 connection (no pool, no SQLAlchemy), which no code path of the app can use (Postgres).

Target (issue 19): ratio ≤ 1.5 against the plain SELECT, and the page ≤ 300 ms server time.
Prints `name: ratio` lines plus the absolute medians.

Run: python benchmarks/bench_runs_view.py [--runs 10000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text

from app.ui.runs_tab import PAGE, run_table
from storage import workbench
from storage.db import Database
from storage.models import Conversation, Run

PROVIDERS = ("groq", "moonshot", "local", "openai-compatible")
MODELS = ("moonshotai/kimi-k2-instruct-0905", "kimi-k2-thinking", "qwen2.5-coder-0.5b", "kimi-k2-0905-preview")
STATUSES = ("done", "done", "done", "failed", "stopped")

PLAIN = (
    "SELECT runs.id, runs.conversation_id, runs.status, runs.provider, runs.model, runs.started_at, runs.finished_at,"
    " runs.steps, runs.prompt_tokens, runs.completion_tokens, runs.cached_tokens, runs.cost_usd, conversations.title"
    " FROM runs JOIN conversations ON conversations.id = runs.conversation_id {where}"
    " ORDER BY runs.started_at DESC, runs.id DESC LIMIT ? OFFSET ?"
)


def fill(db: Database, runs: int) -> None:
    """`runs` runs over runs/20 conversations, spread over 60 days, with mixed providers, models and statuses."""
    rng = random.Random(19)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    conversations = [{"id": f"{i:032x}", "title": f"Conversation {i}", "created_at": start, "updated_at": start,
                      "provider": "", "model": ""} for i in range(max(1, runs // 20))]  # fmt: skip
    rows = []
    for i in range(runs):
        began = start + timedelta(seconds=rng.randrange(60 * 86400))
        k = rng.randrange(len(PROVIDERS))
        rows.append({"id": f"r{i:031x}", "conversation_id": conversations[i % len(conversations)]["id"],
                     "status": rng.choice(STATUSES), "provider": PROVIDERS[k], "model": MODELS[k], "started_at": began,
                     "finished_at": began + timedelta(seconds=rng.uniform(1, 300)), "steps": rng.randrange(1, 40),
                     "prompt_tokens": rng.randrange(100, 90_000), "completion_tokens": rng.randrange(10, 4_000),
                     "cached_tokens": rng.randrange(0, 50_000), "cost_usd": rng.uniform(0, 0.3), "meta": {}})  # fmt: skip
    with db.write_connection() as conn:
        conn.execute(insert(Conversation.__table__), conversations)
        conn.execute(insert(Run.__table__), rows)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    for _ in range(3):  # warm the page cache and the statement caches of both sides alike
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "k2hub.db"
        db = Database(f"sqlite:///{path}")
        fill(db, args.runs)
        plain = sqlite3.connect(path)
        cases = {
            "first_page": ({}, "", (), 0),
            "page_100": ({}, "", (), 100 * PAGE if args.runs > 100 * PAGE else 0),
            "filtered_provider": ({"provider": "groq"}, "WHERE runs.provider = ?", ("groq",), 0),
        }
        for name, (filters, where, params, offset) in cases.items():
            def view() -> object:
                rows, more = workbench.runs_page(db, offset=offset, limit=PAGE, **filters)
                return run_table(rows), more

            sql = text(PLAIN.format(where=where.replace("?", ":p")).replace("LIMIT ? OFFSET ?", "LIMIT :l OFFSET :o"))
            bound = {"l": PAGE, "o": offset, **({"p": params[0]} if params else {})}

            def baseline() -> object:
                with db.engine.connect() as conn:
                    return conn.execute(sql, bound).fetchall()

            def bare() -> object:
                return plain.execute(PLAIN.format(where=where), (*params, PAGE, offset)).fetchall()

            ours, base, raw = (median_ms(fn, args.repeat) for fn in (view, baseline, bare))
            print(f"runs_view_{name}: {ours / base:.2f}  (view {ours:.2f} ms, plain SELECT {base:.2f} ms, "
                  f"{args.runs:,} runs)")
            print(f"runs_view_{name}_vs_bare_sqlite3: {ours / raw:.2f}  (bare sqlite3 {raw:.2f} ms)")
        plain.close()
        db.close()


if __name__ == "__main__":
    main()
