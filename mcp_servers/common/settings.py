"""The built-in servers' settings: read once per server process, from the environment, then $K2HUB_HOME/.env.

The app's Settings (app/config.py) extends this class, so each default here is written once, and the hub starts the
built-in servers with `server_env()` of the app's Settings: a value the user put only in `.env`, or gave on the
command line, reaches the servers too. Run alone (`python -m mcp_servers.<name>`), a server reads the same places.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from storage.env_file import EnvFileRefused, read_env_file
from storage.paths import data_home

PREFIX = "K2HUB_"
log = logging.getLogger(__name__)


class ServerSettings(BaseModel):
    """What the built-in MCP servers read (K2HUB_* variables; DATABASE_URL)."""

    model_config = ConfigDict(populate_by_name=True)

    home: Path = Field(default_factory=data_home, description="Data home: database, workspaces, mcp.json, .env.")
    workspace_root: Path | None = Field(None, description="Root of the per-conversation workspaces; empty: "
                                        "$K2HUB_HOME/workspaces.")
    database_url: str = Field("", validation_alias="DATABASE_URL", description="postgresql://user:pass@host/db to "
                              "share state between app processes; empty: SQLite in the data home.")
    tool_timeout_s: float = Field(120.0, gt=0, description="Per-call timeout of MCP tools (the sandbox stops code "
                                  "a little earlier so its output still arrives).")
    tool_result_chars: int = Field(12_000, gt=0, description="Characters of a tool result the model sees; the "
                                   "full result is an artifact.")
    sandbox: str = Field("bwrap", description="bwrap, or unsafe-local to run generated code WITHOUT isolation.")
    sandbox_memory_mb: int = Field(2048, gt=0, description="Address-space limit of each sandboxed process (MB).")
    go_cache: Path | None = Field(None, description="Go build caches of the sandbox; empty: $K2HUB_HOME/cache/go.")
    browser_path: str = Field("", description="Chromium/Chrome binary the browser server drives; empty: "
                              "/usr/bin/chromium, else Playwright's Chromium.")
    browser_allow_hosts: str = Field("", description="Comma-separated local/private hosts, IPs or CIDRs (with "
                                     "optional :port) the browser may reach.")
    browser_deny_hosts: str = Field("", description="Comma-separated hosts, IPs or CIDRs the browser must never reach.")
    # PostgreSQL limits of every process that opens the database (storage.postgres.PgLimits reads them the same
    # way: environment, then .env; the defaults are written there and checked equal by tests/storage).
    db_pool_size: int = Field(5, gt=0, description="PostgreSQL: connections each pool of a process holds at most.")
    db_pool_timeout_s: float = Field(30.0, gt=0, description="PostgreSQL: wait for a free pooled connection.")
    db_lock_timeout_s: float = Field(30.0, ge=0, description="PostgreSQL: lock_timeout of every connection.")
    db_statement_timeout_s: float = Field(300.0, ge=0, description="PostgreSQL: statement_timeout of every "
                                          "connection (migrations have none).")
    db_idle_in_transaction_s: float = Field(60.0, ge=0, description="PostgreSQL: idle_in_transaction_session_timeout.")
    db_migration_wait_s: float = Field(600.0, gt=0, description="PostgreSQL: how long a start waits for another "
                                       "process's migration.")
    library_dirs: str = Field("", description="Comma-separated absolute folders whose files pdf_reader ingest and "
                              "skill install read without asking; documents ingested from there are visible in every "
                              "conversation.")

    @property
    def workspaces(self) -> Path:
        """Root of the per-conversation workspaces."""
        return (self.workspace_root or self.home / "workspaces").expanduser()

    @property
    def go_cache_root(self) -> Path:
        """Where the sandbox keeps Go build caches (never inside a workspace)."""
        return (self.go_cache or self.home / "cache" / "go").expanduser()

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        """The settings from `env` (default: this process's environment), then the data home's .env, then defaults."""
        env = os.environ if env is None else env
        home = Path(env[PREFIX + "HOME"]).expanduser() if env.get(PREFIX + "HOME", "").strip() else data_home()
        merged = {**dotenv_values(home), **env}
        given = {name: merged[var] for name, var in env_names(ServerSettings).items() if merged.get(var, "") != ""}
        try:
            return ServerSettings.model_validate(given)
        except ValidationError as exc:
            raise ValueError(explain(exc, ServerSettings)) from None

    def server_env(self) -> dict[str, str]:
        """These settings as the environment variables a built-in server process reads."""
        values = self.model_dump(include=set(ServerSettings.model_fields))
        names = env_names(ServerSettings)
        return {names[k]: str(v) for k, v in values.items() if v not in (None, "")}


def env_names(cls: type[BaseModel]) -> dict[str, str]:
    """Field name -> environment variable (K2HUB_<NAME>, or the field's alias such as DATABASE_URL)."""
    return {name: field.validation_alias if isinstance(field.validation_alias, str) else PREFIX + name.upper()
            for name, field in cls.model_fields.items()}


def dotenv_values(home: Path) -> dict[str, str]:
    """The data home's .env; {} (and a warning saying how to fix it) when other users can read it."""
    try:
        return read_env_file(home)
    except EnvFileRefused as exc:
        log.warning("%s", exc)
        return {}


def explain(exc: ValidationError, cls: type[BaseModel]) -> str:
    """A settings error in the user's words: the variable, its value and what is wrong."""
    names = env_names(cls)
    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        value: Any = err.get("input")
        parts.append(f"{names.get(field, field)}={value!r}: {err['msg']}")
    return "; ".join(parts)
