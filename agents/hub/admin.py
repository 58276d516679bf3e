"""What the user does to external servers; the CLI's `mcp ...` verbs and the MCP tab both call these.

add (an mcp.json entry, not started) → vet (quarantined first start, report) → enable (consent to this entry and
pins of the tools the report listed) → later starts offer only tools still matching their pins; a held tool is
reviewed with `tools` (diff) and accepted with enable. login does OAuth in the user's browser; disable, remove and
trust edit the entry. Nothing here needs the running app: a hub that runs picks the changes up (Agent.sync_servers).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


import mcp_types as types

from agents.errors import ConfigError, ToolFailed
from agents.hub import mcp_file
from agents.hub.config import ServerConfig, load_mcp_json
from agents.hub.connection import ServerConnection, Services
from agents.hub.loopback import open_loopback
from agents.hub.oauth import Consent, TokenFile, token_path
from agents.hub.pins import PinStore, Record, definition, diff, digest
from agents.hub.toolcheck import check_tools
from agents.hub.vetting import Report, vet

LOGIN_TIMEOUT_S = 330.0  # the loopback waits 300 s for the browser; discovery and registration come on top


def mcp_json(home: Path) -> Path:
    return home / "mcp.json"


def external(home: Path) -> tuple[list[ServerConfig], list[str]]:
    """The servers of mcp.json and its errors."""
    return load_mcp_json(mcp_json(home))


def find(home: Path, name: str) -> ServerConfig:
    configs, _ = external(home)
    for config in configs:
        if config.name == name:
            return config
    known = ", ".join(c.name for c in configs) or "none"
    raise ConfigError(f"no server named {name!r} in {mcp_json(home)} (servers there: {known})")


def add(home: Path, name: str, *, command: str | None = None, args: Sequence[str] = (), url: str | None = None,
        env: dict[str, str] | None = None, network: bool = False, trusted: bool = False) -> ServerConfig:
    """Write a new entry; it does not start until the user enables it."""
    if (command is None) == (url is None):
        raise ConfigError("give either a command (mcp add NAME -- COMMAND ARGS…) or a URL (mcp add NAME --url URL)")
    entry: dict[str, Any] = {"command": command, "args": list(args)} if command is not None else {"url": url}
    if env:
        entry["env"] = dict(env)
    if network:
        entry["vet_network"] = True
    if trusted:
        entry["trusted"] = True
    return mcp_file.add(mcp_json(home), name, entry)


async def vet_server(home: Path, name: str) -> Report:
    """Vet the entry as it is now and keep the report beside its pins."""
    config = find(home, name)
    report = await vet(config, home)
    _keep_report(home, name, report)
    return report


def _keep_report(home: Path, name: str, report: Report) -> None:
    store = PinStore(home)
    record = store.get(name)
    record.report = report.to_json()
    store.save(record)


def current_report(record: Record, config: ServerConfig) -> dict[str, Any] | None:
    """The stored report if it was made for this very entry."""
    report = record.report
    return report if report and report.get("config_digest") == config.digest() else None


async def enable(home: Path, name: str, tools: list[str] | None = None) -> Record:
    """Consent: to a new or changed entry (vetting it first if needed), or to its held tools (all or `tools`)."""
    config = find(home, name)
    store = PinStore(home)
    if not config.enabled:
        mcp_file.update(mcp_json(home), name, disabled=None, enabled=None)
        config = find(home, name)
    record = store.get(name)
    if record.approves(config):
        return store.accept(name, tools)
    report = current_report(record, config)
    if report is None:
        report = (await vet_server(home, name)).to_json()
    if report["ok"]:
        bad = {f["tool"] for f in report["findings"] if f["severity"] == "error"}
        listed = [types.Tool.model_validate(t["definition"]) for t in report["tools"] if t["name"] not in bad]
        return store.approve(config, listed)
    # Its tools could not be listed in quarantine (a login is needed, it needs the network…): the first listing
    # with credentials is pinned, and checked like any other.
    return store.approve(config, None)


def disable(home: Path, name: str) -> None:
    find(home, name)
    mcp_file.update(mcp_json(home), name, disabled=True, enabled=None)


def trust(home: Path, name: str, trusted: bool) -> None:
    """Trusted: its results are not untrusted content, and its annotations (read-only…) are believed."""
    find(home, name)
    mcp_file.update(mcp_json(home), name, trusted=True if trusted else None)


def remove(home: Path, name: str) -> None:
    """Delete the entry, its pins and report, and its OAuth tokens."""
    if not mcp_file.remove(mcp_json(home), name):
        raise ConfigError(f"no server named {name!r} in {mcp_json(home)}")
    PinStore(home).forget(name)
    TokenFile(token_path(home, name)).clear()


@dataclass
class LoginResult:
    tools: list[types.Tool]
    notes: list[str]  # e.g. malformed metadata the SDK stepped around


async def login(config: ServerConfig, home: Path, open_url: Callable[[str], Awaitable[None]],
                timeout_s: float = LOGIN_TIMEOUT_S) -> LoginResult:
    """Log in to a URL server (OAuth authorization code with PKCE, in the user's browser); its tools on success.

    `open_url` shows the user the authorization URL (opens a browser, prints it, or puts a link in the UI); the
    hub listens on 127.0.0.1 for the redirect. Tokens land in $K2HUB_HOME/oauth/<name>.json (0600). The tools
    listed with the new credentials become the entry's report (a server that needed a login could not list them
    in quarantine).
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
                notes = f" (also: {'; '.join(conn.notes)})" if conn.notes else ""
                raise ToolFailed(f"Logging in to {config.name} failed: {conn.error}{notes}")
            tools = list(conn.tools)
            info = conn.server_info
            notes = list(conn.notes)
        finally:
            await conn.aclose(5.0)
    report = Report(config.name, "http", config.digest(), time.time(), 0.0, ok=True,
                    server_info=info.model_dump(mode="json", exclude_none=True) if info else {},
                    quarantine={"credentials": True, "note": "listed after logging in"})
    report.tools = [{"name": t.name, "sha256": digest(definition(t)), "definition": definition(t)} for t in tools]
    report.findings = [f.__dict__ for f in check_tools(tools)]
    if PinStore(home).get(config.name).config_digest != config.digest():
        _keep_report(home, config.name, report)
    return LoginResult(tools, notes)


