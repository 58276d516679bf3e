"""`python run.py local [install|status]`: the embedded local model from the terminal (CI installs it this way)."""

from __future__ import annotations

import sys
import time

from agents.models.local import installer, weights
from agents.models.local.installer import INSTALLER, LocalStatus
from agents.models.local.runtime import context_size


def local_verb(action: str) -> int:
    """Run `local install` or `local status`; exit 0 only when the local model is ready to use."""
    return install() if action == "install" else status()


def install() -> int:
    """Install runtime and weights in the foreground, printing progress; 0 when ready."""
    started = time.monotonic()
    last = [""]

    def show(s: LocalStatus) -> None:
        line = s.line()
        # One line per step, and per 5 points of a long step: readable in a CI log, alive on a terminal.
        mark = f"{s.phase}{s.step}{int((s.fraction or 0) * 20)}"
        if mark != last[0]:
            last[0] = mark
            print(f"[k2hub] {line}", file=sys.stderr, flush=True)

    final = INSTALLER.run(show)
    took = time.monotonic() - started
    if final.phase != "ready":
        print(f"[k2hub] {final.line()}", file=sys.stderr)
        return 1
    path = weights.user_model() or weights.pinned_path()
    print(f"local model ready in {took:.0f}s: {path} (runtime llama-cpp-python {installer.runtime_version()})")
    return 0


def status() -> int:
    """Print where runtime and weights stand; 0 when the local model is ready."""
    version = installer.runtime_version()
    print(f"runtime:  {'llama-cpp-python ' + version if version else 'not installed'}")
    user = weights.user_model()
    path = user or weights.pinned_path()
    verdict = "missing"
    if path.is_file():
        try:
            weights.model_for_use()
            pinned = f"verified sha256 {weights.PIN.sha256[:16]}…"
            verdict = "GGUF (K2HUB_LOCAL_MODEL, not hash-checked)" if user else pinned
        except weights.WeightsError as exc:
            verdict = f"refused: {exc}"
    print(f"model:    {path} ({verdict})")
    print(f"context:  {context_size()} tokens (K2HUB_LOCAL_CONTEXT)")
    ready = bool(version) and verdict not in ("missing",) and not verdict.startswith("refused")
    print(f"status:   {'ready' if ready else INSTALLER.status().line()}")
    return 0 if ready else 1
