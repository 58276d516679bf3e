"""PostgreSQL connection hygiene for several app processes sharing one database.

- A bounded pool per engine (K2HUB_DB_POOL_SIZE connections, no overflow; waiting longer than
  K2HUB_DB_POOL_TIMEOUT_S for a free one is an error), connections checked before use.
- Server-side limits on every connection, so a stuck lock fails loudly instead of hanging a turn forever:
  `lock_timeout`, `statement_timeout`, and `idle_in_transaction_session_timeout` (a leaked transaction is ended
  by the server rather than holding its locks).
- Lock and statement timeouts surface as DatabaseTimeout, whose message says what waited, for how long, and which
  setting raises the limit.

The K2HUB_DB_* settings are fields of mcp_servers.common.settings.ServerSettings (documented and validated there,
passed to the built-in servers by the hub); storage cannot import that layer, so PgLimits reads the same variables
the same way (the environment, then $K2HUB_HOME/.env), and a test checks that both hold the same defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

from storage.env_file import EnvFileRefused, read_env_file
from storage.paths import data_home

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
IDLE_IN_TRANSACTION_TIMEOUT = "25P03"


class DatabaseTimeout(RuntimeError):
    """A statement waited for a lock, or ran, longer than the configured limit (raised instead of hanging)."""


def _env_float(values: dict[str, str], name: str, default: float) -> float:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class PgLimits:
    """Pool size and server-side timeouts of one process's PostgreSQL connections (see the module docstring)."""

    pool_size: int = 5
    pool_timeout_s: float = 30.0
    lock_timeout_s: float = 30.0
    statement_timeout_s: float = 300.0
    idle_in_transaction_s: float = 60.0
    migration_wait_s: float = 600.0

    @classmethod
    def from_env(cls) -> "PgLimits":
        """The limits from K2HUB_DB_* variables (environment, then .env), defaults for the ones not set."""
        d = cls()
        try:
            dotenv = read_env_file(data_home())
        except EnvFileRefused:
            dotenv = {}  # the app refuses to start on it with the fix; limits alone need not say it twice
        values = {**dotenv, **os.environ}
        return cls(
            pool_size=max(1, int(_env_float(values, "K2HUB_DB_POOL_SIZE", d.pool_size))),
            pool_timeout_s=_env_float(values, "K2HUB_DB_POOL_TIMEOUT_S", d.pool_timeout_s),
            lock_timeout_s=_env_float(values, "K2HUB_DB_LOCK_TIMEOUT_S", d.lock_timeout_s),
            statement_timeout_s=_env_float(values, "K2HUB_DB_STATEMENT_TIMEOUT_S", d.statement_timeout_s),
            idle_in_transaction_s=_env_float(values, "K2HUB_DB_IDLE_IN_TRANSACTION_S", d.idle_in_transaction_s),
            migration_wait_s=_env_float(values, "K2HUB_DB_MIGRATION_WAIT_S", d.migration_wait_s),
        )

    def server_options(self) -> str:
        """libpq `options`: the per-session settings every connection starts with (0 = no limit)."""
        ms = {
            "lock_timeout": self.lock_timeout_s,
            "statement_timeout": self.statement_timeout_s,
            "idle_in_transaction_session_timeout": self.idle_in_transaction_s,
        }
        return " ".join(f"-c {name}={int(seconds * 1000)}" for name, seconds in ms.items())

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for psycopg.connect (and psycopg_pool's kwargs)."""
        return {"options": self.server_options(), "application_name": f"k2hub-{os.getpid()}"}


def engine_kwargs(limits: PgLimits) -> dict[str, Any]:
    """create_engine() arguments for a PostgreSQL engine with these limits."""
    return {
        "pool_pre_ping": True,
        "pool_size": limits.pool_size,
        "max_overflow": 0,
        "pool_timeout": limits.pool_timeout_s,
        "connect_args": limits.connect_kwargs(),
    }


def explain_timeouts(engine: Engine, limits: PgLimits) -> None:
    """Make lock and statement timeouts raise DatabaseTimeout with a message a person can act on."""

    @event.listens_for(engine, "handle_error")
    def _rewrite(context: ExceptionContext) -> DatabaseTimeout | None:
        code = getattr(context.original_exception, "sqlstate", None)
        statement = " ".join((context.statement or "").split())[:160]
        if code == LOCK_NOT_AVAILABLE:
            return DatabaseTimeout(
                f"PostgreSQL: waited more than {limits.lock_timeout_s:g} s for a lock another session holds "
                f"(statement: {statement!r}); find the blocking session with "
                "pg_blocking_pids() / pg_stat_activity, or raise K2HUB_DB_LOCK_TIMEOUT_S"
            )
        if code == QUERY_CANCELED and "statement timeout" in str(context.original_exception):
            return DatabaseTimeout(
                f"PostgreSQL: a statement ran longer than {limits.statement_timeout_s:g} s and was cancelled "
                f"(statement: {statement!r}); raise K2HUB_DB_STATEMENT_TIMEOUT_S if it is legitimately slow"
            )
        if code == IDLE_IN_TRANSACTION_TIMEOUT:
            return DatabaseTimeout(
                f"PostgreSQL ended this session: it stayed idle inside a transaction for more than "
                f"{limits.idle_in_transaction_s:g} s (K2HUB_DB_IDLE_IN_TRANSACTION_S)"
            )
        return None
