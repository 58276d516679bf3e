"""Sidebar panels (keys, tools, provider picker) and the server's port/browser choices, without a browser."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agents.hub.hub import ServerStatus
from agents.models.providers import key_env_names
from agents.models.secrets import key_status
from app.config import load_settings
from app.server import display_available, find_free_port
from app.ui.sidebar import (AUTO, base_url_for, keys_html, model_choices, model_picker, provider_choices, tools_html,
                             wants_base_url)


def test_key_panel_shows_names_never_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-very-secret-value")
    page = keys_html(key_status(key_env_names(), tmp_path))
    assert "gsk-very-secret-value" not in page
    assert '<li class="ok"><span class="mark">✓</span><code>GROQ_API_KEY</code></li>' in page
    assert '<li class="missing"><span class="mark">✗</span><code>MOONSHOT_API_KEY</code></li>' in page


def test_tools_panel_lists_servers_and_config_errors() -> None:
    servers = [
        ServerStatus("workspace", "stdio", "ready", 6, None),
        ServerStatus("files", "stdio", "error", 0, "exited during start-up: <npx> not found " + "x" * 400),
    ]
    page = tools_html(servers, ["mcp.json: invalid JSON at line 4, column 7: Expecting ','"])
    assert '<span class="dot ok"></span><b>workspace</b>' in page and "stdio · ready · 6 tools" in page
    assert '<span class="dot bad"></span><b>files</b>' in page and "0 tools" in page
    assert "&lt;npx&gt; not found" in page and "x" * 300 not in page  # escaped, and clipped
    assert "invalid JSON at line 4, column 7" in page


def test_provider_picker_offers_every_preset_and_marks_local_unavailable() -> None:
    choices = dict((value, label) for label, value in provider_choices())
    assert set(choices) == {AUTO, "groq", "moonshot", "vllm", "openai-compatible", "local"}
    assert choices["local"] == "Local: Qwen2.5-Coder-0.5B (small, offline) (not installed)"
    assert wants_base_url("vllm") and wants_base_url("openai-compatible")
    assert wants_base_url("moonshot")  # api.moonshot.cn for mainland China accounts
    assert not wants_base_url("groq") and not wants_base_url(AUTO)
    assert model_choices("moonshot")[0] == "kimi-k2-0905-preview" and "kimi-k2-thinking" in model_choices("moonshot")
    assert model_choices(AUTO) == []


def test_the_model_picker_follows_its_provider_and_keeps_a_model_it_does_not_list() -> None:
    groq = model_picker("groq")
    assert groq["choices"] == model_choices("groq") and groq["value"] == model_choices("groq")[0]
    assert groq["interactive"] is True
    kept = model_picker("groq", "my-fine-tune")  # a conversation's model, typed by hand once
    assert kept["choices"][0] == "my-fine-tune" and kept["value"] == "my-fine-tune"
    assert kept["choices"][1:] == model_choices("groq")
    assert model_picker(AUTO)["interactive"] is False  # Auto picks the model itself


def test_base_url_box_belongs_to_the_configured_provider(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, provider="openai-compatible", base_url="http://10.0.0.5:8000/v1")
    assert base_url_for("openai-compatible", settings) == {
        "value": "http://10.0.0.5:8000/v1", "placeholder": "http://localhost:8000/v1", "visible": True}
    # Switching to Moonshot must not carry the self-hosted URL along.
    assert base_url_for("moonshot", settings) == {"value": "", "placeholder": "https://api.moonshot.ai/v1", "visible": True}
    assert base_url_for("groq", settings)["visible"] is False


def test_find_free_port_steps_over_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert find_free_port("127.0.0.1", port, tries=20) != port


def test_browser_opens_only_with_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not display_available()
    monkeypatch.setenv("DISPLAY", ":0")
    assert display_available()


def test_tools_panel_says_why_the_agent_did_not_start() -> None:
    page = tools_html([], [], startup_error="database is locked")
    assert "<b>Agent not started</b><ul><li>database is locked</li></ul>" in page
