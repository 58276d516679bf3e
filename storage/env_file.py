"""The data home's `.env` file: the one reader of it, for the app's settings, API keys and the built-in servers.

Keys live there, so a file other users can read is refused (with the command that fixes it), never used quietly.
"""

from __future__ import annotations

import io
import os
import re
import stat
from pathlib import Path

from dotenv import dotenv_values

NAME = ".env"


class EnvFileRefused(PermissionError):
    """Raised by read_env_file when the file is readable by other users (keys would leak)."""


def env_file(home: Path) -> Path:
    """Where the data home keeps its .env."""
    return Path(home).expanduser() / NAME


# path -> (the file's content when parsed, its variables). The model layer reads settings on every model call
# (prices, the model worker switch): parsing the file each time cost ~0.2 ms per read, reading it a few microseconds.
_PARSED: dict[Path, tuple[bytes, dict[str, str]]] = {}


def read_env_file(home: Path) -> dict[str, str]:
    """The variables set in $K2HUB_HOME/.env ({} when there is none); EnvFileRefused when others can read it."""
    path = env_file(home)
    try:
        info = path.stat()
    except OSError:
        return {}
    if not stat.S_ISREG(info.st_mode):
        return {}
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise EnvFileRefused(f"{path} is readable by other users (mode {mode:o}); it is ignored until you run: "
                             f"chmod 600 {path}")
    try:
        content = path.read_bytes()
    except OSError:
        return {}
    cached = _PARSED.get(path)
    if cached is None or cached[0] != content:
        parsed = dotenv_values(stream=io.StringIO(content.decode("utf-8")))
        cached = _PARSED[path] = (content, {k: v for k, v in parsed.items() if v})
    return dict(cached[1])


_NAME = re.compile(r"[A-Z][A-Z0-9_]{1,63}")
# A key is one token: no spaces, quotes or line breaks that would change how the file parses.
_VALUE = re.compile(r"[\w\-.:/+=~@]{1,4096}")


def write_env_value(home: Path, name: str, value: str | None) -> Path:
    """Set (or with None remove) one variable in $K2HUB_HOME/.env, creating the file with mode 600.

    The file is rewritten whole through a temporary file created 600 and renamed over it, so a crash never leaves
    a half-written file and no moment exists where others could read it. Other lines are kept as they were.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a variable name: {name!r}")
    if value is not None and not _VALUE.fullmatch(value):
        raise ValueError("a key is one word of letters, digits and - _ . : / + = ~ @ (no spaces or quotes)")
    path = env_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    pattern = re.compile(rf"^\s*(export\s+)?{name}\s*=")
    kept = [line for line in lines if not pattern.match(line)]
    if value is not None:
        kept.append(f"{name}={value}")
    tmp = path.with_name(f".env.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(kept) + ("\n" if kept else ""))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
