"""skills.bundle through the registry: deterministic export, byte-identical round trips, hostile zips refused."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from skills import bundle, content
from skills.errors import BundleError, InvalidSkill
from skills.registry import Registry
from storage.db import Database
from storage.skills import SkillVersion
from tests.skills.conftest import DATA, write_skill


def _installed(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(SkillVersion)) or 0


@pytest.fixture
def exported(registry: Registry, tmp_path: Path) -> Path:
    registry.install_folder(DATA / "pdf-form-filler")
    return registry.export_bundle("pdf-form-filler", None, tmp_path)


def test_export_lists_every_file_in_the_manifest(exported: Path) -> None:
    assert exported.name == "pdf-form-filler-1.2.0.zip"
    with zipfile.ZipFile(exported) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert names[0] == "manifest.json" and names[1:] == sorted(names[1:])
    folder = content.load_folder(DATA / "pdf-form-filler")
    assert (manifest["name"], manifest["version"], manifest["sha256"]) == ("pdf-form-filler", "1.2.0", folder.sha256)
    assert {f["path"]: (f["size"], f["sha256"]) for f in manifest["files"]} == {
        p: (len(d), content.sha256(d)) for p, d in folder.files.items()
    }


def test_round_trip_is_byte_identical(exported: Path, tmp_path: Path) -> None:
    other_db = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        other = Registry(other_db, builtin_dir=tmp_path / "none")
        row = other.import_bundle(exported)
        assert (row.name, row.version, row.source) == ("pdf-form-filler", "1.2.0", "bundle")
        assert other.files("pdf-form-filler") == content.load_folder(DATA / "pdf-form-filler").files
        again = other.export_bundle("pdf-form-filler", "1.2.0", tmp_path / "again.zip")
        assert again.read_bytes() == exported.read_bytes()
        assert other.import_bundle(again).id == row.id  # same content, same version: a no-op
    finally:
        other_db.close()


def test_assigned_version_travels_in_the_manifest(registry: Registry, tmp_path: Path) -> None:
    folder = write_skill(tmp_path / "src", "unversioned", {"a.md": "1"})
    registry.install_folder(folder)
    (folder / "a.md").write_text("2")
    registry.install_folder(folder)
    path = registry.export_bundle("unversioned", "1.0.1", tmp_path / "u.zip")
    registry.remove("unversioned")
    assert registry.import_bundle(path).version == "1.0.1"


def _rewrite(src: Path, dest: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """Copy a bundle, letting change edit its entries (name → bytes)."""
    with zipfile.ZipFile(src) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    change(entries)
    with zipfile.ZipFile(dest, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return dest


def _manifest(entries: dict[str, bytes]) -> dict:
    return json.loads(entries["manifest.json"])


def _set_manifest(entries: dict[str, bytes], manifest: dict) -> None:
    entries["manifest.json"] = json.dumps(manifest).encode()


def _tamper_file(e: dict[str, bytes]) -> None:
    e["pdf-form-filler/scripts/fill_form.py"] += b"\nimport os; os.system('curl evil')\n"


def _tamper_both(e: dict[str, bytes]) -> None:
    # The attacker also fixes the file's entry in the manifest, but not the content hash.
    _tamper_file(e)
    m = _manifest(e)
    data = e["pdf-form-filler/scripts/fill_form.py"]
    for f in m["files"]:
        if f["path"] == "scripts/fill_form.py":
            f["size"], f["sha256"] = len(data), content.sha256(data)
    _set_manifest(e, m)


def _extra(e: dict[str, bytes]) -> None:
    e["pdf-form-filler/scripts/backdoor.sh"] = b"rm -rf ~\n"


def _missing(e: dict[str, bytes]) -> None:
    del e["pdf-form-filler/references/FIELDS.md"]


def _slip(e: dict[str, bytes]) -> None:
    e["pdf-form-filler/../../evil.py"] = b"x"


def _absolute(e: dict[str, bytes]) -> None:
    e["/etc/cron.d/evil"] = b"x"


def _outside(e: dict[str, bytes]) -> None:
    e["other-skill/SKILL.md"] = b"x"


def _bad_manifest(e: dict[str, bytes]) -> None:
    e["manifest.json"] = b"{not json"


def _renamed(e: dict[str, bytes]) -> None:
    m = _manifest(e)
    m["name"] = "Evil Name"
    _set_manifest(e, m)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_tamper_file, "scripts/fill_form.py does not match the manifest"),
        (_tamper_both, "content hash does not match"),
        (_extra, "files the manifest does not list: scripts/backdoor.sh"),
        (_missing, "missing files its manifest lists: references/FIELDS.md"),
        (_slip, "unsafe path in bundle"),
        (_absolute, "unsafe path in bundle"),
        (_outside, "outside the pdf-form-filler/ folder"),
        (_bad_manifest, "manifest.json is malformed"),
        (_renamed, "skill name 'Evil Name' is invalid"),
    ],
)
def test_hostile_bundles_install_nothing(
    exported: Path, registry: Registry, db: Database, tmp_path: Path, change: Callable, message: str
) -> None:
    registry.remove("pdf-form-filler")
    bad = _rewrite(exported, tmp_path / "bad.zip", change)
    with pytest.raises(InvalidSkill, match=message):
        registry.import_bundle(bad)
    assert _installed(db) == 0
    assert not (tmp_path.parent / "evil.py").exists()


def test_symlink_entry_refused(exported: Path, registry: Registry, db: Database, tmp_path: Path) -> None:
    registry.remove("pdf-form-filler")
    bad = tmp_path / "link.zip"
    with zipfile.ZipFile(exported) as src, zipfile.ZipFile(bad, "w") as zf:
        for item in src.infolist():
            zf.writestr(item, src.read(item))
        link = zipfile.ZipInfo("pdf-form-filler/passwd")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(BundleError, match="symlink"):
        registry.import_bundle(bad)
    assert _installed(db) == 0


def test_zip_bomb_refused_without_inflating_it(registry: Registry, db: Database, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb/SKILL.md", "---\nname: bomb\ndescription: boom\n---\n")
        zf.writestr("bomb/zeros.bin", b"\0" * (content.MAX_FILE_BYTES + 1))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(BundleError, match="larger than"):
        registry.import_bundle(bomb)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(5):
            zf.writestr(f"many/{i}.bin", b"\0" * (content.MAX_TOTAL_BYTES // 4))
    with pytest.raises(BundleError, match="unpacks to more than"):
        registry.import_bundle(many)
    assert _installed(db) == 0


def test_not_a_zip_and_duplicates(registry: Registry, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 but not really")
    with pytest.raises(BundleError, match="not a valid zip"):
        registry.import_bundle(junk)
    with pytest.raises(BundleError, match="cannot read"):
        registry.import_bundle(tmp_path / "absent.zip")
    dup = tmp_path / "dup.zip"
    with zipfile.ZipFile(dup, "w") as zf:
        zf.writestr("d/SKILL.md", "---\nname: d\ndescription: x\n---\n")
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("d/SKILL.md", "---\nname: d\ndescription: y\n---\n")
    with pytest.raises(BundleError, match="appears twice"):
        registry.import_bundle(dup)


def test_plain_zip_of_a_skill_folder_is_accepted(registry: Registry, tmp_path: Path) -> None:
    """Skills shared by other tools come as the folder zipped, without our manifest."""
    plain = tmp_path / "brand.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        for path in sorted((DATA / "brand-guidelines").rglob("*")):
            zf.write(path, path.relative_to(DATA).as_posix())
    row = registry.import_bundle(plain)
    assert (row.name, row.source, row.version) == ("brand-guidelines", "zip", "1.0.0")
    assert registry.files("brand-guidelines") == content.load_folder(DATA / "brand-guidelines").files


def test_bundle_bytes_do_not_depend_on_file_order() -> None:
    folder = content.load_folder(DATA / "brand-guidelines")
    shuffled = content.SkillContent.from_files(dict(reversed(list(folder.files.items()))), folder="brand-guidelines")
    assert bundle.bundle_bytes(folder, "1.0.0") == bundle.bundle_bytes(shuffled, "1.0.0")
    with zipfile.ZipFile(io.BytesIO(bundle.bundle_bytes(folder, "1.0.0"))) as zf:
        assert zf.testzip() is None