@dataclass
class Row:
    """One external server as `mcp list` and the MCP tab show it (read from files, nothing started)."""

    name: str
    transport: str
    target: str  # the command line or the URL
    status: str  # enabled, new, changed, disabled
    trusted: bool
    pinned: int
    held: dict[str, str] = field(default_factory=dict)
    login: dict[str, Any] = field(default_factory=dict)
    last_error: str | None = None
    stderr_tail: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None


def rows(home: Path) -> list[Row]:
    configs, _ = external(home)
    store = PinStore(home)
    out: list[Row] = []
    for config in configs:
        record = store.get(config.name)
        status = ("disabled" if not config.enabled else "enabled" if record.approves(config)
                  else "changed" if record.config_digest else "new")
        target = config.url or " ".join([config.command or "", *config.args])
        login = TokenFile(token_path(home, config.name)).summary() if config.url else {}
        out.append(Row(config.name, config.transport, target, status, config.trusted, len(record.pins),
                       {t: h.reason for t, h in record.held.items()}, login, record.last_error, record.stderr_tail,
                       current_report(record, config)))
    return out


@dataclass
class ToolView:
    """A tool as the user reviews it: its definition, whether it is pinned, and the change if it is held."""

    name: str
    definition: dict[str, Any]
    status: str  # pinned, new, changed, refused: …, listed (not enabled yet)
    diff: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)


def review(home: Path, name: str) -> list[ToolView]:
    """The tools to review, from the last listing the hub recorded (held ones with their diff) and the pins."""
    config = find(home, name)
    record = PinStore(home).get(name)
    views: list[ToolView] = []
    if not record.approves(config):
        report = current_report(record, config) or {"tools": [], "findings": []}
        for tool in report["tools"]:
            found = [f for f in report["findings"] if f["tool"] == tool["name"]]
            views.append(ToolView(tool["name"], tool["definition"], "listed (not enabled yet)", findings=found))
        return views
    for tool, pin in sorted(record.pins.items()):
        if tool not in record.held:
            views.append(ToolView(tool, pin["definition"], "pinned"))
    for tool, held in sorted(record.held.items()):
        old = record.pins.get(tool, {}).get("definition")
        found = [f.__dict__ for f in check_tools([types.Tool.model_validate(held.definition)])]
        views.append(ToolView(tool, held.definition, held.reason, diff(old, held.definition), found))
    return views

