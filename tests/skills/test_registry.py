"""skills.registry on real SQLite: installs, versions, conflicts, pins, diffs, search, built-ins, transactions."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from skills import content
from skills.errors import InvalidSkill, SkillNotFound, VersionConflict
from skills.registry import BUILTIN_DIR, Registry
from storage.db import Database
from storage.skills import Skill, SkillFile, SkillVersion
from tests.skills.conftest import DATA, skill_md, write_skill


def _counts(db: Database) -> tuple[int, int, int, int]:
    with db.engine.connect() as conn:
        tables = [conn.scalar(select(func.count()).select_from(t)) for t in (Skill, SkillVersion, SkillFile)]
        fts = conn.scalar(text("SELECT count(*) FROM skills_fts"))
    return (*tables, fts)  # type: ignore[return-value]


def test_interop_folders_install_and_load_unchanged(registry: Registry, tmp_path: Path) -> None:
    """Skills written by hand in the public format install, and every file reads back byte for byte."""
    for name in ("pdf-form-filler", "brand-guidelines"):
        folder = tmp_path / name
        shutil.copytree(DATA / name, folder)
        row = registry.install_folder(folder)
        assert (row.name, row.source, row.origin) == (name, "folder", str(folder))
        originals = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        assert registry.files(name) == originals
        assert row.body == (folder / "SKILL.md").read_text().split("---\n", 2)[2]
        for path, data in originals.items():
            assert registry.read_file(name, path) == data
        assert set(row.resources) == set(originals)
    assert registry.get("pdf-form-filler").version == "1.2.0"  # metadata.version "1.2"
    assert registry.get("brand-guidelines").version == "1.0.0"  # assigned
    assert [v.name for v in registry.list()] == ["brand-guidelines", "pdf-form-filler"]
    fm = registry.get("pdf-form-filler").front_matter
    assert fm["allowed_tools"] == ["Bash(python:*)", "Read", "Write"] and fm["license"] == "Apache-2.0"


def test_versions_assigned_duplicates_flagged_and_reinstall_is_a_no_op(registry: Registry, tmp_path: Path) -> None:
    folder = write_skill(tmp_path, "notes", {"ref.md": "one"})
    first = registry.install_folder(folder)
    assert (first.version, first.duplicate_of) == ("1.0.0", None)
    assert registry.install_folder(folder).id == first.id  # same content again: nothing new
    (folder / "ref.md").write_text("two")
    second = registry.install_folder(folder)
    assert (second.version, second.duplicate_of) == ("1.0.1", None)
    (folder / "ref.md").write_text("one")  # back to the first content: a new version, flagged
    third = registry.install_folder(folder)
    assert (third.version, third.duplicate_of, third.sha256) == ("1.0.2", "1.0.0", first.sha256)
    assert [v.version for v in registry.versions("notes")] == ["1.0.2", "1.0.1", "1.0.0"]
    assert registry.skill("notes").latest_version == "1.0.2"


def test_same_version_other_content_is_refused_and_nothing_changes(
    registry: Registry, db: Database, tmp_path: Path
) -> None:
    folder = write_skill(tmp_path, "fixed", extra="metadata:\n  version: 2.0.0\n")
    registry.install_folder(folder)
    before = _counts(db)
    (folder / "extra.md").write_text("new file, same version")
    with pytest.raises(VersionConflict, match=r"fixed@2.0.0 is already installed .* next free one is 2.0.1"):
        registry.install_folder(folder)
    assert _counts(db) == before
    (folder / "extra.md").unlink()
    (folder / "SKILL.md").write_text((folder / "SKILL.md").read_text().replace("2.0.0", "2.1.0"))
    assert registry.install_folder(folder).version == "2.1.0"


def test_same_content_under_a_new_declared_version_is_flagged(registry: Registry, tmp_path: Path) -> None:
    files = {"ref.md": "same bytes"}
    registry.install(content.SkillContent.from_files(_files("twin", files)), source="folder", version="1.0.0")
    row = registry.install(content.SkillContent.from_files(_files("twin", files)), source="folder", version="3.0.0")
    assert (row.version, row.duplicate_of) == ("3.0.0", "1.0.0")


def _files(name: str, extra: dict[str, str]) -> dict[str, bytes]:
    return {"SKILL.md": skill_md(name).encode(), **{p: d.encode() for p, d in extra.items()}}


def test_bad_folders_install_nothing(registry: Registry, db: Database, tmp_path: Path) -> None:
    bad = write_skill(tmp_path, "bad", {"SKILL.md": "---\nname: bad\n---\nno description\n"})
    with pytest.raises(InvalidSkill, match="missing 'description'"):
        registry.install_folder(bad)
    wrong = write_skill(tmp_path, "folder-name", {"SKILL.md": skill_md("other-name")})
    with pytest.raises(InvalidSkill, match="must match its folder name"):
        registry.install_folder(wrong)
    assert _counts(db) == (0, 0, 0, 0)


def test_failure_mid_install_rolls_everything_back(
    registry: Registry, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the rows are written (here: indexing) leaves no skill, version, file or index row."""
    from skills import index

    def broken(*args: object, **kw: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(index, "add", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        registry.install_folder(write_skill(tmp_path, "half", {"a.md": "a"}))
    assert _counts(db) == (0, 0, 0, 0)


def test_pin_upgrade_and_search_follow_the_version_in_use(registry: Registry, tmp_path: Path) -> None:
    folder = write_skill(tmp_path, "tax-forms", description="Old, prepares VAT returns.")
    registry.install_folder(folder)
    write_skill(tmp_path, "tax-forms", description="New, prepares payroll reports.")
    registry.install_folder(folder)
    assert registry.get("tax-forms").version == "1.0.1"
    assert [h.version for h in registry.search("payroll")] == ["1.0.1"] and not registry.search("VAT")
    assert registry.pin("tax-forms", "1.0.0").version == "1.0.0"
    assert registry.get("tax-forms").version == "1.0.0" and registry.skill("tax-forms").pinned_version == "1.0.0"
    assert [h.version for h in registry.search("VAT")] == ["1.0.0"] and not registry.search("payroll")
    write_skill(tmp_path, "tax-forms", description="Newer, prepares payroll and VAT.")
    registry.install_folder(folder)  # a newer version does not move a pin
    assert registry.get("tax-forms").version == "1.0.0"
    registry.pin("tax-forms", None)  # upgrade: back to the latest
    assert registry.get("tax-forms").version == "1.0.2"
    assert [h.version for h in registry.search("VAT")] == ["1.0.2"]
    with pytest.raises(SkillNotFound, match="installed versions: 1.0.0, 1.0.1, 1.0.2"):
        registry.pin("tax-forms", "9.9.9")


def test_diff_two_versions(registry: Registry, tmp_path: Path) -> None:
    folder = write_skill(tmp_path, "differ", {"a.md": "line 1\nline 2\n", "gone.md": "bye\n", "img.bin": b"\0\1"})
    registry.install_folder(folder)
    (folder / "a.md").write_text("line 1\nline two\n")
    (folder / "gone.md").unlink()
    (folder / "new.md").write_text("hello")
    (folder / "img.bin").write_bytes(b"\0\2")
    registry.install_folder(folder)
    diff = registry.diff("differ", "1.0.0", "1.0.1")
    assert "--- differ@1.0.0/a.md\n+++ differ@1.0.1/a.md\n" in diff
    assert "-line 2\n+line two\n" in diff
    assert "--- differ@1.0.0/gone.md\n+++ /dev/null\n" in diff and "-bye\n" in diff
    assert "+hello\n\\ No newline at end of file\n" in diff
    assert "Binary files differ@1.0.0/img.bin and differ@1.0.1/img.bin differ" in diff
    assert registry.diff("differ", "1.0.1", "1.0.1") == ""


def test_search_ranks_name_over_body_and_prefix_matches(registry: Registry, tmp_path: Path) -> None:
    write_skill(tmp_path, "invoice-parser", description="Parses supplier invoices into rows.")
    write_skill(tmp_path, "mail-helper", description="Drafts emails.", body="Mentions an invoice once.\n")
    write_skill(tmp_path, "unrelated", description="Plays chess.")
    for name in ("invoice-parser", "mail-helper", "unrelated"):
        registry.install_folder(tmp_path / name)
    assert [h.name for h in registry.search("invoice")] == ["invoice-parser", "mail-helper"]
    assert [h.name for h in registry.search("invo")] == ["invoice-parser", "mail-helper"]  # prefix
    assert [h.name for h in registry.search("please parse the supplier's invoices", limit=1)] == ["invoice-parser"]
    assert registry.search("the of and") == [] and registry.search("") == []
    assert registry.search('"; DROP TABLE skills; --') == []  # quotes and operators are not FTS syntax
    hit = registry.search("chess")[0]
    assert (hit.name, hit.version, hit.description) == ("unrelated", "1.0.0", "Plays chess.") and hit.score > 0


def test_save_makes_a_new_version_keeping_other_files(registry: Registry, tmp_path: Path) -> None:
    registry.install_folder(
        write_skill(tmp_path, "editable", {"ref.md": "kept"}, extra="metadata:\n  version: 1.0.0\n")
    )
    edited = skill_md("editable", body="# Better steps\n", extra="metadata:\n  version: 1.0.0\n")
    row = registry.save("editable", edited)
    assert (row.version, row.source) == ("1.0.1", "edited")  # the taken version is bumped, not refused
    assert registry.read_file("editable", "ref.md") == b"kept"
    assert registry.read_file("editable", "SKILL.md") == edited.encode()
    assert registry.save("editable", edited).version == "1.0.1"  # unchanged: no new version
    brand_new = registry.save("fresh-skill", skill_md("fresh-skill"))
    assert (brand_new.version, list(brand_new.resources)) == ("1.0.0", ["SKILL.md"])
    with pytest.raises(InvalidSkill, match="must match its folder name"):
        registry.save("editable", skill_md("renamed"))


def test_remove(registry: Registry, db: Database, tmp_path: Path) -> None:
    folder = write_skill(tmp_path, "short-lived")
    registry.install_folder(folder)
    write_skill(tmp_path, "short-lived", description="Second.")
    registry.install_folder(folder)
    registry.remove("short-lived", "1.0.1")
    assert registry.get("short-lived").version == "1.0.0" and registry.search("second") == []
    registry.remove("short-lived")
    assert _counts(db) == (0, 0, 0, 0)
    with pytest.raises(SkillNotFound, match="no skill named 'short-lived'"):
        registry.get("short-lived")


def test_missing_things_say_what_exists(registry: Registry) -> None:
    registry.install_folder(DATA / "brand-guidelines")
    with pytest.raises(SkillNotFound, match="its files: SKILL.md, assets/logo.svg"):
        registry.read_file("brand-guidelines", "nope.md")
    with pytest.raises(SkillNotFound, match="search_skills or list_skills"):
        registry.get("nope")


def test_ensure_builtin_installs_once_and_upgrades(db: Database, tmp_path: Path) -> None:
    builtin = tmp_path / "builtin"
    write_skill(builtin, "house-style", {"ref.md": "v1"})
    registry = Registry(db, builtin_dir=builtin)
    assert [(v.name, v.version, v.source) for v in registry.ensure_builtin()] == [("house-style", "1.0.0", "builtin")]
    assert registry.ensure_builtin() == []
    (builtin / "house-style/ref.md").write_text("v2")
    assert [v.version for v in registry.ensure_builtin()] == ["1.0.1"]
    write_skill(builtin, "broken", {"SKILL.md": "no front matter"})
    assert registry.ensure_builtin() == []  # logged, not fatal
    with pytest.raises(InvalidSkill):
        registry.ensure_builtin(strict=True)


def test_shipped_builtins_are_valid_and_ensure_builtin_is_cheap(db: Database) -> None:
    registry = Registry(db)
    installed = registry.ensure_builtin(strict=True)
    assert {v.name for v in installed} == {p.name for p in BUILTIN_DIR.iterdir() if (p / "SKILL.md").exists()}
    started = time.perf_counter()
    assert registry.ensure_builtin() == []
    assert time.perf_counter() - started < 1.0  # generous: the check is one query and a few small hashes


def test_extract_writes_the_folder(registry: Registry, tmp_path: Path) -> None:
    registry.install_folder(DATA / "pdf-form-filler")
    out = registry.extract("pdf-form-filler", tmp_path / "out")
    assert content.load_folder(out).sha256 == content.load_folder(DATA / "pdf-form-filler").sha256
