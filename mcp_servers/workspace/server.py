"""Workspace MCP server: list, read, write, delete and search files in the conversation's own directory."""

from __future__ import annotations

import errno
import fnmatch
import mimetypes
import os
import re
import stat
import sys
from typing import Annotated, BinaryIO

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_servers.common import cli, safe_files
from mcp_servers.common.annotations import ADDITIVE, CHANGES, READ_ONLY, REPLACES
from mcp_servers.common.cli import human_size
from mcp_servers.common.paths import Workspace, conversation_id, workspace_root

MAX_READ_BYTES = 64 * 1024
MAX_WRITE_BYTES = 10 * 1024 * 1024
MAX_GREP_FILE_BYTES = 8 * 1024 * 1024
MAX_GREP_SCAN_BYTES = 64 * 1024 * 1024
MAX_GREP_LINE_CHARS = 10_000
MAX_SHOWN_LINE_CHARS = 300
MAX_LIST_SCAN = 20_000
SNIFF_BYTES = 8192
# Version-control internals are compressed blobs: searching them only burns the scan budget.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})


PathArg = Annotated[
    str, Field(description="Path of the file or folder, relative to the workspace ('.' is the workspace itself)")
]


def create_server(root: str | os.PathLike[str] | None = None) -> MCPServer:
    """Build the workspace server; root holds one directory per conversation (default: see workspace_root)."""
    base = workspace_root(root)
    server = MCPServer(
        "workspace",
        instructions="Files of this conversation's workspace. All paths are relative to the workspace; "
        "'..', absolute paths and symlinks leading outside are refused.",
    )

    def workspace(ctx: Context) -> Workspace:
        return Workspace(base / conversation_id(ctx.request_context.meta))

    @server.tool(annotations=READ_ONLY, structured_output=False)
    def list_files(
        ctx: Context,
        path: PathArg = ".",
        recursive: Annotated[bool, Field(description="Also list everything below subdirectories")] = False,
        max_entries: Annotated[int, Field(ge=1, le=2000, description="Most entries to show")] = 200,
    ) -> str:
        """List a workspace directory: subdirectories end with '/', files show their size, symlinks their target."""
        ws = workspace(ctx)
        parts = ws.parts(path)
        if not parts and not ws.exists:
            return "(the workspace is empty)"
        with ws.open_dir(parts, path=path) as fd:
            entries, scanned_all = _list_entries(fd, recursive)
        shown = entries[:max_entries]
        lines = [f"{_display(path)} ({len(entries)}{'' if scanned_all else '+'} entries)"] + shown
        if not entries:
            lines.append("(empty directory)")
        omitted = len(entries) - len(shown)
        if omitted or not scanned_all:
            more = f"{omitted}{'' if scanned_all else '+'}"
            lines.append(f"[{more} more entries omitted; list a subdirectory or raise max_entries]")
        return "\n".join(lines)

    @server.tool(annotations=READ_ONLY, structured_output=False)
    def read_file(
        ctx: Context,
        path: PathArg,
        start_line: Annotated[int, Field(ge=1, description="First line to return (1-based)")] = 1,
        max_lines: Annotated[int, Field(ge=1, le=5000, description="Most lines to return")] = 500,
    ) -> str:
        """Read a text file from the workspace, at most max_lines lines and about 64 KB per call."""
        with workspace(ctx).open_file(path) as (fd, info):
            with os.fdopen(os.dup(fd), "rb") as f:
                head = f.read(SNIFF_BYTES)
                if b"\x00" in head:
                    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
                    return f"{path}: binary file ({human_size(info.st_size)}, {kind}); its bytes are not shown"
                f.seek(0)
                return _read_lines(f, path, start_line, max_lines)

    @server.tool(annotations=CHANGES, structured_output=False)
    def write_file(
        ctx: Context,
        path: PathArg,
        content: Annotated[str, Field(description="Text to write (UTF-8)")],
        append: Annotated[bool, Field(description="Add to the end of the file instead of replacing it")] = False,
    ) -> str:
        """Create or replace a text file in the workspace (parent directories are created); append=true adds to it."""
        ws = workspace(ctx)
        parts = ws.parts(path)
        if not parts:
            raise ToolError(f"{path}: is the workspace directory, not a file")
        added = content.encode("utf-8", "replace")
        with ws.open_dir(parts[:-1], create=True, path=path) as dir_fd:
            old, mode = _existing(dir_fd, parts[-1], path, read=append)
            data = old + added
            if len(data) > MAX_WRITE_BYTES:
                raise ToolError(f"{path}: refused: files larger than {human_size(MAX_WRITE_BYTES)} cannot be written")
            safe_files.replace_in(dir_fd, parts[-1], data, mode=mode, path=path)
        verb = "appended" if append else "wrote"
        return f"{verb} {len(added)} bytes to {path} (file is now {human_size(len(data))})"

    @server.tool(annotations=REPLACES, structured_output=False)
    def delete_path(ctx: Context, path: PathArg) -> str:
        """Delete a file, a symlink (never its target) or an empty directory from the workspace."""
        ws = workspace(ctx)
        parts = ws.parts(path, follow_last=False)
        if not parts:
            raise ToolError(f"{path}: refused: the workspace directory itself cannot be deleted")
        name = parts[-1]
        with ws.open_dir(parts[:-1], path=path) as dir_fd:
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                ws.parts(path)  # refuses a link whose target lies outside, like every other tool
                os.unlink(name, dir_fd=dir_fd)
                return f"deleted symlink {path} (its target was not touched)"
            if stat.S_ISDIR(mode):
                try:
                    os.rmdir(name, dir_fd=dir_fd)
                except OSError as err:
                    if err.errno == errno.ENOTEMPTY:
                        raise ToolError(f"{path}: directory is not empty; delete its contents first") from None
                    raise
                return f"deleted empty directory {path}"
            os.unlink(name, dir_fd=dir_fd)
        return f"deleted {path}"

    @server.tool(annotations=ADDITIVE, structured_output=False)
    def make_directory(ctx: Context, path: PathArg) -> str:
        """Create a directory (and its parents) in the workspace; succeeds if it already exists."""
        ws = workspace(ctx)
        parts = ws.parts(path)
        with ws.open_dir(parts, create=True, path=path):
            return f"directory {_display(path)} is ready"

    @server.tool(annotations=READ_ONLY, structured_output=False)
    def grep(
        ctx: Context,
        pattern: Annotated[str, Field(description="Python regular expression searched in each line")],
        path: PathArg = ".",
        glob: Annotated[
            str | None, Field(description="Only files whose name or relative path matches, e.g. '*.py' or 'src/*.go'")
        ] = None,
        ignore_case: Annotated[bool, Field(description="Match letters regardless of case")] = False,
        max_results: Annotated[int, Field(ge=1, le=1000, description="Most matching lines to show")] = 100,
    ) -> str:
        """Search workspace text files for a regex; returns 'path:line: text' for each matching line."""
        try:
            regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        except re.error as err:
            raise ToolError(f"invalid regular expression {pattern!r}: {err}") from None
        ws = workspace(ctx)
        parts = ws.parts(path)
        if not parts and not ws.exists:
            return "no matches (the workspace is empty)"
        search = _Search(regex, glob, max_results)
        with ws.open_dir(parts[:-1], path=path) as parent_fd:
            target = parts[-1] if parts else "."
            mode = os.stat(target, dir_fd=parent_fd, follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                search.walk(target, parent_fd, prefix="/".join(parts))
            else:
                search.file(target, parent_fd, "/".join(parts), explicit=True)
        return search.report()

    return server


class _Search:
    """State of one grep: matches shown, counted, and what was skipped."""

    def __init__(self, regex: re.Pattern[str], glob: str | None, max_results: int) -> None:
        self.regex, self.glob, self.max_results = regex, glob, max_results
        self.shown: list[str] = []
        self.total = self.files = self.scanned = 0
        self.skipped: dict[str, int] = {}
        self.budget_hit = False

    def walk(self, top: str, parent_fd: int, prefix: str) -> None:
        """Search every regular file below top without following symlinks."""
        for dirpath, dirnames, filenames, dir_fd in os.fwalk(top, dir_fd=parent_fd, follow_symlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            rel_dir = os.path.normpath(os.path.join(prefix, os.path.relpath(dirpath, top)))
            for name in sorted(filenames):
                if self.budget_hit:
                    return
                self.file(name, dir_fd, name if rel_dir == "." else f"{rel_dir}/{name}")

    def file(self, name: str, dir_fd: int, rel: str, explicit: bool = False) -> None:
        """Search one file, opened without following a symlink."""
        if self.glob and not explicit and not (fnmatch.fnmatch(name, self.glob) or fnmatch.fnmatch(rel, self.glob)):
            return
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError:
            self._skip("symlinks or unreadable files")
            return
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return self._skip("special files")
            if info.st_size > MAX_GREP_FILE_BYTES:
                return self._skip(f"files over {human_size(MAX_GREP_FILE_BYTES)}")
            if self.scanned + info.st_size > MAX_GREP_SCAN_BYTES:
                self.budget_hit = True
                return
            if b"\x00" in f.read(SNIFF_BYTES):
                return self._skip("binary files")
            f.seek(0)
            self.files += 1
            self.scanned += info.st_size
            for number, raw in enumerate(f, 1):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if self.regex.search(line[:MAX_GREP_LINE_CHARS]):
                    self.total += 1
                    if len(self.shown) < self.max_results:
                        self.shown.append(f"{rel}:{number}: {_clip(line)}")

    def _skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1

    def report(self) -> str:
        """Matches first, then one line saying what was omitted or skipped."""
        if not self.total:
            lines = [f"no matches in {self.files} file(s)"]
        else:
            lines = [*self.shown, f"[{self.total} matching line(s) in {self.files} file(s) searched]"]
        if self.total > len(self.shown):
            lines.append(f"[{self.total - len(self.shown)} more matches omitted; narrow the pattern, path or glob]")
        if self.skipped:
            lines.append("[skipped: " + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) + "]")
        if self.budget_hit:
            lines.append(f"[search stopped after {human_size(MAX_GREP_SCAN_BYTES)}; narrow the path or glob]")
        return "\n".join(lines)


def _list_entries(fd: int, recursive: bool) -> tuple[list[str], bool]:
    """Describe the entries below a directory descriptor; False when the scan stopped early."""
    entries: list[str] = []
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
        dirnames.sort()
        rel = "" if dirpath == "." else dirpath[2:] + "/"
        for name in sorted(dirnames + filenames):
            if len(entries) >= MAX_LIST_SCAN:
                return entries, False
            entries.append(rel + _describe(name, dir_fd))
        if not recursive:
            break
    return entries, True


def _describe(name: str, dir_fd: int) -> str:
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


def _read_lines(f: BinaryIO, path: str, start_line: int, max_lines: int) -> str:
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


def _existing(dir_fd: int, name: str, path: str, read: bool) -> tuple[bytes, int]:
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


def _clip(line: str) -> str:
    """Shorten a long matching line for display."""
    return line if len(line) <= MAX_SHOWN_LINE_CHARS else line[:MAX_SHOWN_LINE_CHARS] + " …"


def _display(path: str) -> str:
    """Path as shown in headers: the workspace itself reads as '.'."""
    return path.strip() or "."


def main(argv: list[str] | None = None) -> None:
    """Run the workspace server on stdio, or on streamable HTTP with --http PORT."""
    cli.workspace_main("K2 Agent Hub workspace files MCP server", create_server, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
