"""Workspace MCP server: list, read, write, delete and search files in the conversation's own directory."""

from __future__ import annotations

import errno
import mimetypes
import os
import re
import stat
import sys
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_servers.common import cli, safe_files
from mcp_servers.common.adapter import ServerState, Tools, workspace
from mcp_servers.common.annotations import ADDITIVE, CHANGES, READ_ONLY, REPLACES
from mcp_servers.common.cli import human_size
from mcp_servers.common.paths import workspace_root
from mcp_servers.workspace import files
from mcp_servers.workspace.search import Search

PathArg = Annotated[
    str, Field(description="Path of the file or folder, relative to the workspace ('.' is the workspace itself)")
]

tools = Tools()


def create_server(root: str | os.PathLike[str] | None = None) -> MCPServer:
    """Build the workspace server; root holds one directory per conversation (default: see workspace_root)."""
    state = ServerState(workspace_root(root))
    server = MCPServer(
        "workspace",
        instructions="Files of this conversation's workspace. All paths are relative to the workspace; "
        "'..', absolute paths and symlinks leading outside are refused.",
        lifespan=state.lifespan(),
    )
    return tools.register(server)


@tools.tool(annotations=READ_ONLY)
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
        entries, scanned_all = files.list_entries(fd, recursive)
    shown = entries[:max_entries]
    lines = [f"{files.display(path)} ({len(entries)}{'' if scanned_all else '+'} entries)"] + shown
    if not entries:
        lines.append("(empty directory)")
    omitted = len(entries) - len(shown)
    if omitted or not scanned_all:
        more = f"{omitted}{'' if scanned_all else '+'}"
        lines.append(f"[{more} more entries omitted; list a subdirectory or raise max_entries]")
    return "\n".join(lines)


@tools.tool(annotations=READ_ONLY)
def read_file(
    ctx: Context,
    path: PathArg,
    start_line: Annotated[int, Field(ge=1, description="First line to return (1-based)")] = 1,
    max_lines: Annotated[int, Field(ge=1, le=5000, description="Most lines to return")] = 500,
) -> str:
    """Read a text file from the workspace, at most max_lines lines and about 64 KB per call."""
    with workspace(ctx).open_file(path) as (fd, info):
        with os.fdopen(os.dup(fd), "rb") as f:
            head = f.read(files.SNIFF_BYTES)
            if b"\x00" in head:
                kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
                return f"{path}: binary file ({human_size(info.st_size)}, {kind}); its bytes are not shown"
            f.seek(0)
            return files.read_lines(f, path, start_line, max_lines)


@tools.tool(annotations=CHANGES)
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
        old, mode = files.existing(dir_fd, parts[-1], path, read=append)
        data = old + added
        if len(data) > files.MAX_WRITE_BYTES:
            raise ToolError(f"{path}: refused: files larger than {human_size(files.MAX_WRITE_BYTES)} cannot be written")
        safe_files.replace_in(dir_fd, parts[-1], data, mode=mode, path=path)
    verb = "appended" if append else "wrote"
    return f"{verb} {len(added)} bytes to {path} (file is now {human_size(len(data))})"


@tools.tool(annotations=REPLACES)
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


@tools.tool(annotations=ADDITIVE)
def make_directory(ctx: Context, path: PathArg) -> str:
    """Create a directory (and its parents) in the workspace; succeeds if it already exists."""
    ws = workspace(ctx)
    parts = ws.parts(path)
    with ws.open_dir(parts, create=True, path=path):
        return f"directory {files.display(path)} is ready"


@tools.tool(annotations=READ_ONLY)
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
    search = Search(regex, glob, max_results)
    with ws.open_dir(parts[:-1], path=path) as parent_fd:
        target = parts[-1] if parts else "."
        mode = os.stat(target, dir_fd=parent_fd, follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            search.walk(target, parent_fd, prefix="/".join(parts))
        else:
            search.file(target, parent_fd, "/".join(parts), explicit=True)
    return search.report()


def main(argv: list[str] | None = None) -> None:
    """Run the workspace server on stdio, or on streamable HTTP with --http PORT."""
    cli.workspace_main("K2 Agent Hub workspace files MCP server", create_server, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
