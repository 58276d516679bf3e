"""Where K2 Agent Hub keeps its data: the data home and the default database URL."""

from __future__ import annotations

import os
from pathlib import Path


_HOMES: dict[str, Path] = {}  # $K2HUB_HOME as set -> its path (the model layer asks several times per model call)


def data_home() -> Path:
    """$K2HUB_HOME, else ~/.k2hub; created on first use, readable by its owner only (0700)."""
    raw = os.environ.get("K2HUB_HOME", "").strip()
    home = _HOMES.get(raw) if raw else None
    if home is None:
        home = Path(raw).expanduser() if raw else Path.home() / ".k2hub"
        if raw and not raw.startswith("~"):  # "~/..." follows $HOME, which may change
            _HOMES[raw] = home
    if not home.exists():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir's mode is filtered by the umask; the data home holds a .env with keys, so be explicit.
        home.chmod(0o700)
    return home


def default_database_url() -> str:
    """DATABASE_URL when set (the Postgres scale-out path), else the SQLite file in the data home."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{data_home() / 'k2hub.db'}"
