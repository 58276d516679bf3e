"""grep over a workspace: every text file below a directory descriptor, bounded per file, per line and in total."""

from __future__ import annotations

import fnmatch
import os
import re
import stat

from mcp_servers.common.cli import human_size
from mcp_servers.workspace.files import SNIFF_BYTES

MAX_GREP_FILE_BYTES = 8 * 1024 * 1024
MAX_GREP_SCAN_BYTES = 64 * 1024 * 1024
MAX_GREP_LINE_CHARS = 10_000
MAX_SHOWN_LINE_CHARS = 300
# Version-control internals are compressed blobs: searching them only burns the scan budget.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})


class Search:
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


def _clip(line: str) -> str:
    """Shorten a long matching line for display."""
    return line if len(line) <= MAX_SHOWN_LINE_CHARS else line[:MAX_SHOWN_LINE_CHARS] + " …"
