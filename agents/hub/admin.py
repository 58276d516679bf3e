"""What the user does to external servers (CLI `mcp ...` verbs and the MCP tab share these): log in, vet, enable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import mcp_types as types

from agents.errors import ToolFailed
from agents.hub.config import ServerConfig
from agents.hub.connection import ServerConnection, Services
from agents.hub.loopback import open_loopback
from agents.hub.oauth import Consent, TokenFile, token_path

LOGIN_TIMEOUT_S = 330.0  # the loopback waits 300 s for the browser; discovery and registration come on top


async def login(config: ServerConfig, home: Path, open_url: Callable[[str], Awaitable[None]],
                timeout_s: float = LOGIN_TIMEOUT_S) -> list[types.Tool]:
    """Log in to a URL server (OAuth authorization code with PKCE, in the user's browser); its tools on success.

    `open_url` shows the user the authorization URL (opens a browser, prints it, or puts a link in the UI); the
    hub listens on 127.0.0.1 for the redirect. Tokens land in $K2HUB_HOME/oauth/<name>.json (0600).
    """
    if config.url is None:
        raise ToolFailed(f"Server {config.name} is a local (stdio) server: there is nothing to log in to")
    stored = TokenFile(token_path(home, config.name)).redirect_port()
    async with open_loopback(stored or 0) as loopback:
        services = Services(home=home, consent=Consent(open_url, loopback))
        conn = ServerConnection(config, startup_timeout_s=timeout_s, ping_timeout_s=3.0, services=services)
        try:
            await conn.start()
            if conn.state != "ready":
                raise ToolFailed(f"Logging in to {config.name} failed: {conn.error}")
            return list(conn.tools)
        finally:
            await conn.aclose(5.0)
