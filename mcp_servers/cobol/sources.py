"""A private copy of the COBOL sources a tool reads, taken through the safe file layer.

The analyzer (project.py, source.py, jcl.py) opens files by name, following links, because the CLI points it at the
user's own folders. A workspace is written by sandboxed code, so the cobol server never lets it open workspace paths:
it analyzes a copy, made without following any link, in a private temporary directory laid out like the workspace.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers.cobol.project import COPY_EXT, DATA_EXT, JCL_EXT, PROGRAM_EXT, SKIP_DIRS
from mcp_servers.common import safe_files
from mcp_servers.common.paths import Workspace

WANTED = PROGRAM_EXT | COPY_EXT | JCL_EXT | DATA_EXT | {""}  # copybooks often have no extension
MAX_BYTES = 256 * 1024 * 1024


class Copy:
    """Folders of the workspace copied into a private directory; `local` maps a workspace folder to its copy."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def local(self, ws: Workspace, folder: str) -> Path:
        return self.base.joinpath(*ws.parts(folder))

    def shown(self, text: str) -> str:
        """Text from the analyzer with the private directory's prefix removed (paths read as workspace paths)."""
        return text.replace(f"{self.base}/", "").replace(str(self.base), ".")


@contextmanager
def copied(ws: Workspace, folders: list[str]) -> Iterator[Copy]:
    """A private copy of the COBOL-related files below each folder (which must exist in the workspace)."""
    with tempfile.TemporaryDirectory(prefix="k2hub-cobol-src-") as tmp:
        copy = Copy(Path(tmp))
        for folder in folders:
            if not safe_files.is_dir(ws, folder):
                raise ToolError(f"{folder}: no such folder in the workspace (upload or unzip the COBOL project there)")
            dest = copy.local(ws, folder)
            dest.mkdir(parents=True, exist_ok=True)
            safe_files.export_tree(ws, folder, dest, keep=_wanted, skip_dirs=SKIP_DIRS, max_bytes=MAX_BYTES)
        yield copy


def _wanted(rel: str) -> bool:
    path = PurePosixPath(rel)
    return not any(part in SKIP_DIRS for part in path.parts) and path.suffix.lower() in WANTED
