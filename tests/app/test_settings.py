"""One settings reader per process kind: the app's Settings and the servers' ServerSettings read the environment,
then $K2HUB_HOME/.env, then the defaults; the hub hands the built-in servers what the app read."""

from __future__ import annotations

import logging
import resource
from pathlib import Path

import pytest

from agents.hub.hub import Hub
from app.config import Settings, load_settings
from app.services import open_agent
from mcp_servers.common.settings import ServerSettings
from tests.mcp_servers.sandbox_support import requires_sandbox


def write_env(home: Path, text: str, mode: int = 0o600) -> None:
    (home / ".env").write_text(text)
    (home / ".env").chmod(mode)


def test_explicit_then_environment_then_dotenv_then_default(_isolated_home: Path, monkeypatch: pytest.MonkeyPatch):
    write_env(_isolated_home, "K2HUB_MAX_STEPS=12\nK2HUB_PORT=7000\nK2HUB_SANDBOX_MEMORY_MB=777\n")
    monkeypatch.setenv("K2HUB_PORT", "7100")
    settings = load_settings(max_steps=None, host="0.0.0.0")
    assert (settings.max_steps, settings.port, settings.host) == (12, 7100, "0.0.0.0")
    assert settings.sandbox_memory_mb == 777 and settings.tool_timeout_s == 120.0  # a server setting, and a default
    assert load_settings(port=7200).port == 7200
    # The built-in servers' own reader agrees, with or without an explicit environment.
    assert ServerSettings.load().sandbox_memory_mb == 777
    assert ServerSettings.load({"K2HUB_HOME": str(_isolated_home), "K2HUB_SANDBOX_MEMORY_MB": "512"}).sandbox_memory_mb == 512
    assert settings.server_env()["K2HUB_SANDBOX_MEMORY_MB"] == "777"


def test_a_dotenv_others_can_read_is_ignored_and_says_how_to_fix_it(
    _isolated_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_env(_isolated_home, "K2HUB_MAX_STEPS=12\n", mode=0o644)
    with caplog.at_level(logging.WARNING):
        assert load_settings().max_steps == Settings.model_fields["max_steps"].default
    assert f"chmod 600 {_isolated_home / '.env'}" in caplog.text


def test_a_bad_value_names_the_variable(_isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K2HUB_TOOL_TIMEOUT_S", "soon")
    with pytest.raises(ValueError, match="K2HUB_TOOL_TIMEOUT_S='soon'"):
        ServerSettings.load()


@requires_sandbox
async def test_a_setting_only_in_dotenv_reaches_the_sandbox_limits(_isolated_home: Path) -> None:
    """The app's settings are handed to the built-in servers: a memory limit and a tool timeout written only in
    $K2HUB_HOME/.env become the sandbox's rlimit and its timeout cap."""
    write_env(_isolated_home, "K2HUB_SANDBOX_MEMORY_MB=777\nK2HUB_TOOL_TIMEOUT_S=50\nK2HUB_BUILTIN_SERVERS=sandbox\n")
    agent = await open_agent(load_settings())
    try:
        assert isinstance(agent.hub, Hub) and [s.name for s in agent.hub.status()] == ["sandbox"]
        code = "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0])"
        result = await agent.hub.call("sandbox__run_python", {"code": code, "timeout_s": 100},
                                      meta={"k2hub/conversation": "settings-1"})
    finally:
        await agent.aclose()
    assert not result.is_error, result.text
    assert str(777 * 1024 * 1024) in result.text and resource.RLIM_INFINITY != 777 * 1024 * 1024
    assert "timeout lowered from 100 s to 47 s" in result.text  # 50 s of the hub's timeout, minus its margin
