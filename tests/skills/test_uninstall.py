"""Uninstalling a skill removes every version and file; a built-in skill is refused (the attack: uninstalling one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from skills.errors import SkillError, SkillNotFound
from skills.registry import Registry
from storage.db import Database
from storage.skills import SkillFile, SkillVersion
from tests.skills.conftest import write_skill


def test_uninstall_removes_the_skill_its_versions_and_files(registry: Registry, db: Database, tmp_path: Path) -> None:
    registry.install_folder(write_skill(tmp_path / "a", "notes", {"ref.md": "one"}))
    registry.install_folder(write_skill(tmp_path / "b", "notes", {"ref.md": "two"}))
    assert not registry.is_builtin("notes")
    registry.uninstall("notes")
    assert not registry.exists("notes")
    with db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(SkillVersion)) == 0
        assert conn.scalar(select(func.count()).select_from(SkillFile)) == 0
    with pytest.raises(SkillNotFound):
        registry.get("notes")


def test_a_built_in_skill_cannot_be_uninstalled_even_after_an_edit(db: Database) -> None:
    registry = Registry(db)  # with the app's built-in skills
    registry.ensure_builtin()
    text = registry.read_file("web-research", "SKILL.md").decode() + "\nA local note.\n"
    registry.save("web-research", text)  # the version in use is now an edited one
    assert registry.is_builtin("web-research")
    with pytest.raises(SkillError, match="built in"):
        registry.uninstall("web-research")
    assert registry.exists("web-research") and len(registry.versions("web-research")) == 2
