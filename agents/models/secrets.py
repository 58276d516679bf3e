"""API keys come from the environment or a 0600 .env in the data home; never from the database, never into logs."""

from __future__ import annotations

import os
from pathlib import Path

from storage.env_file import EnvFileRefused, read_env_file


def get_secret(name: str, home: Path) -> str | None:
    """The value of a key-like variable: environment first, then $K2HUB_HOME/.env (refused if others can read it)."""
    value = os.environ.get(name)
    if value:
        return value
    try:
        return read_env_file(home).get(name)
    except EnvFileRefused:
        return None


def key_status(names: list[str], home: Path) -> dict[str, bool]:
    """Which of these key variables are set (the UI shows this; it never shows a value)."""
    return {name: bool(get_secret(name, home)) for name in names}


def setting_value(name: str) -> str:
    """A K2HUB_* setting the model layer reads itself (prices, the local model's files and context): the environment,
    then the data home's .env, as the app's Settings reads it; '' when unset (the caller holds the default)."""
    from storage.paths import data_home

    return (get_secret(name, data_home()) or "").strip()
