"""API keys come from the environment or a 0600 .env in the data home; never from the database, never into logs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dotenv import dotenv_values


def _dotenv(home: Path) -> dict[str, str]:
    path = home / ".env"
    if not path.is_file():
        return {}
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        # A key file others can read is a leak waiting to happen: refuse it rather than use it quietly.
        raise PermissionError(f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}")
    return {k: v for k, v in dotenv_values(path).items() if v}


def get_secret(name: str, home: Path) -> str | None:
    """The value of a key-like variable: environment first, then $K2HUB_HOME/.env."""
    value = os.environ.get(name)
    if value:
        return value
    try:
        return _dotenv(home).get(name)
    except PermissionError:
        return None


def key_status(names: list[str], home: Path) -> dict[str, bool]:
    """Which of these key variables are set (the UI shows this; it never shows a value)."""
    return {name: bool(get_secret(name, home)) for name in names}
