"""One Settings object: every knob has a default and a help line, and the README table is checked against it."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.paths import data_home


class Settings(BaseSettings):
    """K2 Agent Hub settings, read from K2HUB_* environment variables and $K2HUB_HOME/.env."""

    model_config = SettingsConfigDict(env_prefix="K2HUB_", extra="ignore")

    home: Path = Field(default_factory=data_home, description="Data home: database, workspaces, mcp.json, .env.")
    provider: str = Field("", description="Provider preset: groq, moonshot, vllm, openai-compatible, local. Empty: first with a key.")
    model: str = Field("", description="Model id; empty: the preset's default model.")
    base_url: str = Field("", description="API base URL for vllm / openai-compatible (e.g. http://localhost:8000/v1).")
    api_key: str = Field("", description="Key for the openai-compatible provider (optional).", repr=False)
    fallbacks: str = Field("", description="Comma-separated presets tried in order when the primary fails (e.g. moonshot,groq).")
    max_steps: int = Field(300, description="Budget: model + tool steps per run.")
    max_tokens: int = Field(2_000_000, description="Budget: prompt + completion tokens per run.")
    max_cost_usd: float = Field(5.0, description="Budget: dollars per run.")
    max_wall_s: float = Field(3600.0, description="Budget: wall-clock seconds per run.")
    tool_timeout_s: float = Field(120.0, description="Per-call timeout for MCP tools.")
    tool_result_chars: int = Field(12_000, description="Characters of a tool result the model sees; the full result is an artifact.")
    host: str = Field("127.0.0.1", description="Host the UI binds to.")
    port: int = Field(7860, description="Port the UI listens on (the next free one if taken).")
    open_browser: bool = Field(True, description="Open the browser on start when a display is available.")
    subagent_concurrency: int = Field(4, description="Multi-report analysis: sub-agents (one per report) running at once.")
    subagent_max_steps: int = Field(40, description="Budget of each sub-agent: model calls.")
    subagent_max_tokens: int = Field(600_000, description="Budget of each sub-agent: prompt + completion tokens.")
    subagent_max_cost_usd: float = Field(1.0, description="Budget of each sub-agent: dollars.")
    builtin_servers: str = Field("", description="Comma-separated built-in MCP servers to start (workspace, sandbox, "
                                 "pdf_reader, browser, skills_hub, analysis, cobol); empty: all of them.")
    local: bool = Field(True, description="Install the embedded local model in the background (UI) and use it when no "
                        "key is set; false is the same as --no-local.")

    @property
    def mcp_json(self) -> Path:
        """Claude-Desktop-style file listing external MCP servers."""
        return self.home / "mcp.json"

    @property
    def workspaces(self) -> Path:
        """Root of the per-conversation workspaces."""
        return self.home / "workspaces"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and $K2HUB_HOME/.env, with explicit overrides (CLI flags) on top."""
    home = Path(str(overrides.get("home") or data_home()))
    env_file = home / ".env"
    given = {k: v for k, v in overrides.items() if v not in (None, "")}
    return Settings(_env_file=env_file if env_file.exists() else None, **given)  # type: ignore[call-arg]
