"""Installs the local model on demand: llama-cpp-python into the app's venv (pip, compiled once per machine), then
the pinned weights; in the background for the UI, in the foreground for `python run.py local install`."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from agents.errors import ConfigError
from agents.models.local import weights

# The same requirement as pyproject's `local` extra (a test keeps them equal).
RUNTIME_REQUIREMENT = "llama-cpp-python>=0.3.16"
# Portable build (no -march=native: the wheel lands in pip's cache and may serve another CPU); no multimodal parts.
CMAKE_ARGS = "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"
BUILD_MINUTES_ON_2_CORES = 12  # measured: llama-cpp-python 0.3.36 from source
_PERCENT = re.compile(r"\[\s*(\d{1,3})%\]")


class InstallError(ConfigError):
    """Raised by agents.models.local.installer when pip cannot install the runtime (compiler missing, no network, ...)."""


@dataclass(frozen=True)
class LocalStatus:
    """Where the local model's installation stands; `line()` says it in one sentence."""

    phase: str = "idle"  # idle | runtime | weights | ready | failed | disabled
    step: str = ""  # what is happening now, e.g. "compiling llama.cpp"
    fraction: float | None = None
    started_at: float | None = None
    error: str = ""

    @property
    def busy(self) -> bool:
        return self.phase in ("runtime", "weights")

    def elapsed_min(self) -> int:
        return int((time.time() - self.started_at) // 60) if self.started_at else 0

    def line(self) -> str:
        """One sentence for the UI, the terminal and the no-model message."""
        pct = f" {self.fraction:.0%}" if self.fraction is not None else ""
        if self.phase == "ready":
            return f"Local model ready: {weights.PIN.label}, a small model that runs on this machine."
        if self.phase == "runtime":
            return (f"Installing the local model runtime: {self.step}{pct}, {self.elapsed_min()} min so far "
                    f"(about {build_minutes()} min on {_cores()} cores, once per machine; then a 491 MB download).")
        if self.phase == "weights":
            return f"Installing the local model weights: {self.step}{pct} (491 MB in all; a few minutes)."
        if self.phase == "failed":
            return f"Installing the local model failed: {self.error} Run `python run.py local install` to retry."
        if self.phase == "disabled":
            return "The embedded local model is off (--no-local / K2HUB_LOCAL=false)."
        return (f"The embedded local model is not installed: run `python run.py local install` (about {build_minutes()} "
                f"min on {_cores()} cores the first time, plus a 491 MB download), or start the UI, which installs it "
                "in the background.")


def _cores() -> int:
    return os.cpu_count() or 1


def build_minutes() -> int:
    """Expected compile time of the runtime on this machine, scaled from the 2-core measurement."""
    return max(3, round(BUILD_MINUTES_ON_2_CORES * 2 / _cores()))


_runtime_found = False


def runtime_installed() -> bool:
    """llama-cpp-python is importable in this environment (checked without importing it; a yes is remembered)."""
    global _runtime_found
    if not _runtime_found:
        importlib.invalidate_caches()  # pip may have installed it since this process started
        _runtime_found = importlib.util.find_spec("llama_cpp") is not None
    return _runtime_found


def runtime_version() -> str | None:
    """The installed llama-cpp-python version, if any."""
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return None


def in_virtualenv() -> bool:
    """True inside a venv: the only place the app installs packages by itself."""
    return sys.prefix != sys.base_prefix


def install_command() -> list[str]:
    """pip install of the runtime into this interpreter's environment, verbose so the build reports progress."""
    return [sys.executable, "-m", "pip", "install", "-v", "--disable-pip-version-check", "--progress-bar", "off",
            RUNTIME_REQUIREMENT]


def step_of(line: str) -> tuple[str, float | None] | None:
    """What a line of pip's output says about progress, if anything."""
    text = line.strip()
    if m := _PERCENT.search(text):
        return "compiling llama.cpp", min(int(m.group(1)), 100) / 100
    if text.startswith("Building wheel for llama"):
        return "compiling llama.cpp", None
    if "Using cached llama_cpp_python" in text or "Processing" in text and "llama_cpp_python" in text:
        return "installing the cached build", None
    if text.startswith(("Collecting", "Downloading")):
        return "downloading sources", None
    if text.startswith("Installing collected packages"):
        return "installing", None
    return None


class Installer:
    """Installs runtime then weights, once per process at a time; status() is safe to read from any thread."""

    def __init__(self) -> None:
        self._status = LocalStatus()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._cancelled = threading.Event()
        self.enabled = True  # the app turns this off for --no-local: no install, never the automatic default

    def status(self) -> LocalStatus:
        """The current status; outside an install, readiness is read from disk each time (a `local install` in
        another process shows up, a deleted model file too)."""
        current = self._status
        if current.busy:
            return current
        if ready_on_disk():
            return LocalStatus("ready")
        if current.phase == "ready":
            current = LocalStatus()
        if current.phase == "idle" and not self.enabled:
            return LocalStatus("disabled")
        return current

    def _set(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]

    def run(self, on_change: Callable[[LocalStatus], None] | None = None) -> LocalStatus:
        """Install whatever is missing, in the calling thread; the final status says ready or failed (and why)."""
        notify = on_change or (lambda _s: None)
        self._cancelled.clear()
        self._set(phase="runtime", step="checking", fraction=None, started_at=time.time(), error="")
        try:
            if not runtime_installed():
                self._install_runtime(notify)
            self._set(phase="weights", step="checking", fraction=None)
            notify(self._status)
            if weights.user_model() is not None:
                weights.check_gguf(weights.user_model())  # type: ignore[arg-type]
            else:
                weights.ensure_weights(progress=lambda step, frac: self._progress(notify, step, frac), run=self._run)
            self._set(phase="ready", step="", fraction=None)
        except ConfigError as exc:
            self._set(phase="failed", error=str(exc))
        except Exception as exc:  # a background thread's boundary: whatever broke is shown, not lost
            self._set(phase="failed", error=f"{type(exc).__name__}: {exc}.")
        notify(self._status)
        return self._status

    def _run(self, cmd: list[str]) -> subprocess.CompletedProcess[str]:
        """Run pip so that cancel() can stop it (and whatever it started)."""
        if self._cancelled.is_set():
            raise InstallError("cancelled.")
        self._proc = proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                             start_new_session=os.name != "nt")
        try:
            out, err = proc.communicate()
        finally:
            self._proc = None
            if proc.poll() is None:
                _kill_group(proc)
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    def _progress(self, notify: Callable[[LocalStatus], None], step: str, fraction: float | None) -> None:
        if self._cancelled.is_set():
            raise InstallError("cancelled.")
        self._set(step=step, fraction=fraction)
        notify(self._status)

    def _install_runtime(self, notify: Callable[[LocalStatus], None]) -> None:
        if not in_virtualenv():
            raise InstallError(f"this Python ({sys.executable}) is not a virtual environment, and the app installs "
                               "packages only into its own venv: start it with `python run.py`, or run "
                               "`pip install 'k2-agent-hub[local]'` yourself.")
        self._progress(notify, "starting pip", None)
        env = {**os.environ, "CMAKE_ARGS": os.environ.get("CMAKE_ARGS") or CMAKE_ARGS}
        tail: list[str] = []
        # Own process group: cancelling stops pip and the compiler it started, not just pip.
        self._proc = proc = subprocess.Popen(install_command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                             text=True, env=env, start_new_session=os.name != "nt")
        try:
            for line in proc.stdout:  # type: ignore[union-attr]
                tail = [*tail[-19:], line.rstrip()]
                step = step_of(line)
                if step is not None:
                    self._progress(notify, *step)
            code = proc.wait()
        finally:
            self._proc = None
            if proc.poll() is None:
                _kill_group(proc)
        if code != 0 or not runtime_installed():
            hint = ("a C/C++ compiler and cmake are needed (Debian/Ubuntu: apt-get install build-essential cmake)"
                    if any("cmake" in t.lower() or "compiler" in t.lower() for t in tail) else "see pip's last lines")
            raise InstallError(f"pip could not install {RUNTIME_REQUIREMENT} (exit {code}): {hint}. Last lines: "
                               + " | ".join(t for t in tail[-3:] if t))

    def start(self) -> bool:
        """Install in a background thread unless ready, disabled or already running; True when a thread started."""
        if not self.enabled or self.status().phase == "ready":
            return False
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._thread = threading.Thread(target=self.run, args=(_print_progress(),), name="k2hub-local-install",
                                            daemon=True)
            self._thread.start()
        return True

    def cancel(self, timeout_s: float = 10.0) -> None:
        """Stop a background install (app exit): pip and its compiler are killed, nothing is left running."""
        self._cancelled.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            _kill_group(proc)
        if self._thread is not None:
            self._thread.join(timeout_s)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    import signal

    try:
        if os.name != "nt":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        if os.name != "nt":
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()


def _print_progress() -> Callable[[LocalStatus], None]:
    """A terminal reporter for background installs: a line when the step changes or every 10 points."""
    last: list[tuple[str, int]] = [("", -1)]

    def report(status: LocalStatus) -> None:
        mark = (status.phase + status.step, int((status.fraction or 0) * 10))
        if mark != last[0]:
            last[0] = mark
            print(f"[k2hub] {status.line()}", file=sys.stderr, flush=True)

    return report


def ready_on_disk() -> bool:
    """Runtime importable and a model file in place (the pinned one is hashed again before it is loaded)."""
    return runtime_installed() and weights.installed()


INSTALLER = Installer()
