"""Strict mode (K2HUB_TEST_STRICT=1, set by .ci/run): a skip for a missing tool fails the run instead of passing it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _browser_tests(strict: bool) -> subprocess.CompletedProcess[str]:
    """Run the browser server's tests with Chromium hidden from PATH (only the Python venv is on it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("K2HUB_")}
    env.update(PATH=str(Path(sys.executable).parent), PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False")
    if strict:
        env["K2HUB_TEST_STRICT"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/mcp_servers/test_browser.py", "-q", "-x", "-p", "no:cacheprovider",
         "-k", "annotations"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.slow
def test_strict_mode_fails_when_chromium_is_hidden_from_path() -> None:
    relaxed = _browser_tests(strict=False)
    assert relaxed.returncode == 0 and "skipped" in relaxed.stdout, relaxed.stdout[-2000:]
    strict = _browser_tests(strict=True)
    assert strict.returncode == 1, strict.stdout[-2000:]
    assert "K2HUB_TEST_STRICT=1: this run must not skip it" in strict.stdout
    assert "needs Chromium on PATH" in strict.stdout
