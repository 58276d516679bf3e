"""Skill bundles: a .zip holding `manifest.json` and the skill folder `<name>/…`, verified file by file on import.

The manifest lists every file's path, size and sha256 plus the skill's name, version and content hash. Import
refuses, before anything is installed: paths that could escape (absolute, '..', backslashes, symlink entries),
duplicate or unlisted entries, missing files, sizes or hashes that differ from the manifest, and archives over
the size limits (entries are read with a bounded reader, so a zip bomb's lying headers do not matter).

Export is deterministic (sorted entries, fixed timestamps and permissions, fixed compression level), so a bundle
exported, imported elsewhere and exported again is byte-identical.

A .zip without a manifest (as other agents share skills: the folder zipped, or its files at the top) is accepted
too, with the same path and size checks; there is then nothing to verify the files against.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from pathlib import Path

from skills import skillmd
from skills.content import MAX_FILE_BYTES, MAX_FILES, MAX_TOTAL_BYTES, SkillContent, check_path, content_hash, sha256
from skills.errors import BundleError, InvalidSkill

MANIFEST = "manifest.json"
FORMAT = "k2hub-skill-bundle/1"
MAX_BUNDLE_BYTES = MAX_TOTAL_BYTES + 4 * 1024 * 1024
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: exports carry no clock
FILE_MODE = 0o100644
COMPRESS_LEVEL = 9


def manifest(content: SkillContent, version: str) -> dict[str, object]:
    """The manifest of content exported as version."""
    return {
        "format": FORMAT,
        "name": content.skill.name,
        "version": version,
        "sha256": content.sha256,
        "files": [{"path": p, "size": len(d), "sha256": sha256(d)} for p, d in content.files.items()],
    }


def write_bundle(content: SkillContent, version: str, dest: str | os.PathLike[str]) -> Path:
    """Write content as a bundle at dest (a .zip path, or a folder to put `<name>-<version>.zip` in)."""
    target = Path(dest)
    if target.is_dir():
        target = target / f"{content.skill.name}-{version}.zip"
    data = bundle_bytes(content, version)
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def bundle_bytes(content: SkillContent, version: str) -> bytes:
    """The bundle as bytes (see write_bundle)."""
    buf = io.BytesIO()
    entries = [(MANIFEST, json.dumps(manifest(content, version), indent=2, sort_keys=True).encode() + b"\n")]
    entries += [(f"{content.skill.name}/{p}", d) for p, d in content.files.items()]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = FILE_MODE << 16
            info.create_system = 3  # Unix, whatever system exports: the bytes must not depend on it
            zf.writestr(info, data, compresslevel=COMPRESS_LEVEL)
    return buf.getvalue()


def read_bundle(path: str | os.PathLike[str]) -> tuple[SkillContent, str | None]:
    """Read and verify a bundle; return its content and the manifest's version (None for a plain zip)."""
    source = Path(path)
    try:
        size = source.stat().st_size
    except OSError as err:
        raise BundleError(f"{source}: cannot read the bundle ({err.strerror})") from None
    if size > MAX_BUNDLE_BYTES:
        raise BundleError(f"{source.name} is {size:,} bytes; bundles are limited to {MAX_BUNDLE_BYTES:,}")
    try:
        with zipfile.ZipFile(source) as zf:
            raw = _entries(zf)
    except zipfile.BadZipFile as err:
        raise BundleError(f"{source.name} is not a valid zip file: {err}") from None
    if MANIFEST in raw:
        return _verified(raw)
    return _plain(raw), None


def _entries(zf: zipfile.ZipFile) -> dict[str, bytes]:
    """Every file entry (name → bytes), safely: unsafe names, links, duplicates and oversize data refused."""
    infos = zf.infolist()
    if len(infos) > MAX_FILES + 64:
        raise BundleError(f"the bundle has {len(infos)} entries; the limit is {MAX_FILES}")
    out: dict[str, bytes] = {}
    total = 0
    for info in infos:
        name = info.filename
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise BundleError(f"bundle entry {name!r} is a symlink: links are not allowed in skills")
        if info.is_dir():
            _safe(name.rstrip("/") or ".")
            continue
        _safe(name)
        if name in out:
            raise BundleError(f"bundle entry {name!r} appears twice")
        with zf.open(info) as f:
            data = f.read(MAX_FILE_BYTES + 1)  # bounded: never trust the header's size
        if len(data) > MAX_FILE_BYTES:
            raise BundleError(f"bundle entry {name!r} is larger than {MAX_FILE_BYTES:,} bytes once unpacked")
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise BundleError(f"the bundle unpacks to more than {MAX_TOTAL_BYTES:,} bytes; refused")
        out[name] = data
    return out


def _safe(name: str) -> None:
    try:
        check_path(name)
    except InvalidSkill as err:
        raise BundleError(f"unsafe path in bundle: {err}") from None


def _verified(raw: dict[str, bytes]) -> tuple[SkillContent, str]:
    """Check every entry against the manifest; return the content and its version."""
    try:
        man = json.loads(raw.pop(MANIFEST))
        name, version, listed = man["name"], man["version"], man["files"]
        entries = {str(f["path"]): (int(f["size"]), str(f["sha256"])) for f in listed}
    except (ValueError, KeyError, TypeError) as err:
        raise BundleError(f"{MANIFEST} is malformed ({type(err).__name__}: {err}); re-export the bundle") from None
    if man.get("format") != FORMAT:
        raise BundleError(f"{MANIFEST} format {man.get('format')!r} is not {FORMAT!r}")
    skillmd.check_name(name)
    version = str(skillmd.parse_version(version, what="manifest version"))
    if len(entries) != len(listed):
        raise BundleError(f"{MANIFEST} lists a path twice")
    prefix = f"{name}/"
    outside = sorted(n for n in raw if not n.startswith(prefix))
    if outside:
        raise BundleError(f"bundle entries outside the {prefix} folder: {', '.join(outside[:5])}")
    files = {n[len(prefix) :]: d for n, d in raw.items()}
    extra, missing = sorted(set(files) - set(entries)), sorted(set(entries) - set(files))
    if extra:
        raise BundleError(f"bundle has files the manifest does not list: {', '.join(extra[:5])}")
    if missing:
        raise BundleError(f"bundle is missing files its manifest lists: {', '.join(missing[:5])}")
    for path, (size, digest) in entries.items():
        if len(files[path]) != size or sha256(files[path]) != digest:
            raise BundleError(f"{path} does not match the manifest (size or sha256 differs): the bundle was altered")
    if content_hash({p: d for p, (_, d) in entries.items()}) != man.get("sha256"):
        raise BundleError(f"{MANIFEST} content hash does not match its file list: the bundle was altered")
    return SkillContent.from_files(files, folder=name), version


def _plain(raw: dict[str, bytes]) -> SkillContent:
    """A zip of a skill folder (or of its files) without a manifest."""
    if skillmd.SKILL_FILE in raw:
        return SkillContent.from_files(raw)
    tops = {n.split("/", 1)[0] for n in raw}
    if len(tops) != 1 or f"{next(iter(tops))}/{skillmd.SKILL_FILE}" not in raw:
        raise BundleError(
            f"no {MANIFEST} and no {skillmd.SKILL_FILE}: a bundle holds one skill folder (<name>/SKILL.md …)"
        )
    top = next(iter(tops))
    return SkillContent.from_files({n[len(top) + 1 :]: d for n, d in raw.items()}, folder=top)
