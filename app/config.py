"""The app's one settings reader: every K2HUB_* variable, its default and a help line; the README table is checked
against it (tests/app/test_readme.py).

Order: explicit values (CLI flags), then the environment, then $K2HUB_HOME/.env, then the defaults. The built-in
servers' part is `ServerSettings` (mcp_servers/common/settings.py), which this class extends: its defaults are
written there once, and the hub hands the servers `server_env()`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from mcp_servers.common.settings import ServerSettings, dotenv_values, env_names
from storage.paths import data_home


class Settings(BaseSettings, ServerSettings):
    """K2 Agent Hub settings, read from K2HUB_* environment variables and $K2HUB_HOME/.env."""

    model_config = SettingsConfigDict(env_prefix="K2HUB_", extra="ignore", populate_by_name=True)

    provider: str = Field("", description="Provider preset: groq, moonshot, vllm, openai-compatible, local. Empty: first with a key.")
    model: str = Field("", description="Model id; empty: the preset's default model.")
    base_url: str = Field("", description="API base URL for vllm / openai-compatible (e.g. http://localhost:8000/v1).")
    api_key: str = Field("", description="Key for the openai-compatible provider (optional).", repr=False)
    fallbacks: str = Field("", description="Comma-separated presets tried in order when the primary fails (e.g. moonshot,groq).")
    max_steps: int = Field(300, description="Budget: tool calls per run; then one last model call, without tools, "
                           "for the answer.")
    max_tokens: int = Field(50_000_000, description="Budget: billed tokens per run (uncached prompt + completion + "
                            "cached prompt at the provider's cache discount).")
    max_cost_usd: float = Field(20.0, description="Budget: dollars per run (the real guard; shown under the chat).")
    max_wall_s: float = Field(14_400.0, description="Budget: wall-clock seconds per run.")
    context_window: int = Field(0, description="Tokens the primary model accepts (e.g. vLLM's --max-model-len); 0: "
                                "the preset's figure.")
    host: str = Field("127.0.0.1", description="Host the UI binds to; beyond loopback only with K2HUB_AUTH set.")
    allowed_hosts: str = Field("", description="Comma-separated Host names the UI answers besides 127.0.0.1, "
                               "localhost and [::1] (and the address it binds), e.g. my-laptop.lan; other Host headers "
                               "get 421 (DNS rebinding).")
    auth: str = Field("", repr=False, description="UI authentication: `user:password` (a login form) or `token` (a "
                      "random token per start, printed with the URL, kept as an HttpOnly cookie); required to bind "
                      "beyond loopback.")
    port: int = Field(7860, description="Port the UI listens on (the next free one if taken).")
    open_browser: bool = Field(True, description="Open the browser on start when a display is available.")
    subagent_concurrency: int = Field(4, description="Sub-agents running at once: multi-report analysis, and an agents__spawn call that gives no concurrency.")
    subagent_max_steps: int = Field(40, description="Budget of each sub-agent: tool calls.")
    subagent_max_tokens: int = Field(600_000, description="Budget of each sub-agent: billed tokens.")
    subagent_max_cost_usd: float = Field(1.0, description="Budget of each sub-agent: dollars.")
    builtin_servers: str = Field("", description="Comma-separated built-in MCP servers to start (workspace, sandbox, "
                                 "pdf_reader, browser, skills_hub, analysis, cobol); empty: all of them.")
    redact: Literal["on", "off", "auto"] = Field(
        "auto", description="Replace personal data and secrets by placeholders before a request leaves: on, off, or "
        "auto (on for remote providers, off for the embedded local model and a vLLM on localhost).")
    redact_kinds: str = Field("", description="Comma-separated kinds to replace (EMAIL, PHONE, CARD, IBAN, SSN, NIR, "
                              "PERSON, ADDRESS, SECRET, PASSWORD, PRIVATE_KEY, IP); empty: all but IP.")
    local: bool = Field(True, description="Install the embedded local model in the background (UI) and use it when no "
                        "key is set; false is the same as --no-local.")
    # Read where they are used (agents/models), through the same environment-then-.env lookup; their defaults live
    # there, once: listed here so that every variable is documented in one place.
    prices: str = Field("", description="JSON price overrides, USD per million tokens: {\"model-id\": [input, "
                        "cached_input, output]} (agents/models/providers.py).")
    model_worker: bool = Field(True, description="Sub-agents' whole model answers go through litellm in a second "
                               "process (agents/models/call_worker.py); false keeps every call in the app's process.")
    models_dir: Path | None = Field(None, description="Where the local model's weights are assembled; empty: "
                                    "$K2HUB_HOME/models (agents/models/local/weights.py).")
    local_model: Path | None = Field(None, description="Any GGUF file to use as the local model instead of the "
                                     "pinned one (agents/models/local/weights.py).")
    local_context: int | None = Field(None, description="Context window of the local model in tokens; empty: 8192 "
                                      "(agents/models/local/runtime.py).")
    venv: Path | None = Field(None, description="Where run.py builds its virtual environment; empty: ./.venv (read "
                              "by run.py itself, before any dependency is installed).")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values, then the environment, then the data home's .env (the shared reader), then defaults."""
        given = getattr(init_settings, "init_kwargs", {}).get("home")
        raw = os.environ.get("K2HUB_HOME", "").strip()
        home = Path(given).expanduser() if given else Path(raw).expanduser() if raw else data_home()
        return init_settings, env_settings, DataHomeEnvFile(settings_cls, home)

    @field_validator("redact_kinds")
    @classmethod
    def _known_kinds(cls, value: str) -> str:
        from agents.privacy.kinds import parse_kinds

        parse_kinds(value)  # raises with the list of known kinds
        return value

    @property
    def mcp_json(self) -> Path:
        """Claude-Desktop-style file listing external MCP servers."""
        return self.home / "mcp.json"


class DataHomeEnvFile(PydanticBaseSettingsSource):
    """Values from $K2HUB_HOME/.env, read by storage/env_file.py (refused when other users can read it)."""

    def __init__(self, settings_cls: type[BaseSettings], home: Path) -> None:
        super().__init__(settings_cls)
        found = dotenv_values(home)
        self.values = {name: found[var] for name, var in env_names(settings_cls).items() if found.get(var, "") != ""}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and $K2HUB_HOME/.env, with explicit overrides (CLI flags) on top."""
    given = {k: v for k, v in overrides.items() if v not in (None, "")}
    return Settings(**given)  # type: ignore[arg-type]
