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


def start_ask(env: dict[str, str], base_url: str, prompt: str, conversation: str | None = None) -> subprocess.Popen[str]:
    """Start `ask --json` (not waiting for it)."""
    args = [sys.executable, "-m", "app.cli", "ask", prompt, *MODEL, "--base-url", base_url, "--json"]
    if conversation:
        args += ["--conversation", conversation]
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)  # fmt: skip


def finish(proc: subprocess.Popen[str], timeout: float) -> tuple[int | None, list[dict[str, Any]], str]:
    """Wait for an `ask --json` child: (exit code or None when it hung and was killed, its events, its stderr)."""
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        code = None
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return code, events, err


def finish_all(procs: list[subprocess.Popen[str]], timeout: float) -> list[tuple[int | None, list[dict[str, Any]], str]]:
    """finish() each child within one shared deadline; a child still running then is killed (None exit code)."""
    deadline = time.monotonic() + timeout
    return [finish(p, max(0.1, deadline - time.monotonic())) for p in procs]


def tool_results(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """tool name → its tool_call_finished event (the last one of that name)."""
    return {e["name"]: e for e in events if e["type"] == "tool_call_finished"}
