"""Workspace files read through descriptors: listing a directory, reading lines of a text file within bounds, and
what a write is about to replace."""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers.common.cli import human_size

MAX_READ_BYTES = 64 * 1024
MAX_WRITE_BYTES = 10 * 1024 * 1024
MAX_LIST_SCAN = 20_000
SNIFF_BYTES = 8192


def list_entries(fd: int, recursive: bool) -> tuple[list[str], bool]:
    """Describe the entries below a directory descriptor; False when the scan stopped early."""
    entries: list[str] = []
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
        dirnames.sort()
        rel = "" if dirpath == "." else dirpath[2:] + "/"
        for name in sorted(dirnames + filenames):
            if len(entries) >= MAX_LIST_SCAN:
                return entries, False
            entries.append(rel + describe(name, dir_fd))
        if not recursive:
            break
    return entries, True


def describe(name: str, dir_fd: int) -> str:
    """One listing line: 'dir/', 'file (size)' or 'link -> target'."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return f"{name} (vanished)"
    if stat.S_ISLNK(info.st_mode):
        return f"{name} -> {os.readlink(name, dir_fd=dir_fd)}"
    if stat.S_ISDIR(info.st_mode):
        return f"{name}/"
    return f"{name} ({human_size(info.st_size)})"


def read_lines(f: BinaryIO, path: str, start_line: int, max_lines: int) -> str:
    """Return lines start_line.. of a text file within the line and byte bounds, plus a note when cut."""
    out: list[str] = []
    used = total = 0
    truncated_line = False
    for total, raw in enumerate(f, 1):
        if total < start_line or len(out) >= max_lines or truncated_line:
            continue
        if used + len(raw) > MAX_READ_BYTES:
            if not out:  # a single huge line: show its head rather than nothing
                out.append(raw[:MAX_READ_BYTES].decode("utf-8", "ignore"))
                truncated_line = True
            else:
                max_lines = len(out)
            continue
        out.append(raw.decode("utf-8", "replace"))
        used += len(raw)
    if total == 0:
        return f"{path}: (empty file)"
    if start_line > total:
        raise ToolError(f"{path}: start_line {start_line} is past the end; the file has {total} lines")
    text = "".join(out)
    end = start_line + len(out) - 1
    if truncated_line:
        return f"{text}\n[line {start_line} is longer than {human_size(MAX_READ_BYTES)} and was cut; {total} lines in total]"
    if start_line == 1 and end == total:
        return text
    more = f"; use start_line={end + 1} to continue" if end < total else ""
    return f"{text}{'' if text.endswith(chr(10)) else chr(10)}[lines {start_line}-{end} of {total}{more}]"


def existing(dir_fd: int, name: str, path: str, read: bool) -> tuple[bytes, int]:
    """Return the permission bits (0o644 if absent) and, when read, the bytes of a file about to be replaced."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        return b"", 0o644
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ToolError(f"{path}: is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise ToolError(f"{path}: not a regular file")
        if read and info.st_size > MAX_WRITE_BYTES:
            raise ToolError(f"{path}: refused: appending would exceed {human_size(MAX_WRITE_BYTES)}")
        return (f.read() if read else b""), stat.S_IMODE(info.st_mode)


def display(path: str) -> str:
    """Path as shown in headers: the workspace itself reads as '.'."""
    return path.strip() or "."
