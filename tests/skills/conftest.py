"""Skills fixtures: a registry on a fresh SQLite database, and helpers to write skill folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skills.registry import Registry
from storage.db import Database

DATA = Path(__file__).parent / "data"
"""Skill folders written by hand in the public Agent Skills format (interop fixtures)."""


def skill_md(name: str, description: str = "Does a thing. Use when testing.", body: str = "# Steps\n1. Do it.\n",
             extra: str = "") -> str:  # fmt: skip
    """A minimal valid SKILL.md."""
    return f"---\nname: {name}\ndescription: {description}\n{extra}---\n\n{body}"


def write_skill(parent: Path, name: str, files: dict[str, str | bytes] | None = None, **md: str) -> Path:
    """Create parent/name/ with a SKILL.md (unless files gives one) and files; return the folder."""
    folder = parent / name
    folder.mkdir(parents=True, exist_ok=True)
    files = {"SKILL.md": skill_md(name, **md), **(files or {})}
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            (folder / path).write_text(data, encoding="utf-8")
        else:
            (folder / path).write_bytes(data)
    return folder


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'skills.db'}")
    yield database
    database.close()


@pytest.fixture
def registry(db: Database, tmp_path: Path) -> Registry:
    """A registry whose built-in folder is empty (tests install what they need)."""
    empty = tmp_path / "no-builtins"
    empty.mkdir()
    return Registry(db, builtin_dir=empty)
