"""Consent and pins for external servers: which mcp.json entry the user enabled, and each tool's pinned definition.

One JSON file per server in `$K2HUB_HOME/mcp/<name>.json` (beside mcp.json, which holds the entries themselves;
tokens are elsewhere, in oauth/). It records the sha256 of the entry the user enabled (command, args, env, URL,
headers, OAuth settings: a different entry needs consent again), the pinned definition and hash of every tool the
user accepted, the tools held back because they are new or changed (with the definition seen, for a diff), the
last vetting report, and the last failure. A tool is offered to the model only while its definition hashes to its
pin; anything else waits for the user to review it (`mcp enable NAME` or the MCP tab).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mcp_types as types

from agents.hub.config import SERVER_NAME_RE, ServerConfig

STATE_DIR = "mcp"
DEFINITION_KEYS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")


def definition(tool: types.Tool) -> dict[str, Any]:
    """What is pinned of a tool: everything the model reads or the hub believes (not `_meta` or icons)."""
    raw = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {k: raw[k] for k in DEFINITION_KEYS if k in raw}


def digest(defn: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(defn, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def diff(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """A unified diff of two definitions as pretty JSON (all lines added for a new tool)."""
    before = json.dumps(old, indent=2, sort_keys=True, ensure_ascii=False).splitlines() if old else []
    after = json.dumps(new, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    return "\n".join(difflib.unified_diff(before, after, "pinned", "now", lineterm="", n=2))


@dataclass
class Held:
    """A tool not offered to the model until the user reviews it."""

    reason: str  # "new" or "changed"
    definition: dict[str, Any]
    seen_at: float


@dataclass
class Record:
    """The consent state of one external server."""

    name: str
    config_digest: str = ""  # the entry the user enabled; "" before the user ever did
    enabled_at: float | None = None
    pin_on_first_listing: bool = False  # enabled before its tools could be listed (e.g. a login was needed)
    pins: dict[str, dict[str, Any]] = field(default_factory=dict)  # tool -> {"sha256", "definition", "pinned_at"}
    held: dict[str, Held] = field(default_factory=dict)
    report: dict[str, Any] | None = None  # the last vetting report (agents.hub.vetting.Report as JSON)
    last_error: str | None = None
    stderr_tail: list[str] = field(default_factory=list)

    def approves(self, config: ServerConfig) -> bool:
        return bool(self.config_digest) and self.config_digest == config.digest()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        held = {k: Held(**v) for k, v in (data.get("held") or {}).items()}
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "held"}
        return cls(**known, held=held)


class PinStore:
    """Reads and writes the per-server files; every write is atomic (a crash leaves the old file)."""

    def __init__(self, home: Path) -> None:
        self.dir = home / STATE_DIR

    def path(self, name: str) -> Path:
        if not SERVER_NAME_RE.match(name):
            raise ValueError(f"invalid server name {name!r}")
        return self.dir / f"{name}.json"

    def get(self, name: str) -> Record:
        try:
            data = json.loads(self.path(name).read_text(encoding="utf-8"))
            return Record.from_json(data) if isinstance(data, dict) else Record(name)
        except (OSError, ValueError, TypeError):
            return Record(name)

    def save(self, record: Record) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.path(record.name)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(record), indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    def forget(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def approve(self, config: ServerConfig, tools: list[types.Tool] | None) -> Record:
        """The user enabled this entry: pin these tools (None: pin the first list seen with credentials)."""
        record = self.get(config.name)
        record.config_digest = config.digest()
        record.enabled_at = time.time()
        record.pin_on_first_listing = tools is None
        record.pins = {}
        record.held = {}
        for tool in tools or []:
            record.pins[tool.name] = _pin(definition(tool))
        self.save(record)
        return record

    def accept(self, name: str, tools: list[str] | None = None) -> Record:
        """Pin the held definitions (all, or the named tools) the user reviewed."""
        record = self.get(name)
        for tool, held in list(record.held.items()):
            if (tools is None or tool in tools) and not held.reason.startswith("refused"):
                record.pins[tool] = _pin(record.held.pop(tool).definition)
        self.save(record)
        return record

    def check(self, name: str, tools: list[types.Tool], refused: dict[str, str] | None = None) -> tuple[
            list[types.Tool], dict[str, Held]]:
        """Split a listing into tools matching their pins and tools held for review; records what changed.

        `refused`: tools that fail the strict checks (agents.hub.toolcheck), held whatever their pin says."""
        refused = refused or {}
        record = self.get(name)
        first = record.pin_on_first_listing
        offered: list[types.Tool] = []
        held: dict[str, Held] = {}
        for tool in tools:
            defn = definition(tool)
            pin = record.pins.get(tool.name)
            if first and tool.name not in refused:
                record.pins[tool.name] = pin = _pin(defn)
            if tool.name not in refused and pin is not None and pin["sha256"] == digest(defn):
                offered.append(tool)
                continue
            reason = f"refused: {refused[tool.name]}" if tool.name in refused else "changed" if pin else "new"
            before = record.held.get(tool.name)
            same = before is not None and before.reason == reason and digest(before.definition) == digest(defn)
            held[tool.name] = before if same and before else Held(reason, defn, time.time())
        if first or held != record.held:
            record.pin_on_first_listing = False if first else record.pin_on_first_listing
            record.held = held
            self.save(record)
        return offered, held

    def note(self, name: str, error: str | None, stderr: list[str]) -> None:
        """Remember a server's last failure (the CLI's `mcp list` shows it without starting anything)."""
        record = self.get(name)
        if record.last_error != error or (error and record.stderr_tail != stderr[-20:]):
            record.last_error, record.stderr_tail = error, stderr[-20:] if error else []
            self.save(record)


def _pin(defn: dict[str, Any]) -> dict[str, Any]:
    return {"sha256": digest(defn), "definition": defn, "pinned_at": time.time()}
