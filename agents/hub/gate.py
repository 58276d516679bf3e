"""The hub's consent gate for external servers: an entry starts only once the user enabled it as it is now, and
only tools whose definitions match their pins reach the model. Built-in servers pass untouched."""

from __future__ import annotations

import mcp_types as types

from agents.hub.config import ServerConfig
from agents.hub.pins import Held, PinStore
from agents.hub.toolcheck import check_tools, refused


class Gate:
    """Applies the pins in $K2HUB_HOME/mcp/ (no store: everything passes, as for hubs built in tests)."""

    def __init__(self, pins: PinStore | None) -> None:
        self.pins = pins

    def guards(self, config: ServerConfig) -> bool:
        return self.pins is not None and not config.builtin

    def blocks(self, config: ServerConfig) -> str | None:
        """Why this server must not start now, or None."""
        if not config.enabled:
            return "disabled in mcp.json: enable it in the MCP tab or with `python run.py mcp enable " + config.name + "`"
        if not self.guards(config):
            return None
        assert self.pins is not None
        record = self.pins.get(config.name)
        if record.approves(config):
            return None
        what = "its mcp.json entry changed since you enabled it" if record.config_digest else "it is new"
        return (f"not started: {what}. Review its vetting report and enable it in the MCP tab or with "
                f"`python run.py mcp enable {config.name}`")

    def offered(self, config: ServerConfig, tools: list[types.Tool]) -> tuple[list[types.Tool], dict[str, Held]]:
        """The tools the model may use, and the ones held for review (new, changed, or refused by the checks)."""
        if not self.guards(config):
            return tools, {}
        assert self.pins is not None
        return self.pins.check(config.name, tools, refused(check_tools(tools)))

    def note(self, config: ServerConfig, error: str | None, stderr: list[str]) -> None:
        if self.guards(config):
            assert self.pins is not None
            self.pins.note(config.name, error, stderr)
