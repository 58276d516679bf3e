"""What a server that runs code holds (the sandbox and cobol servers): limits, the isolation, the Go cache."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers.common import limits
from mcp_servers.common.adapter import ServerState
from mcp_servers.common.paths import workspace_root
from mcp_servers.sandbox import golang
from mcp_servers.sandbox.bwrap import Isolation, choose


@dataclass
class RunState(ServerState):
    """The settings read once when the server is built, and the isolation chosen on the first run."""

    limits: limits.Limits
    mode: str
    mode_error: str  # a typo in K2HUB_SANDBOX must not stop the server: every call explains it instead
    go_cache: Path
    go_warm_up: golang.WarmUp
    chosen: Isolation | None = None

    @classmethod
    def load(cls, root: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Self:
        """Read the limits, mode and Go cache from env (then $K2HUB_HOME/.env); workspaces live under root."""
        try:
            mode, mode_error = limits.mode(env), ""
        except ToolError as err:
            mode, mode_error = "bwrap", str(err)
        return cls(workspace_root(root), limits.load_limits(env), mode, mode_error, limits.go_cache_root(env),
                   golang.WarmUp())

    @property
    def unsafe(self) -> bool:
        """Whether code runs unisolated (K2HUB_SANDBOX=unsafe-local)."""
        return self.mode == limits.UNSAFE

    def isolation(self) -> Isolation:
        """The isolation every run uses, chosen once; a ToolError saying why when code cannot run here."""
        if self.mode_error:
            raise ToolError(f"Code was not run: {self.mode_error}.")
        if self.chosen is None:
            iso, why = choose(self.mode, self.limits)
            if iso is None:
                raise ToolError(f"Code was not run: {why}.")
            self.chosen = iso
        return self.chosen
