"""Edits to $K2HUB_HOME/mcp.json made for the user (add, remove, disable, trust), keeping everything else in it.

The file stays in Claude Desktop's format (`{"mcpServers": {name: entry}}`, `"disabled": true` to switch one off),
so it can be shared with other MCP clients. Writes are atomic; a file we cannot parse is never overwritten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agents.errors import ConfigError
from agents.hub.config import SERVER_NAME_RE, BUILTIN_SERVERS, ServerConfig, parse_mcp_servers


def read(path: Path) -> dict[str, Any]:
    """The decoded file ({} when absent); ConfigError when it is not valid JSON (the user must fix it by hand)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); fix it "
                          "by hand before changing servers") from None
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers", {}), dict):
        raise ConfigError(f"{path} must be an object with an 'mcpServers' object")
    return data


def write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def add(path: Path, name: str, entry: dict[str, Any]) -> ServerConfig:
    """Add a new server entry; ConfigError for a bad name, a taken one, or an entry the loader would refuse."""
    if not SERVER_NAME_RE.match(name):
        raise ConfigError(f"server name {name!r}: use 1-48 characters from A-Z a-z 0-9 _ - (it prefixes tool names)")
    if name in {n for n, _ in BUILTIN_SERVERS}:
        raise ConfigError(f"{name!r} is the name of a built-in server; choose another")
    data = read(path)
    servers = data.setdefault("mcpServers", {})
    if name in servers:
        raise ConfigError(f"a server named {name!r} is already in {path}; remove it first or choose another name")
    configs, errors = parse_mcp_servers({"mcpServers": {name: entry}}, source=str(path))
    if errors or not configs:
        raise ConfigError("; ".join(errors) or f"the entry for {name!r} is not valid")
    servers[name] = entry
    write(path, data)
    return configs[0]


def update(path: Path, name: str, **changes: Any) -> dict[str, Any]:
    """Set (value) or drop (None) keys of one entry; the entry as written."""
    data = read(path)
    entry = data.get("mcpServers", {}).get(name)
    if not isinstance(entry, dict):
        raise ConfigError(f"no server named {name!r} in {path}")
    for key, value in changes.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    write(path, data)
    return entry


def remove(path: Path, name: str) -> bool:
    """Delete an entry; False when there was none."""
    data = read(path)
    if name not in data.get("mcpServers", {}):
        return False
    del data["mcpServers"][name]
    write(path, data)
    return True
