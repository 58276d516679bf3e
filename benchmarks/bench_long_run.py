"""The 300-call scenario: K2-Thinking making 300 sequential tool calls inside its 256K window.

Each step as K2-Thinking produces it: ~1,500 characters of reasoning and one tool call whose result is ~8,000
characters of prose-like text. The fake K2 runs as its own process (python -m tests.fakes.k2_server) in long-run
mode: it refuses requests over 262,144 tokens with Moonshot's 400 and reports cached prompt tokens for shared
prefixes. The planner runs with its default budgets; cost is priced with Moonshot's kimi-k2-thinking list prices.

Prints `name: value` lines. Targets: success 1, max_request_share <= 0.9, context_length_errors 0, db_mb <= 100,
late_vs_early_ms_per_step <= 1.3, prefix_cache_hit_share >= 0.7, stored_bytes_per_step late/early ~ 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx  # noqa: E402

from agents.models.presets import PRESETS  # noqa: E402
from agents.models.providers import ModelSpec  # noqa: E402
from tests.fakes.k2_context import long_run_turns  # noqa: E402

CALLS = int(os.environ.get("BENCH_CALLS", "300"))
WINDOW = 262_144
RESULT_CHARS = 8_000
REASONING_CHARS = 1_500
TASK = "Audit the 300 records of the ledger, one tool call per record, and report what you find."
SAMPLES = (CALLS // 15, CALLS * 2 // 15, CALLS * 13 // 15, CALLS * 14 // 15)  # steps 20, 40, 260, 280 of 300


def start_fake(script: Path) -> tuple[subprocess.Popen[str], str]:
    """The fake K2 in a process of its own, so its JSON work does not share this process's interpreter."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.k2_server", "--port", "0", "--script", str(script), "--window", str(WINDOW),
         "--prefix-cache", "--context-style", "moonshot"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, line.split(" at ", 1)[1].split(" ", 1)[0]


def stored_bytes(db_file: Path) -> int:
    """Bytes of what the run has stored so far: checkpoints, writes, steps, artifacts, messages."""
    queries = ("SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints",
               "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes",
               "SELECT COALESCE(SUM(LENGTH(args) + LENGTH(COALESCE(result_preview, '')) + "
               "LENGTH(COALESCE(message, ''))), 0) FROM steps",
               "SELECT COALESCE(SUM(LENGTH(data)), 0) FROM artifacts",
               "SELECT COALESCE(SUM(LENGTH(COALESCE(content, '')) + LENGTH(COALESCE(reasoning_content, ''))), 0) "
               "FROM messages")
    with sqlite3.connect(db_file, timeout=60) as conn:
        return sum(conn.execute(q).fetchone()[0] for q in queries)


async def main() -> None:
    from agents.planner.runner import Agent, RunRequest
    from agents.policy.budget import billed_tokens
    from storage import repo

    home = Path(tempfile.mkdtemp(prefix="k2long-"))
    os.environ["K2HUB_HOME"] = str(home)
    toolbox = {"command": sys.executable, "args": ["-m", "tests.agents.hub_servers.toolbox"], "cwd": str(ROOT),
               "env": {"PYTHONPATH": str(ROOT)}, "trusted": True}
    (home / "mcp.json").write_text(json.dumps({"mcpServers": {"toolbox": toolbox}}))
    turns = long_run_turns(CALLS, "toolbox__blob", lambda i: {"chars": RESULT_CHARS, "seed": i},
                           reasoning_chars=REASONING_CHARS, answer=f"Audited {CALLS} records.")
    script = home / "script.json"
    script.write_text(json.dumps([{"content": t.content, "reasoning": t.reasoning,
                                   "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in t.tool_calls]}
                                  for t in turns]))
    fake, url = start_fake(script)
    info = PRESETS["moonshot"].models["kimi-k2-thinking"]  # 256K, thinking, Moonshot's prices
    spec = ModelSpec("openai-compatible", "kimi-k2-thinking", url, "none", info, "openai/")
    db_file = home / "k2hub.db"
    from app.config import Settings
    from app.services import agent_config

    config = agent_config(Settings(home=home))  # the app's defaults: the budgets a user gets
    config.builtin = []  # the toolbox alone
    config.privacy = None  # the redaction layer has its own benchmark (bench_redaction.py)
    agent = await Agent.open(config, database_url=f"sqlite:///{db_file}")
    marks: list[float] = []
    sizes: dict[int, int] = {}
    contexts, final = [], None
    try:
        started = time.perf_counter()
        async for event in agent.run(RunRequest(prompt=TASK, chain=[spec])):
            if event.type == "tool_call_finished":
                marks.append(time.perf_counter())
                if len(marks) in SAMPLES:
                    sizes[len(marks)] = stored_bytes(db_file)
            elif event.type == "context":
                contexts.append(event)
            elif event.type == "run_finished":
                final = event
        elapsed = time.perf_counter() - started
        stats = httpx.get(f"{url}/fake/stats").json()
        run = repo.get_run(agent.db, final.run_id) if final is not None else None
    finally:
        await agent.aclose()
        fake.terminate()
        fake.wait(10)
    with sqlite3.connect(db_file) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db_mb = sum(f.stat().st_size for f in home.glob("k2hub.db*")) / 2**20
    assert final is not None
    first = (marks[20] - marks[0]) / 20  # the first 20 steps (after the first) and the last 20
    last = (marks[-1] - marks[-21]) / 20
    early = (sizes[SAMPLES[1]] - sizes[SAMPLES[0]]) / (SAMPLES[1] - SAMPLES[0])
    late = (sizes[SAMPLES[3]] - sizes[SAMPLES[2]]) / (SAMPLES[3] - SAMPLES[2])
    print(f"success: {int(final.reason == 'done' and final.answer == f'Audited {CALLS} records.')}")
    print(f"tool_calls: {final.tool_calls}")
    print(f"max_request_tokens: {stats['max_prompt_tokens']}")
    print(f"max_request_share: {stats['max_prompt_tokens'] / WINDOW:.3f}")
    print(f"context_length_errors: {stats['refused']}")
    print(f"compactions: {contexts[-1].compactions if contexts else 0}")
    print(f"folded_tool_calls: {contexts[-1].compacted_steps if contexts else 0}")
    print(f"db_mb: {db_mb:.1f}")
    print(f"stored_kb_per_step_early: {early / 1024:.1f}")
    print(f"stored_kb_per_step_late: {late / 1024:.1f}")
    print(f"stored_bytes_per_step_late_vs_early: {late / early:.2f}")
    print(f"ms_per_step_first20: {1000 * first:.1f}")
    print(f"ms_per_step_last20: {1000 * last:.1f}")
    print(f"late_vs_early_ms_per_step: {last / first:.2f}")
    print(f"prefix_cache_hit_share: {stats['cached_tokens'] / stats['prompt_tokens']:.3f}")
    print(f"prompt_tokens: {stats['prompt_tokens']}")
    totals = {"prompt_tokens": run.prompt_tokens, "completion_tokens": run.completion_tokens,
              "cached_tokens": run.cached_tokens}
    print(f"billed_tokens: {billed_tokens(totals, info.price.cached_input / info.price.input)}")
    print(f"cost_usd_moonshot_prices: {final.cost_usd:.2f}")
    print(f"wall_s: {elapsed:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
