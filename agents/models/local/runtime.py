"""Runs the local model server as a child process on 127.0.0.1: started on first use, reused, stopped on exit.

A child process rather than a thread of the app: the model's memory and native code stay out of the app, a crash in
llama.cpp cannot take the UI down, and litellm reaches it over the same OpenAI wire as every other provider. The child
exits by itself when its parent disappears (even after kill -9), and `stop_server` / atexit stop it otherwise.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from agents.errors import ProviderError
from agents.models.local import catalog
from agents.models.secrets import setting_value
from storage.paths import data_home

log = logging.getLogger(__name__)
DEFAULT_CONTEXT = 8192
START_TIMEOUT_S = 180.0  # loading a large user GGUF from a cold disk can take a while


def context_size() -> int:
    """Context window of the local model in tokens: K2HUB_LOCAL_CONTEXT, default 8192."""
    raw = setting_value("K2HUB_LOCAL_CONTEXT")
    try:
        return max(1024, int(raw)) if raw else DEFAULT_CONTEXT
    except ValueError:
        return DEFAULT_CONTEXT


# llama.cpp's CPU backend is built with OpenMP (GNU libgomp): between its many barriers per token, a waiting thread
# spins GOMP_SPINCOUNT times (300,000 by default when the threads fit the cores) before it sleeps. On 2 shared cores
# the spinning thread takes the core its partner needs: measured, one request (485 prompt + 33 generated tokens, load
# average 8-9) took 92-140 s and 35 s of CPU by default, 36 s and 10 s of CPU with a spin count of 1000, the same
# tokens. Scheduling only: the output does not change. A value set by the user wins.
OPENMP_SPIN = {"GOMP_SPINCOUNT": "1000"}


def server_env(root: Path) -> dict[str, str]:
    """The environment of the server child: ours plus the project on PYTHONPATH and short OpenMP spinning."""
    env = {**OPENMP_SPIN, **os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    return env


@dataclass(frozen=True)
class ServerKey:
    """What a running server was started with; a request for anything else restarts it."""

    model: Path
    context: int
    prefix_cache: bool = True
    threads: int = os.cpu_count() or 1
    state_dir: Path | None = None  # where the server keeps the KV state of stable prompt prefixes (state_cache.py)


class LocalServer:
    """One `python -m agents.models.local.server` child process."""

    def __init__(self, key: ServerKey) -> None:
        self.key = key
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.stderr_tail: deque[str] = deque(maxlen=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> str:
        """Spawn the server and wait until it has loaded the model and listens; raise ProviderError if it cannot."""
        root = Path(__file__).resolve().parents[3]
        cmd = [sys.executable, "-m", "agents.models.local.server", "--model", str(self.key.model), "--context",
               str(self.key.context), "--threads", str(self.key.threads), "--parent", str(os.getpid())]
        if not self.key.prefix_cache:
            cmd.append("--no-prefix-cache")
        elif self.key.state_dir is not None:
            cmd += ["--state-cache", str(self.key.state_dir)]
        env = server_env(root)
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._drain_stderr, daemon=True, name="local-server-stderr").start()
        ready = threading.Event()
        threading.Thread(target=self._read_stdout, args=(ready,), daemon=True, name="local-server-stdout").start()
        deadline = time.monotonic() + timeout_s
        while not ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = "exited" if self.proc.poll() is not None else f"did not start within {timeout_s:.0f}s"
                self.stop()
                detail = " | ".join(list(self.stderr_tail)[-5:]) or "no output"
                raise ProviderError(f"The local model server {why} ({self.key.model.name}): {detail}", provider="local")
        return self.url

    def _read_stdout(self, ready: threading.Event) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("READY "):
                self.port = int(line.split()[1])
                ready.set()

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            if line.strip():
                self.stderr_tail.append(line.rstrip())

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after timeout_s; waits so no zombie is left."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


_lock = threading.Lock()
_server: LocalServer | None = None
_prefix_cache = True
_state_dir: Path | None = None


def state_dir() -> Path:
    """Where servers keep prompt-prefix states: $K2HUB_HOME/cache/model-state, unless set_state_dir chose another."""
    return _state_dir or data_home() / "cache" / "model-state"


def set_state_dir(path: Path | None) -> None:
    """Tests share one state directory between their processes (each test has its own K2HUB_HOME); None: default."""
    global _state_dir
    _state_dir = path


def set_prefix_cache(enabled: bool) -> None:
    """Benchmarks compare with the cache off; a running server with the other setting is replaced on next use."""
    global _prefix_cache
    _prefix_cache = enabled


def ensure_server(model: Path, context: int | None = None) -> str:
    """The base URL of a server for this model, starting (or restarting) it when needed. Blocking: call in a thread."""
    global _server
    key = ServerKey(model=model, context=context or context_size(), prefix_cache=_prefix_cache,
                    state_dir=state_dir())
    with _lock:
        if _server is not None and _server.key == key and _server.alive:
            return _server.url
        if _server is not None:
            _server.stop()
        # A model that cannot fit in memory is refused with the figures, before a load that would swap or crash.
        slow = catalog.check(model, key.context)
        if slow:
            log.warning(slow)
        server = LocalServer(key)
        server.start()
        _server = server
        return server.url


def current() -> LocalServer | None:
    """The running server, if any (for status and tests)."""
    return _server if _server is not None and _server.alive else None


def stop_server() -> None:
    """Stop the server if one runs (app exit, tests)."""
    global _server
    with _lock:
        if _server is not None:
            _server.stop()
            _server = None


atexit.register(stop_server)
