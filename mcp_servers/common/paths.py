"""Per-conversation workspaces and symlink-safe path handling shared by the built-in MCP servers."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers.common.settings import ServerSettings

CONVERSATION_META_KEY = "k2hub/conversation"
DEFAULT_CONVERSATION = "default"
MAX_PATH_CHARS = 1024
MAX_NAME_BYTES = 255
_CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def workspace_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory holding all workspaces: explicit, else the settings' (K2HUB_WORKSPACE_ROOT, else data home)."""
    return Path(explicit).expanduser() if explicit else ServerSettings.load().workspaces


def conversation_id(meta: Mapping[str, Any] | None) -> str:
    """Return the validated conversation id from a request's _meta, or "default" when it carries none."""
    value = (meta or {}).get(CONVERSATION_META_KEY)
    if value is None:
        return DEFAULT_CONVERSATION
    if not isinstance(value, str) or not _CONVERSATION_ID.fullmatch(value):
        raise ToolError(
            f"invalid conversation id in _meta[{CONVERSATION_META_KEY!r}]: expected 1-64 characters of A-Z a-z 0-9 _ -"
        )
    return value


def _oserror(err: OSError, path: str) -> ToolError:
    """Translate an OS error into a message the model can act on."""
    reasons = {
        errno.ENOENT: "no such file or directory",
        errno.EEXIST: "already exists",
        errno.ENOTDIR: "a parent is not a directory",
        errno.EISDIR: "is a directory",
        errno.ENOTEMPTY: "directory is not empty",
        errno.ELOOP: "refused: a symlink appeared in the path while opening it",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENAMETOOLONG: "name too long",
        errno.ENOSPC: "no space left on device",
    }
    return ToolError(f"{path}: {reasons.get(err.errno, err.strerror or 'operating system error')}")


class Workspace:
    """One conversation's directory; every path is checked to stay inside it, symlinks included."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def exists(self) -> bool:
        """Whether the workspace directory has been created yet."""
        return self.root.is_dir()

    def parts(self, path: str, *, follow_last: bool = True) -> tuple[str, ...]:
        """Return the symlink-free components of path relative to the workspace, refusing any escape."""
        rel = _lexical_parts(path)
        base = os.path.realpath(self.root)
        if not rel:
            return ()
        # Resolve symlinks once, then check the real path: a link anywhere in the path cannot lead out.
        parent = os.path.realpath(os.path.join(base, *rel[:-1]))
        target = os.path.realpath(os.path.join(parent, rel[-1])) if follow_last else os.path.join(parent, rel[-1])
        inside = os.path.relpath(target, base)
        if inside == os.pardir or inside.startswith(os.pardir + os.sep):
            raise ToolError(f"{path}: refused: it leads outside the workspace through a symlink")
        return () if inside == os.curdir else tuple(inside.split(os.sep))

    @contextmanager
    def open_dir(self, parts: tuple[str, ...], *, create: bool = False, path: str = ".") -> Iterator[int]:
        """Yield a descriptor of the directory at parts, walked one component at a time without following links."""
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(os.path.realpath(self.root), _DIR_FLAGS & ~os.O_NOFOLLOW)
        except FileNotFoundError:
            raise ToolError(f"{path}: no such file or directory (the workspace is still empty)") from None
        try:
            for name in parts:
                if create:
                    try:
                        os.mkdir(name, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                # O_NOFOLLOW: the resolved path held no symlink; one appearing now is a swap race, so refuse it.
                child = _open_child_dir(name, fd, path)
                os.close(fd)
                fd = child
            yield fd
        except OSError as err:
            raise _oserror(err, path) from None
        finally:
            os.close(fd)

    @contextmanager
    def open_file(self, path: str) -> Iterator[tuple[int, os.stat_result]]:
        """Yield a read-only descriptor and stat of the regular file at path, never following a final symlink."""
        parts = self.parts(path)
        if not parts:
            raise ToolError(f"{path}: is the workspace directory, not a file")
        with self.open_dir(parts[:-1], path=path) as dir_fd:
            try:
                fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
            except OSError as err:
                raise _oserror(err, path) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ToolError(f"{path}: not a regular file")
            yield fd, info
        finally:
            os.close(fd)


def _lexical_parts(path: str) -> tuple[str, ...]:
    """Validate a user-supplied path string and split it, before touching the file system."""
    if not isinstance(path, str) or "\x00" in path:
        raise ToolError("refused: the path contains a NUL byte")
    if len(path) > MAX_PATH_CHARS:
        raise ToolError(f"refused: the path is longer than {MAX_PATH_CHARS} characters")
    pure = PurePosixPath(path.strip() or ".")
    if pure.is_absolute():
        raise ToolError(f"{path}: refused: absolute paths are not allowed; use a path relative to the workspace")
    if ".." in pure.parts:
        raise ToolError(f"{path}: refused: '..' is not allowed; use a path relative to the workspace")
    for name in pure.parts:
        if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise ToolError(f"refused: a path component is longer than {MAX_NAME_BYTES} bytes")
    return tuple(p for p in pure.parts if p != ".")


def _open_child_dir(name: str, dir_fd: int, path: str) -> int:
    """Open a subdirectory by name without following a symlink, with a precise reason on failure."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except NotADirectoryError:
        if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise ToolError(f"{path}: refused: a symlink appeared in the path while opening it") from None
        raise ToolError(f"{path}: '{name}' is a file, not a directory") from None
