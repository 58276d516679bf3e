"""What a run did to the workspace: a before/after scan of it, which also hands the workspace to the sandbox uid."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from mcp_servers.common.cli import human_size

MAX_ENTRIES = 50_000
MAX_LISTED = 30
# The server's own files (saved full outputs) are not the code's doing.
OWN_DIR = ".k2hub"

Entry = tuple[int, int, int, int]  # file type bits, size, mtime_ns, inode


@dataclass
class Snapshot:
    """Every entry below the workspace (relative path -> Entry); complete is False past MAX_ENTRIES."""

    entries: dict[str, Entry] = field(default_factory=dict)
    complete: bool = True


@dataclass
class Changes:
    """Files (and symlinks) the run created, changed or deleted."""

    created: list[tuple[str, int]] = field(default_factory=list)
    changed: list[tuple[str, int]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    complete: bool = True

    def render(self) -> str:
        """One line per kind, at most MAX_LISTED paths in all; empty when nothing changed."""
        lines: list[str] = []
        budget = MAX_LISTED
        for label, items in (("created", self.created), ("changed", self.changed)):
            if items:
                shown = [f"{p} ({human_size(n)})" for p, n in items[:budget]]
                budget -= len(shown)
                more = f", … {len(items) - len(shown)} more" if len(items) > len(shown) else ""
                lines.append(f"files {label}: " + ", ".join(shown) + more)
        if self.deleted:
            shown = self.deleted[: max(budget, 5)]
            more = f", … {len(self.deleted) - len(shown)} more" if len(self.deleted) > len(shown) else ""
            lines.append("files deleted: " + ", ".join(shown) + more)
        if not self.complete:
            lines.append(f"(the workspace has more than {MAX_ENTRIES:,} entries: changes beyond them are not listed)")
        return "\n".join(lines)


def scan(root: Path, owner: int | None = None) -> Snapshot:
    """Record every entry below root without following symlinks; with owner, chown what the code must be able to change.

    Files written by other tools belong to the server's user; code runs as the sandbox uid and must be able to edit
    them, so they are handed over (directories, and regular files with a single link: a hard link could point at
    something that is not the workspace's to give).
    """
    snap = Snapshot()
    if not root.is_dir():
        return snap
    if owner is not None:
        _adopt(os.lstat(root), owner, root)
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(root, follow_symlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in dirnames + filenames:
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if owner is not None:
                _adopt(info, owner, name, dir_fd)
            if len(snap.entries) >= MAX_ENTRIES:
                snap.complete = False
                if owner is None:
                    return snap
                continue
            snap.entries[prefix + name] = (stat.S_IFMT(info.st_mode), info.st_size, info.st_mtime_ns, info.st_ino)
    return snap


def diff(before: Snapshot, after: Snapshot) -> Changes:
    """Created, changed (content, size or identity) and deleted files between two scans; directories are implied."""
    changes = Changes(complete=before.complete and after.complete)
    for path, entry in sorted(after.entries.items()):
        if entry[0] == stat.S_IFDIR or _own(path):
            continue
        old = before.entries.get(path)
        if old is None or old[0] != entry[0]:
            changes.created.append((path, entry[1]))
        elif old != entry:
            changes.changed.append((path, entry[1]))
    for path, entry in sorted(before.entries.items()):
        if path not in after.entries and entry[0] != stat.S_IFDIR and not _own(path):
            changes.deleted.append(path)
    return changes


def _adopt(info: os.stat_result, owner: int, name: str | Path, dir_fd: int | None = None) -> None:
    """Hand one entry to the sandbox uid unless it has it already (symlinks, devices and hard links stay as they are)."""
    if info.st_uid == owner and info.st_gid == owner:
        return
    if stat.S_ISDIR(info.st_mode) or (stat.S_ISREG(info.st_mode) and info.st_nlink == 1):
        try:
            os.chown(name, owner, owner, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            pass


def _own(path: str) -> bool:
    return path == OWN_DIR or path.startswith(OWN_DIR + "/")

