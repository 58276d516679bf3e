"""Vetting: start a new or changed external server in quarantine, list its tools, check every definition, report.

A stdio server runs under bubblewrap (agents/hub/quarantine.py); a URL server is reached without any credentials
(no headers from mcp.json, no OAuth tokens). Either way the report holds what the user needs to decide: the
server's name and version, every tool with its schema, annotations and digest, the findings of the strict checks
and of the poisoning heuristics, what the quarantine showed the server, its stderr, and why it failed if it did.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents.errors import ToolFailed
from agents.hub.config import ServerConfig
from agents.hub.connection import ServerConnection, Services
from agents.hub.pins import definition, digest
from agents.hub.quarantine import quarantine
from agents.hub.toolcheck import check_tools

VET_TIMEOUT_S = 60.0


@dataclass
class Report:
    """What vetting found (stored as JSON in the server's pins file, shown by the CLI and the MCP tab)."""

    server: str
    transport: str
    config_digest: str
    vetted_at: float
    duration_s: float
    ok: bool
    error: str | None = None
    needs_login: bool = False
    server_info: dict[str, Any] = field(default_factory=dict)
    tools: list[dict[str, Any]] = field(default_factory=list)  # {"name", "sha256", "definition"}
    findings: list[dict[str, Any]] = field(default_factory=list)  # toolcheck.Finding as dicts
    quarantine: dict[str, Any] = field(default_factory=dict)  # network, visible, hidden, note
    stderr_tail: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f["severity"] == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f["severity"] == "warning")


async def vet(config: ServerConfig, home: Path, *, timeout_s: float = VET_TIMEOUT_S) -> Report:
    """Start the server in quarantine for initialize and tools/list, check what it declares, stop it."""
    started = time.perf_counter()
    report = Report(config.name, config.transport, config.digest(), time.time(), 0.0, ok=False)
    if config.command is not None:
        try:
            plan = quarantine(config, home, network=config.vet_network)
        except ToolFailed as exc:
            report.error = str(exc)
            report.duration_s = time.perf_counter() - started
            return report
        report.quarantine = {"network": config.vet_network, "visible": plan.visible, "hidden": plan.hidden,
                             "note": plan.note}
        quarantined = plan.config
    else:
        quarantined = config.model_copy(update={"headers": {}, "oauth": None})
        report.quarantine = {"credentials": False}
    conn = ServerConnection(quarantined, startup_timeout_s=timeout_s, ping_timeout_s=3.0, services=Services())
    try:
        await conn.start()
        report.ok = conn.state == "ready"
        report.error = conn.error if not report.ok else None
        report.needs_login = conn.needs_login
        if conn.server_info is not None:
            report.server_info = conn.server_info.model_dump(mode="json", exclude_none=True)
        report.stderr_tail = list(conn.stderr)[-20:]
        tools = list(conn.tools)
    finally:
        conn.kill()  # a quarantined start is thrown away: no grace period to wait out
        await conn.aclose(5.0)
    for tool in tools:
        defn = definition(tool)
        report.tools.append({"name": tool.name, "sha256": digest(defn), "definition": defn})
    report.findings = [asdict(f) for f in check_tools(tools)]
    report.duration_s = time.perf_counter() - started
    return report
