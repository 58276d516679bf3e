"""A skill's files in memory: read from a folder within limits, checked, and hashed canonically.

The content hash is what identifies a version's content everywhere (registry, bundles): sha256 over the sorted
lines `<relative path>\\0<sha256 of the file>\\n`, so it depends on paths and bytes only, never on file times,
modes or the order a folder or zip lists them in.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from skills import skillmd
from skills.errors import InvalidSkill

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_TOTAL_BYTES = 32 * 1024 * 1024
MAX_FILES = 1000
MAX_PATH_CHARS = 255
# Editor and VCS litter that is never part of a skill: skipped when reading a folder.
SKIPPED = frozenset({".git", ".hg", ".svn", "__pycache__", ".DS_Store", ".pytest_cache", ".ruff_cache"})


def sha256(data: bytes) -> str:
    """Hex sha256 of data."""
    return hashlib.sha256(data).hexdigest()


def content_hash(file_hashes: dict[str, str]) -> str:
    """The canonical hash of a skill from its files' hashes (path → hex sha256)."""
    h = hashlib.sha256()
    for path in sorted(file_hashes):
        h.update(f"{path}\0{file_hashes[path]}\n".encode())
    return h.hexdigest()


def check_path(path: str) -> str:
    """Return path if it is a safe relative POSIX path inside a skill, else raise InvalidSkill."""
    if not path or "\x00" in path or "\\" in path or len(path) > MAX_PATH_CHARS:
        raise InvalidSkill(f"file path {path[:80]!r} is not allowed in a skill: use a short relative path with '/'")
    pure = PurePosixPath(path)
    if pure.is_absolute() or (len(path) > 1 and path[1] == ":"):
        raise InvalidSkill(f"file path {path!r} is absolute: skill files must be relative to the skill folder")
    if any(p in ("..", ".", "") for p in path.split("/")):
        raise InvalidSkill(f"file path {path!r} contains '..', '.' or an empty part: it must stay inside the skill")
    return path


@dataclass(frozen=True)
class SkillContent:
    """Every file of one skill version (relative POSIX path → bytes) and its parsed SKILL.md."""

    files: dict[str, bytes]
    skill: skillmd.SkillMd

    @classmethod
    def from_files(cls, files: dict[str, bytes], folder: str | None = None) -> SkillContent:
        """Validate paths, limits and SKILL.md; folder is the name the skill's `name` must equal, if known."""
        if skillmd.SKILL_FILE not in files:
            raise InvalidSkill(f"no {skillmd.SKILL_FILE} at the top of the skill: every skill needs one")
        if len(files) > MAX_FILES:
            raise InvalidSkill(f"the skill has {len(files)} files; the limit is {MAX_FILES}")
        total = 0
        for path, data in files.items():
            check_path(path)
            if len(data) > MAX_FILE_BYTES:
                raise InvalidSkill(f"{path} is {len(data):,} bytes; the limit per file is {MAX_FILE_BYTES:,}")
            total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise InvalidSkill(f"the skill's files add up to {total:,} bytes; the limit is {MAX_TOTAL_BYTES:,}")
        skill = skillmd.parse(files[skillmd.SKILL_FILE], folder=folder)
        return cls(files=dict(sorted(files.items())), skill=skill)

    @property
    def hashes(self) -> dict[str, str]:
        """path → hex sha256 of each file."""
        return {p: sha256(d) for p, d in self.files.items()}

    @property
    def sha256(self) -> str:
        """The canonical content hash (see the module docstring)."""
        return content_hash(self.hashes)

    def resources(self) -> dict[str, dict[str, int | str]]:
        """path → {size, sha256} for every file, SKILL.md included."""
        return {p: {"size": len(d), "sha256": sha256(d)} for p, d in self.files.items()}


def read_folder(folder: str | os.PathLike[str]) -> dict[str, bytes]:
    """Every regular file below folder (relative POSIX path → bytes); symlinks and special files are refused.

    Walked through directory descriptors and opened with O_NOFOLLOW, checked on the open descriptor: a file swapped
    for a link between the listing and the read is refused, never followed.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InvalidSkill(f"{root}: not a folder; give the skill folder holding SKILL.md")
    files: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(root, follow_symlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED)
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        for name in dirnames:  # fwalk lists a link to a directory here, without walking into it
            if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                shown = name if rel_dir == "." else f"{rel_dir}/{name}"
                raise InvalidSkill(f"{shown} is a symlink: skills may not contain links; copy the file in instead")
        for name in sorted(filenames):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if name in SKIPPED:
                continue
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
            except OSError as err:
                if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                    raise InvalidSkill(f"{rel} is a symlink: skills may not contain links; copy the file in instead") from None
                raise InvalidSkill(f"{rel}: cannot be read ({err.strerror})") from None
            with os.fdopen(fd, "rb") as f:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    raise InvalidSkill(f"{rel} is not a regular file")
                total += info.st_size
                if info.st_size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES or len(files) >= MAX_FILES:
                    raise InvalidSkill(
                        f"{root.name} is too large at {rel}: limits are {MAX_FILES} files, "
                        f"{MAX_FILE_BYTES:,} bytes a file and {MAX_TOTAL_BYTES:,} bytes in all"
                    )
                files[check_path(rel)] = f.read(MAX_FILE_BYTES + 1)
    return files


def load_folder(folder: str | os.PathLike[str]) -> SkillContent:
    """Read and validate a skill folder; its directory name must equal the SKILL.md name."""
    root = Path(folder).resolve()
    return SkillContent.from_files(read_folder(root), folder=root.name)
