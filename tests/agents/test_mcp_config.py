"""mcp.json parsing: valid files, malformed JSON, invalid entries, missing file; built-in server configs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agents.hub.config import BUILTIN_SERVERS, ServerConfig, builtin_servers, load_mcp_json


def write(tmp_path: Path, data: object | str) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    return path


def test_valid_file_gives_stdio_and_http_servers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "mcpServers": {
                "fs": {"command": "npx", "args": ["-y", "pkg", "/data"], "env": {"DEBUG": "1"}},
                "remote-1": {"url": "https://example.org/mcp", "headers": {"Authorization": "Bearer t"}},
                "off": {"command": "x", "disabled": True},
            }
        },
    )
    configs, errors = load_mcp_json(path)
    assert errors == []
    by_name = {c.name: c for c in configs}
    assert by_name["fs"].transport == "stdio"
    assert by_name["fs"].args == ["-y", "pkg", "/data"] and by_name["fs"].env == {"DEBUG": "1"}
    assert by_name["remote-1"].transport == "http"
    assert by_name["remote-1"].headers == {"Authorization": "Bearer t"}
    assert by_name["off"].enabled is False
    assert not any(c.builtin for c in configs)


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "mcpServers": {\n    "fs": {"command": "npx",}\n  }\n}\n')
    configs, errors = load_mcp_json(path)
    assert configs == []
    assert len(errors) == 1
    assert "line 3" in errors[0] and "column" in errors[0] and str(path) in errors[0]


def test_invalid_entries_are_reported_and_valid_ones_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "mcpServers": {
                "good": {"command": "python3"},
                "neither": {"args": ["x"]},
                "both": {"command": "a", "url": "http://127.0.0.1:1/mcp"},
                "badargs": {"command": "a", "args": "not-a-list"},
                "bad name!": {"command": "a"},
                "notobject": ["command"],
                "badurl": {"url": "ftp://x"},
            }
        },
    )
    configs, errors = load_mcp_json(path)
    assert [c.name for c in configs] == ["good"]
    text = "\n".join(errors)
    assert len(errors) == 6, text
    assert "'neither'" in text and "either 'command'" in text
    assert "'both'" in text and "choose one" in text
    assert "'badargs'" in text and "args" in text
    assert "'bad name!'" in text and "A-Z a-z 0-9" in text
    assert "'notobject'" in text and "must be an object" in text
    assert "'badurl'" in text and "http://" in text


def test_wrong_top_level_shapes(tmp_path: Path) -> None:
    errors = load_mcp_json(write(tmp_path, "[1, 2]"))[1]
    assert errors[0].endswith("top level must be an object with an 'mcpServers' key")
    configs, errors = load_mcp_json(write(tmp_path, {"mcpServers": ["a"]}))
    assert configs == [] and "'mcpServers' must be an object" in errors[0]


def test_missing_or_empty_file_means_no_servers_and_no_error(tmp_path: Path) -> None:
    assert load_mcp_json(tmp_path / "absent.json") == ([], [])
    assert load_mcp_json(write(tmp_path, "  \n")) == ([], [])


def test_builtin_servers_run_with_this_interpreter_and_pass_only_needed_env() -> None:
    env = {"PATH": "/usr/bin", "HOME": "/h", "K2HUB_HOME": "/data", "K2HUB_WORKSPACE_ROOT": "/ws", "GROQ_API_KEY": "k",
           "K2HUB_API_KEY": "k2"}
    servers = builtin_servers(env)
    assert [s.name for s in servers] == [name for name, _ in BUILTIN_SERVERS]
    workspace = servers[0]
    assert workspace.builtin and workspace.command == sys.executable
    assert workspace.args == ["-m", "mcp_servers.workspace"]
    assert workspace.env["K2HUB_HOME"] == "/data" and workspace.env["K2HUB_WORKSPACE_ROOT"] == "/ws"
    assert workspace.env["PATH"] == "/usr/bin"
    assert "GROQ_API_KEY" not in workspace.env and "K2HUB_API_KEY" not in workspace.env  # keys never reach tools
    assert Path(workspace.env["PYTHONPATH"].split(":")[0], "agents").is_dir()


def test_server_config_rejects_what_load_reports() -> None:
    assert ServerConfig(name="ok_1", url="http://127.0.0.1:8000/mcp").transport == "http"
    for bad in ({"name": "x" * 49, "command": "a"}, {"name": "a.b", "command": "a"}, {"name": "e", "command": " "}):
        try:
            ServerConfig(**bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")


def test_builtin_servers_can_be_narrowed_and_unknown_names_are_refused() -> None:
    from app.services import split_names

    assert [s.name for s in builtin_servers({}, split_names(" sandbox, workspace "))] == ["workspace", "sandbox"]
    assert [s.name for s in builtin_servers({}, split_names(""))] == [name for name, _ in BUILTIN_SERVERS]
    with pytest.raises(ValueError, match="unknown built-in server.*browsr.*choose from workspace"):
        builtin_servers({}, ["browsr"])
