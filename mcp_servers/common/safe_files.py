"""The safe file layer: how code outside the sandbox reads and writes a workspace, whatever sandboxed code planted.

A workspace is written by untrusted code (the sandbox runs as another uid in it), so any of its paths may be a
symlink to somewhere else (a 0700 directory of the app's user, a root-only file, another conversation, the venv's
site-packages), a fifo that blocks a reader, or swapped for one between a check and a use. Every operation here:

- resolves the path lexically and refuses `..`, absolute paths and links leading out (Workspace.parts), then walks
  it one directory descriptor at a time with O_NOFOLLOW on every component (Workspace.open_dir), so a component
  swapped for a link after the check is refused (ELOOP), never followed;
- opens a final file with O_NOFOLLOW | O_NONBLOCK and checks it is a regular file on the descriptor itself;
- writes by creating a temporary name with O_EXCL in the same directory descriptor, then renaming it over the
  target inside that descriptor: readers never see half a file, and a planted link is replaced, not written through.

Refusals are ToolErrors with a reason a model or a user can act on. The built-in servers and the app open workspace
paths only through this module (and paths.Workspace beneath it).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers.common.paths import PathError, Workspace, oserror

TEMP_PREFIX = ".k2hub-"
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def read_bytes(ws: Workspace, path: str, *, limit: int | None = None) -> bytes:
    """The bytes of a regular file (at most limit), refusing links out, fifos and devices."""
    with ws.open_file(path) as (fd, info):
        if limit is not None and info.st_size > limit:
            raise ToolError(f"{path}: too large ({info.st_size:,} bytes; the limit is {limit:,})")
        chunks, left = [], info.st_size if limit is None else limit
        while True:
            chunk = os.read(fd, min(1 << 20, max(left, 1)))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            left -= len(chunk)
            if limit is not None and left < 0:
                raise ToolError(f"{path}: grew past {limit:,} bytes while being read")


def read_text(ws: Workspace, path: str, *, limit: int | None = None, encoding: str = "utf-8") -> str:
    """A regular file decoded (undecodable bytes replaced)."""
    return read_bytes(ws, path, limit=limit).decode(encoding, "replace")


def kind(ws: Workspace, path: str) -> str:
    """'file', 'dir', 'other' or 'missing' for what path names; links inside are followed, a link out is refused.

    ('link' only when a link appeared between the check and the look, which a caller treats as neither.)
    """
    parts = ws.parts(path)
    if not ws.exists:
        return "missing"
    if not parts:
        return "dir"
    try:
        with ws.open_dir(parts[:-1], path=path) as dir_fd:
            mode = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False).st_mode
    except PathError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return "missing"
        raise
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "link" if stat.S_ISLNK(mode) else "other"


def is_file(ws: Workspace, path: str) -> bool:
    """Whether path is a regular file reached without any link."""
    return kind(ws, path) == "file"


def is_dir(ws: Workspace, path: str) -> bool:
    """Whether path is a directory reached without any link."""
    return kind(ws, path) == "dir"


def make_dirs(ws: Workspace, path: str) -> tuple[str, ...]:
    """Create path and its parents (a link on the way is refused); returns its components."""
    parts = ws.parts(path)
    with ws.open_dir(parts, create=True, path=path):
        return parts


def write_bytes(ws: Workspace, path: str, data: bytes, *, mode: int | None = None, create_parents: bool = True) -> None:
    """Create or replace a file atomically: a new O_EXCL temporary beside it, renamed over it in the same directory.

    A link planted at path is replaced by the file (never written through); the mode of a file replaced is kept.
    """
    with ws.open_parent(path, create=create_parents) as (dir_fd, name):
        replace_in(dir_fd, name, data, mode=mode, path=path)


def replace_in(dir_fd: int, name: str, data: bytes, *, mode: int | None = None, path: str = "") -> None:
    """write_bytes inside an open directory descriptor (for callers that walked there already)."""
    if mode is None:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            mode = stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else 0o644
            if stat.S_ISDIR(info.st_mode):
                raise ToolError(f"{path or name}: is a directory")
        except FileNotFoundError:
            mode = 0o644
    tmp = f"{TEMP_PREFIX}{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(tmp, _NEW_FLAGS, mode, dir_fd=dir_fd)
    except OSError as err:
        raise oserror(err, path or name) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException as err:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        if isinstance(err, OSError):
            raise oserror(err, path or name) from None
        raise


def write_new(ws: Workspace, folder: str, name: str, data: bytes, *, tries: int = 1000) -> str:
    """Write data as a new file in folder (created if missing) under name, or name-1, name-2 … if taken.

    Never overwrites anything (O_EXCL): returns the workspace-relative path written.
    """
    stem, dot, ext = name.rpartition(".") if "." in name.strip(".") else (name, "", "")
    parts = ws.parts(folder)
    prefix = "/".join(parts)
    with ws.open_dir(parts, create=True, path=folder) as dir_fd:
        for n in range(tries):
            candidate = f"{stem}{f'-{n}' if n else ''}{dot}{ext}"
            try:
                fd = os.open(candidate, _NEW_FLAGS, 0o644, dir_fd=dir_fd)
            except FileExistsError:
                continue
            except OSError as err:
                raise oserror(err, f"{folder}/{candidate}") from None
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            return f"{prefix}/{candidate}" if prefix else candidate
    raise ToolError(f"{folder}: too many files named like {name}; delete some")


def prune(ws: Workspace, folder: str, keep: int, *, suffix: str = "") -> None:
    """Delete the oldest-named files of folder (names sort by time) beyond keep; links are unlinked, never followed."""
    parts = ws.parts(folder)
    with ws.open_dir(parts, path=folder) as dir_fd:
        names = sorted(n for n in os.listdir(dir_fd) if n.endswith(suffix))
        for stale in names[: max(0, len(names) - keep)]:
            try:
                os.unlink(stale, dir_fd=dir_fd)
            except OSError:
                pass


def walk(ws: Workspace, path: str = ".", *, skip: Callable[[str], bool] = lambda _name: False,
         limit: int | None = None) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, lstat) of every regular file below path; links are neither listed nor followed."""
    parts = ws.parts(path)
    prefix = "/".join(parts)
    seen = 0
    with ws.open_dir(parts, path=path) as top:
        for dirpath, dirnames, filenames, dir_fd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not skip(d))
            rel = "" if dirpath == "." else dirpath[2:] + "/"
            for name in sorted(filenames):
                if skip(name):
                    continue
                if limit is not None and seen >= limit:
                    return
                seen += 1
                try:
                    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except OSError:  # removed while we walked
                    continue
                if stat.S_ISREG(info.st_mode):
                    yield (f"{prefix}/{rel}{name}" if prefix else f"{rel}{name}"), info


