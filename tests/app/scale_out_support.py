"""App processes for the scale-out tests: `python -m app.cli ask --json` children sharing one PostgreSQL.

Each child gets a data home of its own (as on another machine) and shares only what the README says must be
shared: DATABASE_URL and K2HUB_WORKSPACE_ROOT.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODEL = ["--provider", "openai-compatible", "--model", "kimi-k2-0905-preview"]


def child_env(home: Path, database_url: str, workspaces: Path, servers: str, **extra: str) -> dict[str, str]:
    """The environment of one app process: its own home, the shared database and workspace root, no keys."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("K2HUB_") and k not in ("GROQ_API_KEY", "MOONSHOT_API_KEY", "DATABASE_URL")}  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    env.update(K2HUB_HOME=str(home), DATABASE_URL=database_url, K2HUB_WORKSPACE_ROOT=str(workspaces),
               K2HUB_BUILTIN_SERVERS=servers, K2HUB_LOCAL="false", PYTHONPATH=str(ROOT),
               LITELLM_LOCAL_MODEL_COST_MAP="True", **extra)  # fmt: skip
    return env


def start_cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """Start `python -m app.cli ARGS` (not waiting for it)."""
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)  # fmt: skip


def start_ask(env: dict[str, str], base_url: str, prompt: str, conversation: str | None = None) -> subprocess.Popen[str]:
    """Start `ask --json` (not waiting for it)."""
    args = ["ask", prompt, *MODEL, "--base-url", base_url, "--json"]
    return start_cli(env, *args, *(["--conversation", conversation] if conversation else []))


def finish_all_text(procs: list[subprocess.Popen[str]], timeout: float) -> list[tuple[int | None, str, str]]:
    """(exit code, stdout, stderr) of each child within one shared deadline; one still running then is killed
    and gets None as its exit code."""
    deadline = time.monotonic() + timeout
    outcomes: list[tuple[int | None, str, str]] = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            outcomes.append((proc.returncode, out, err))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            outcomes.append((None, out, err))
    return outcomes


def finish_all(procs: list[subprocess.Popen[str]], timeout: float) -> list[tuple[int | None, list[dict[str, Any]], str]]:
    """finish_all_text() for `ask --json` children: their stdout as the list of events."""
    return [(code, [json.loads(line) for line in out.splitlines() if line.startswith("{")], err)
            for code, out, err in finish_all_text(procs, timeout)]  # fmt: skip


def tool_results(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """tool name → its tool_call_finished event (the last one of that name)."""
    return {e["name"]: e for e in events if e["type"] == "tool_call_finished"}
