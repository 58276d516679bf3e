"""Settings and resource limits of the code sandbox, read from the environment the hub passes to built-in servers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers.common.settings import ServerSettings

MODE_ENV = "K2HUB_SANDBOX"

MODES = ("bwrap", "unsafe-local")
UNSAFE = "unsafe-local"
DEFAULT_TIMEOUT_S = 60.0
MAX_TIMEOUT_S = 600.0
# The hub abandons a call after K2HUB_TOOL_TIMEOUT_S: stop the code a little earlier so its output still arrives.
HUB_MARGIN_S = 3.0
MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-run resource limits; every sandboxed process gets them as rlimits, the run as a whole as caps."""

    memory_mb: int = ServerSettings.model_fields["sandbox_memory_mb"].default  # RLIMIT_AS of each process
    procs: int = 256  # RLIMIT_NPROC: processes and threads of the sandbox's uid (Go builds use dozens of threads)
    file_mb: int = 512  # RLIMIT_FSIZE: the largest file a run may write
    open_files: int = 1024  # RLIMIT_NOFILE
    tmp_mb: int = 512  # size of the private /tmp (RAM-backed, so bounded)
    output_mb: int = 16  # stdout + stderr beyond this stops the run: big results belong in files
    max_timeout_s: float = MAX_TIMEOUT_S
    result_chars: int = ServerSettings.model_fields["tool_result_chars"].default  # the hub's view of a result

    def describe(self) -> str:
        """The limits in one line, for the model."""
        return (f"{self.memory_mb} MB of memory per process, {self.procs} processes, files up to {self.file_mb} MB, "
                f"{self.tmp_mb} MB of /tmp, {self.output_mb} MB of output, no network")

    def rlimits(self, timeout_s: float) -> dict[str, int]:
        """prlimit option -> value; CPU seconds follow the wall-clock timeout so a busy loop dies either way."""
        return {
            "as": self.memory_mb * MB,
            "nproc": self.procs,
            "fsize": self.file_mb * MB,
            "nofile": self.open_files,
            "cpu": math.ceil(timeout_s) + 1,
            "core": 0,
        }

    def prlimit_argv(self, timeout_s: float) -> list[str]:
        """The prlimit(1) prefix that applies these limits to the command after it."""
        return ["/usr/bin/prlimit", *(f"--{k}={v}" for k, v in self.rlimits(timeout_s).items()), "--"]

    def clamp_timeout(self, timeout_s: float | None, default: float = DEFAULT_TIMEOUT_S) -> tuple[float, str]:
        """The timeout actually used, plus a note for the model when its own request was lowered."""
        if timeout_s is None:
            return min(default, self.max_timeout_s), ""
        asked = float(timeout_s)
        if asked <= 0:
            raise ToolError("timeout_s must be positive (seconds of wall-clock time the code may run)")
        if asked > self.max_timeout_s:
            limit = self.max_timeout_s
            return limit, f"timeout lowered from {asked:g} s to {limit:g} s (the tool-call limit)"
        return asked, ""


def settings(env: Mapping[str, str] | None = None) -> ServerSettings:
    """The server settings (environment, then $K2HUB_HOME/.env); a bad value is a ToolError naming it."""
    try:
        return ServerSettings.load(env)
    except ValueError as exc:
        raise ToolError(str(exc)) from None


def mode(env: Mapping[str, str] | None = None) -> str:
    """The isolation mode chosen by K2HUB_SANDBOX: 'bwrap' (default) or the explicit opt-out 'unsafe-local'."""
    value = settings(env).sandbox.strip() or "bwrap"
    if value not in MODES:
        raise ToolError(f"{MODE_ENV}={value!r} is not understood: use 'bwrap' (isolated, the default) or "
                        f"'unsafe-local' (no isolation; only on a machine you are willing to lose)")
    return value


def load_limits(env: Mapping[str, str] | None = None) -> Limits:
    """Limits from the settings: memory from K2HUB_SANDBOX_MEMORY_MB, timeout and result size from the hub's."""
    chosen = settings(env)
    return Limits(memory_mb=chosen.sandbox_memory_mb, result_chars=chosen.tool_result_chars,
                  max_timeout_s=max(1.0, min(MAX_TIMEOUT_S, chosen.tool_timeout_s - HUB_MARGIN_S)))


def go_cache_root(env: Mapping[str, str] | None = None) -> Path:
    """Where Go build caches live: $K2HUB_GO_CACHE, else $K2HUB_HOME/cache/go (never inside a workspace)."""
    return settings(env).go_cache_root
