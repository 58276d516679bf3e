"""The app's hub: built-in servers plus mcp.json's, behind the consent gate, following changes made meanwhile."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from agents.hub.config import ServerConfig, load_mcp_json
from agents.hub.connection import Services
from agents.hub.hub import Hub
from agents.hub.pins import STATE_DIR, PinStore


def app_hub(home: Path, builtins: Sequence[ServerConfig], *, tool_timeout_s: float,
            workspace_root: Path | None = None) -> Hub:
    """Built-ins start at once; mcp.json servers only as the user enabled them (agents/hub/gate.py)."""
    servers, errors = load_mcp_json(home / "mcp.json")
    root = workspace_root or Path(os.environ.get("K2HUB_WORKSPACE_ROOT") or home / "workspaces")
    return Hub([*builtins, *servers], default_timeout_s=tool_timeout_s, config_errors=errors,
               services=Services(home=home, workspace_root=root), pins=PinStore(home))


class ConfigWatch:
    """Notices edits of mcp.json and of the consent files (CLI `mcp ...` while the app runs) and applies them."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int]:
        def mtime(path: Path) -> int:
            try:
                return path.stat().st_mtime_ns
            except OSError:
                return 0

        # Every write to a consent file is a rename into mcp/, which changes the folder's mtime.
        return mtime(self.home / "mcp.json"), mtime(self.home / STATE_DIR)

    async def sync(self, hub: Hub, *, force: bool = False) -> bool:
        """Refresh the hub's external servers if anything changed since last time; True when it did."""
        stamp = self._stamp()
        if stamp == self._seen and not force:
            return False
        self._seen = stamp
        servers, errors = load_mcp_json(self.home / "mcp.json")
        await hub.refresh(servers, errors)
        self._seen = self._stamp()  # the refresh itself may record held tools
        return True
