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


def library_dirs(env: Mapping[str, str] | None = None) -> list[str]:
    """The user's library folders (K2HUB_LIBRARY_DIRS: comma-separated absolute paths), symlinks resolved.

    Files there may be read without asking (pdf_reader ingest, skill install), and documents ingested from there
    are visible in every conversation.
    """
    raw = ServerSettings.load(env).library_dirs
    return [os.path.realpath(os.path.expanduser(p.strip())) for p in raw.split(",")
            if p.strip() and os.path.isabs(os.path.expanduser(p.strip()))]


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


class PathError(ToolError):
    """A refused or failed workspace path; errno says which (ENOENT, ENOTDIR, ELOOP, ...), None for an escape."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.errno = code


def oserror(err: OSError, path: str) -> PathError:
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
    return PathError(f"{path}: {reasons.get(err.errno, err.strerror or 'operating system error')}", err.errno)


class Workspace:
    """One conversation's directory; every path is checked to stay inside it, symlinks included."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root: str | None = None

    @property
    def real_root(self) -> str:
        """The workspace directory with symlinks resolved (computed once: the root is the app's, not the code's)."""
        if self._real_root is None:
            self._real_root = os.path.realpath(self.root)
        return self._real_root

    @property
    def exists(self) -> bool:
        """Whether the workspace directory has been created yet."""
        return self.root.is_dir()

    def parts(self, path: str, *, follow_last: bool = True) -> tuple[str, ...]:
        """Return the symlink-free components of path relative to the workspace, refusing any escape."""
        rel = _lexical_parts(path)
        base = self.real_root
        if not rel:
            return ()
        # Resolve symlinks once, then check the real path: a link anywhere in the path cannot lead out.
        parent = os.path.realpath(os.path.join(base, *rel[:-1]))
        target = os.path.realpath(os.path.join(parent, rel[-1])) if follow_last else os.path.join(parent, rel[-1])
        inside = os.path.relpath(target, base)
        if inside == os.pardir or inside.startswith(os.pardir + os.sep):
            raise PathError(f"{path}: refused: it leads outside the workspace through a symlink")
        return () if inside == os.curdir else tuple(inside.split(os.sep))

    @contextmanager
    def open_dir(self, parts: tuple[str, ...], *, create: bool = False, path: str = ".") -> Iterator[int]:
        """Yield a descriptor of the directory at parts, walked one component at a time without following links."""
        fd = self._open_root(create, path)
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
            raise oserror(err, path) from None
        finally:
            os.close(fd)

    @contextmanager
    def open_parent(self, path: str, *, create: bool = False) -> Iterator[tuple[int, str]]:
        """Yield a descriptor of path's parent directory and its final name; links inside are followed, out refused.

        The common case walks the path as written, one O_NOFOLLOW open per directory; only when a link is on the
        way (or is the final name) is the path resolved (Workspace.parts, which refuses a way out) and walked again.
        """
        rel = _lexical_parts(path)
        if not rel:
            raise PathError(f"{path}: is the workspace directory, not a file", errno.EISDIR)
        fd = self._walk_plain(rel[:-1], create, path)
        if fd is not None:
            try:
                plain = not stat.S_ISLNK(os.stat(rel[-1], dir_fd=fd, follow_symlinks=False).st_mode)
            except FileNotFoundError:
                plain = True
            except OSError as err:
                os.close(fd)
                raise oserror(err, path) from None
            if plain:
                try:
                    yield fd, rel[-1]
                finally:
                    os.close(fd)
                return
            os.close(fd)
        parts = self.parts(path)
        if not parts:
            raise PathError(f"{path}: is the workspace directory, not a file", errno.EISDIR)
        with self.open_dir(parts[:-1], create=create, path=path) as dir_fd:
            yield dir_fd, parts[-1]

    @contextmanager
    def open_file(self, path: str) -> Iterator[tuple[int, os.stat_result]]:
        """Yield a read-only descriptor and stat of the regular file at path, never following a final symlink."""
        with self.open_parent(path) as (dir_fd, name):
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
            except OSError as err:
                raise oserror(err, path) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ToolError(f"{path}: not a regular file")
            yield fd, info
        finally:
            os.close(fd)

    def _open_root(self, create: bool, path: str) -> int:
        try:
            return os.open(self.real_root, _DIR_FLAGS & ~os.O_NOFOLLOW)
        except FileNotFoundError:
            if not create:
                raise PathError(f"{path}: no such file or directory (the workspace is still empty)",
                                errno.ENOENT) from None
        self.root.mkdir(parents=True, exist_ok=True)
        return os.open(self.real_root, _DIR_FLAGS & ~os.O_NOFOLLOW)

    def _walk_plain(self, names: tuple[str, ...], create: bool, path: str) -> int | None:
        """The directory at names walked as written without following anything; None when a link (or a file) is on
        the way, for the caller to resolve the path properly."""
        fd = self._open_root(create, path)
        for name in names:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    os.close(fd)
                    raise PathError(f"{path}: no such file or directory", errno.ENOENT) from None
                try:
                    os.mkdir(name, 0o755, dir_fd=fd)
                except FileExistsError:  # created meanwhile, or a dangling link: open tells which
                    pass
                except OSError as err:
                    os.close(fd)
                    raise oserror(err, path) from None
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    os.close(fd)
                    return None
            except OSError as err:
                os.close(fd)
                if err.errno in (errno.ELOOP, errno.ENOTDIR):
                    return None
                raise oserror(err, path) from None
            os.close(fd)
            fd = child
        return fd


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
            raise PathError(f"{path}: refused: a symlink appeared in the path while opening it", errno.ELOOP) from None
        raise PathError(f"{path}: '{name}' is a file, not a directory", errno.ENOTDIR) from None
