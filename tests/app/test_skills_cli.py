"""`k2hub skills …`: install, list, search, show, export, pin, diff against the data home's database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.cli import main

DATA = Path(__file__).resolve().parents[1] / "skills/data"


def test_skills_verbs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "brand-guidelines"
    shutil.copytree(DATA / "brand-guidelines", folder)
    assert main(["skills", "install", str(folder)]) == 0
    assert "brand-guidelines@1.0.0 installed from" in capsys.readouterr().out
    assert main(["skills", "list"]) == 0
    listing = capsys.readouterr().out
    assert "brand-guidelines@1.0.0  Applies the company's" in listing and "web-research@" in listing  # + built-ins
    assert main(["skills", "search", "brand", "colours"]) == 0
    assert capsys.readouterr().out.startswith("brand-guidelines@1.0.0")
    (folder / "references/colors.md").write_text("# Palette\n\n- Primary: Black\n")
    assert main(["skills", "install", str(folder)]) == 0
    assert main(["skills", "diff", "brand-guidelines", "1.0.0", "1.0.1"]) == 0
    assert "+- Primary: Black\n" in capsys.readouterr().out
    assert main(["skills", "pin", "brand-guidelines@1.0.0"]) == 0
    assert main(["skills", "show", "brand-guidelines"]) == 0
    shown = capsys.readouterr().out
    assert "now uses 1.0.0 (pinned)" in shown and "versions: 1.0.1 (latest), 1.0.0 (pinned)" in shown
    assert "name: brand-guidelines" in shown
    assert main(["skills", "export", "brand-guidelines@1.0.1", str(tmp_path)]) == 0
    bundle = Path(capsys.readouterr().out.strip())
    assert bundle == tmp_path / "brand-guidelines-1.0.1.zip" and bundle.is_file()
    assert main(["skills", "pin", "brand-guidelines", "--latest"]) == 0
    assert "now uses 1.0.1" in capsys.readouterr().out


def test_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["skills", "show", "no-such-skill"]) == 1
    assert capsys.readouterr().err.startswith("error: no skill named 'no-such-skill'")


def test_trust_marks_a_third_party_skill_and_revokes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from skills.registry import Registry
    from storage.db import Database

    folder = tmp_path / "brand-guidelines"
    shutil.copytree(DATA / "brand-guidelines", folder)
    assert main(["skills", "install", str(folder)]) == 0
    db = Database()
    try:
        registry = Registry(db)
        assert "brand-guidelines" not in registry.trusted_names() and "web-research" in registry.trusted_names()
        assert main(["skills", "trust", "brand-guidelines"]) == 0
        assert "brand-guidelines is now trusted" in capsys.readouterr().out
        assert "brand-guidelines" in registry.trusted_names()
        assert main(["skills", "trust", "brand-guidelines", "--revoke"]) == 0
        assert "brand-guidelines" not in registry.trusted_names()
    finally:
        db.close()