def export_tree(ws: Workspace, path: str, dest: Path, *, keep: Callable[[str], bool] = lambda _rel: True,
                skip_dirs: frozenset[str] | set[str] = frozenset(), links: str = "skip", max_files: int = 20_000,
                max_bytes: int = 512 * 1024 * 1024) -> list[str]:
    """Copy the regular files below path into dest (a private directory), for code that reads by path name.

    Libraries that open files by name (analyzers, zip readers, the skill registry) get a copy that has no link in
    it and that sandboxed code cannot change while they read. links='refuse' raises on a link instead of leaving
    it out. Returns the copied paths relative to path.
    """
    parts = ws.parts(path)
    copied: list[str] = []
    total = 0
    with ws.open_dir(parts, path=path) as top:
        for dirpath, dirnames, filenames, dir_fd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
            dirnames[:] = [d for d in dirnames if d not in skip_dirs]
            rel_dir = "" if dirpath == "." else dirpath[2:] + "/"
            for name in sorted(dirnames + filenames):
                rel = f"{rel_dir}{name}"
                try:
                    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISLNK(info.st_mode) and links == "refuse":
                    raise ToolError(f"{path}/{rel}: refused: it is a symlink")
                if not stat.S_ISREG(info.st_mode) or not keep(rel):
                    continue
                total += info.st_size
                if len(copied) >= max_files or total > max_bytes:
                    raise ToolError(f"{path}: too large to read (more than {max_files:,} files or "
                                    f"{max_bytes // (1024 * 1024)} MB)")
                target = dest / rel
                if target.exists():  # folders exported into one copy may overlap
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                _copy_out(name, dir_fd, target, f"{path}/{rel}")
                copied.append(rel)
    return copied


def export_file(ws: Workspace, path: str, dest: Path) -> Path:
    """Copy one regular file of the workspace to dest (a private path), read through a descriptor."""
    with ws.open_file(path) as (fd, _info):
        with open(dest, "xb") as out:
            while chunk := os.read(fd, 1 << 20):
                out.write(chunk)
    return dest


def _copy_out(name: str, dir_fd: int, target: Path, shown: str) -> None:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return  # became a link while we walked: left out
        raise oserror(err, shown) from None
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return
        with open(target, "xb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
