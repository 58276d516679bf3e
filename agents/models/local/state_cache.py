"""The model's KV state for a prompt's stable prefix (the system prompt, then the system prompt with its tools), kept on
disk so a freshly started local server does not read those ~2,000-3,000 tokens again (about 70 tokens/s on 2 cores:
the first answer of a fresh server otherwise spends ~30 s on them).

One file per prefix in a directory the app creates itself ($K2HUB_HOME/cache/model-state, mode 0700). A file is only
reused for the same model file (resolved path, size, mtime), the same context size, the same llama.cpp version and the
exact same prefix tokens: the name is a hash of all of these, and the header inside repeats them and is compared in
full, so neither a hash collision nor a renamed file can hand a state to the wrong prompt. The state bytes carry their
sha256: a truncated or corrupt file is skipped with a log line, never loaded. Writers (several servers, e.g. parallel
test processes) write a private temp file and rename it into place, so a reader sees a whole file or none. The
directory is capped in bytes; the least recently used files go first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import stat
import struct
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
MAGIC = b"K2HUB-KV1\n"
SUFFIX = ".kv"
MAX_BYTES = 1 << 30  # 1 GiB: ~20 prefixes of the 0.5B model (12 KB per token), a few of a 7B one
MAX_HEADER = 1 << 20
STALE_TEMP_S = 3600.0  # a temp file this old belongs to a writer that died


@dataclass(frozen=True)
class ModelKey:
    """What a KV state depends on besides the tokens."""

    path: str
    size: int
    mtime_ns: int
    context: int
    runtime: str

    @classmethod
    def of(cls, model: Path, context: int, runtime: str) -> ModelKey:
        st = model.stat()
        return cls(str(model.resolve()), st.st_size, st.st_mtime_ns, context, runtime)


def private_dir(path: Path) -> Path | None:
    """`path` as a directory we own and nobody else can write, created (0700) with its parent when missing; None
    (and a log line) when something else is there: a symlink or someone else's directory is never followed."""
    for part in (path.parent, path):
        try:
            with contextlib.suppress(FileExistsError):
                part.mkdir(mode=0o700)
            st = os.lstat(part)
        except OSError as exc:
            log.warning("model state cache disabled: cannot create %s: %s", part, exc)
            return None
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
            log.warning("model state cache disabled: %s is not a private directory of this user", part)
            return None
    return path


class StateStore:
    """KV states of token prefixes for one model, in one directory."""

    def __init__(self, directory: Path, model: ModelKey, max_bytes: int = MAX_BYTES) -> None:
        self.dir = directory
        self.model = model
        self.max_bytes = max_bytes

    def _header(self, tokens: list[int]) -> dict[str, object]:
        return {"model": self.model.__dict__, "tokens": list(tokens)}

    def path_for(self, tokens: list[int]) -> Path:
        digest = hashlib.sha256(json.dumps(self._header(tokens), sort_keys=True).encode()).hexdigest()
        return self.dir / f"{digest[:40]}{SUFFIX}"

    def has(self, tokens: list[int]) -> bool:
        return self.path_for(tokens).is_file()

    def load(self, tokens: list[int]) -> bytes | None:
        """The state saved for exactly these tokens with this model, or None (missing, foreign or damaged)."""
        path = self.path_for(tokens)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:  # a symlink planted in its place (ELOOP) included
            log.warning("model state cache: ignoring %s: %s", path.name, exc)
            return None
        with os.fdopen(fd, "rb") as f:
            state = _read(f, path.name, self._header(tokens))
        if state is not None:
            with contextlib.suppress(OSError):
                os.utime(path)  # least recently used goes first
        return state

    def save(self, tokens: list[int], state: bytes) -> None:
        """Write the state for these tokens (temp file, then rename: readers never see half a file); then evict."""
        path = self.path_for(tokens)
        header = json.dumps({**self._header(tokens), "sha256": hashlib.sha256(state).hexdigest(),
                             "bytes": len(state)}).encode()
        temp = self.dir / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + struct.pack("<Q", len(header)) + header)
                f.write(state)
            os.replace(temp, path)
        except OSError as exc:
            log.warning("model state cache: could not save %s: %s", path.name, exc)
            with contextlib.suppress(OSError):
                temp.unlink()
            return
        self.evict()

    def evict(self) -> None:
        """Delete the least recently used states until the directory holds at most max_bytes; stale temp files too."""
        files = []
        now = time.time()
        for entry in os.scandir(self.dir):
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode):
                    continue
                if entry.name.endswith(".tmp") and now - st.st_mtime > STALE_TEMP_S:
                    os.unlink(entry.path)
                elif entry.name.endswith(SUFFIX):
                    files.append((st.st_mtime, st.st_size, entry.path))
        total = sum(size for _, size, _ in files)
        for _, size, name in sorted(files):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                os.unlink(name)
                total -= size


def _read(f: object, name: str, expected: dict[str, object]) -> bytes | None:
    """The state bytes of an open cache file when its header matches `expected` and its bytes their sha256."""
    def skip(why: str) -> None:
        log.warning("model state cache: ignoring %s: %s", name, why)

    try:
        head = f.read(len(MAGIC) + 8)  # type: ignore[attr-defined]
        if len(head) < len(MAGIC) + 8 or not head.startswith(MAGIC):
            return skip("not a state file, or truncated")
        (size,) = struct.unpack("<Q", head[len(MAGIC):])
        if size > MAX_HEADER:
            return skip("header too large")
        header = json.loads(f.read(size))  # type: ignore[attr-defined]
        if not isinstance(header, dict):
            return skip("malformed header")
        if {k: header.get(k) for k in expected} != expected:
            return skip("made for another model, context or prompt")
        state = f.read(int(header["bytes"]) + 1)  # type: ignore[attr-defined]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return skip(f"unreadable ({exc})")
    if len(state) != header["bytes"] or hashlib.sha256(state).hexdigest() != header.get("sha256"):
        return skip("truncated or corrupt")
    return state
