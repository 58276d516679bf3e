"""The data home's `.env` file: the one reader of it, for the app's settings, API keys and the built-in servers.

Keys live there, so a file other users can read is refused (with the command that fixes it), never used quietly.
"""

from __future__ import annotations

import io
import os
import re
import stat
import time
from pathlib import Path

from dotenv import dotenv_values

NAME = ".env"


class EnvFileRefused(PermissionError):
    """Raised by read_env_file when the file is readable by other users (keys would leak)."""


_PATHS: dict[Path, Path] = {}  # absolute data home -> its .env (the model layer asks several times per model call)


def env_file(home: Path) -> Path:
    """Where the data home keeps its .env."""
    path = _PATHS.get(home)
    if path is None:
        path = Path(home).expanduser() / NAME
        if Path(home).is_absolute():  # "~/..." follows $HOME, which may change
            _PATHS[home] = path
    return path


# path -> (the file as last read: its inode, size, modification and change times; its variables). The model layer
# reads settings several times per model call (prices, the model worker switch): parsing the file each time cost
# ~0.2 ms, reading it ~30 us, a stat a few. A rewrite (write_env_value renames a new file over it) or an edit changes
# the key: the change time follows every write and chmod, and no tool can set it back.
_PARSED: dict[Path, tuple[tuple[int, int, int, int], dict[str, str]]] = {}
RACY_NS = 1_000_000_000


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
    key = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    cached = _PARSED.get(path)
    # A file changed within the last second is read again: file times tick coarsely (a jiffy), so an edit of the
    # same size right after a read could keep its key (git's "racy clean" rule).
    if cached is None or cached[0] != key or time.time_ns() - info.st_ctime_ns < RACY_NS:
        try:
            content = path.read_bytes()
        except OSError:
            return {}
        parsed = dotenv_values(stream=io.StringIO(content.decode("utf-8")))
        cached = _PARSED[path] = (key, {k: v for k, v in parsed.items() if v})
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
