"""Helpers for tests: skipping for a missing tool or data (strict in CI), and servers run as subprocesses."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from typing import NoReturn

import pytest

STRICT_ENV = "K2HUB_TEST_STRICT"
MISSING = "missing here:"
"""Prefix of every skip reason that means "this machine lacks a tool or data"; with K2HUB_TEST_STRICT=1 (CI) such a
skip fails the test instead (tests/conftest.py), so CI cannot pass by skipping what it claims to test."""


def missing(reason: str) -> str:
    """The skip reason for a test that needs a system tool or data this machine does not have."""
    return f"{MISSING} {reason}"


def requires(present: bool, reason: str) -> pytest.MarkDecorator:
    """Skip (fail in strict mode) unless a needed system tool or data set is present."""
    return pytest.mark.skipif(not present, reason=missing(reason))


def skip_missing(reason: str) -> NoReturn:
    """Inside a test or fixture: skip (fail in strict mode) because a needed tool or data set is absent."""
    pytest.skip(missing(reason))


def chromium() -> str | None:
    """The Chromium tests drive: $K2HUB_BROWSER_PATH, else `chromium` on PATH."""
    return os.environ.get("K2HUB_BROWSER_PATH") or shutil.which("chromium")


requires_chromium = requires(chromium() is not None, "needs Chromium on PATH (apt-get install chromium)")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(proc: subprocess.Popen[bytes], port: int, timeout: float = 20.0) -> bool:
    """Poll 127.0.0.1:port until it accepts a connection (True), or proc exits or timeout passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> None:  # type: ignore[type-arg]
    """SIGTERM the process, and SIGKILL it if it has not exited within timeout seconds."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
