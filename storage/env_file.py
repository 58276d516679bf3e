"""The data home's `.env` file: the one reader of it, for the app's settings, API keys and the built-in servers.

Keys live there, so a file other users can read is refused (with the command that fixes it), never used quietly.
"""

from __future__ import annotations

import stat
from pathlib import Path

from dotenv import dotenv_values

NAME = ".env"


class EnvFileRefused(PermissionError):
    """Raised by read_env_file when the file is readable by other users (keys would leak)."""


def env_file(home: Path) -> Path:
    """Where the data home keeps its .env."""
    return Path(home).expanduser() / NAME


def read_env_file(home: Path) -> dict[str, str]:
    """The variables set in $K2HUB_HOME/.env ({} when there is none); EnvFileRefused when others can read it."""
    path = env_file(home)
    if not path.is_file():
        return {}
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise EnvFileRefused(f"{path} is readable by other users (mode {mode:o}); it is ignored until you run: "
                             f"chmod 600 {path}")
    return {k: v for k, v in dotenv_values(path).items() if v}
