"""The Agent-Hub skills registry: install, version, pin, search, diff, export and import skills in the database.

Every change is one transaction (a failed install leaves nothing behind). Versions are immutable: the same
name@version with other content is refused; the same content under a new version is kept and flagged
`duplicate_of`. Installing content that is already there is a no-op returning the existing version.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import semver
from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from skills import bundle, index, skillmd
from skills.content import SkillContent, content_hash, load_folder, read_folder, sha256
from skills.errors import SkillError, SkillNotFound, VersionConflict
from skills.index import SkillHit
from storage.db import Database
from storage.models import utcnow
from storage.skills import Skill, SkillFile, SkillVersion

__all__ = ["BUILTIN_DIR", "Registry", "SkillHit", "SkillVersion"]

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
log = logging.getLogger(__name__)


class Registry:
    """Skills stored in `db`; builtin_dir holds the skill folders ensure_builtin() installs."""

    def __init__(self, db: Database, builtin_dir: Path | None = None) -> None:
        self.db = db
        self.builtin_dir = BUILTIN_DIR if builtin_dir is None else Path(builtin_dir)

    # --- installing ------------------------------------------------------------------------------------------

    def install_folder(self, path: str | os.PathLike[str], source: str = "folder",
                       origin: str | None = None) -> SkillVersion:
        """Install a skill folder (its name must equal the SKILL.md name); version from metadata.version or next."""
        return self.install(load_folder(path), source=source, origin=origin or str(Path(path).resolve()))

    def import_bundle(self, path: str | os.PathLike[str], origin: str | None = None) -> SkillVersion:
        """Install a .zip bundle after verifying it against its manifest (see skills.bundle)."""
        content, version = bundle.read_bundle(path)
        source = "bundle" if version is not None else "zip"
        return self.install(content, source=source, origin=origin or str(Path(path).resolve()), version=version)

    def save(self, name: str, skill_md_text: str, source: str = "edited") -> SkillVersion:
        """Store an edited SKILL.md as a new version, keeping the other files of the version in use.

        The version is metadata.version when it is new and above the latest, else the next patch version.
        """
        skillmd.check_name(name)
        files = self.files(name) if self.exists(name) else {}
        files[skillmd.SKILL_FILE] = skill_md_text.encode("utf-8")
        return self.install(SkillContent.from_files(files, folder=name), source=source, on_conflict="bump")

    def install(
        self,
        content: SkillContent,
        source: str,
        origin: str | None = None,
        version: str | None = None,
        on_conflict: Literal["refuse", "bump"] = "refuse",
    ) -> SkillVersion:
        """Store validated content as a version of its skill in one transaction; see the module docstring.

        version overrides metadata.version. on_conflict="bump" assigns the next patch version instead of refusing
        a taken (or lower than latest) explicit version.
        """
        name, digest = content.skill.name, content.sha256
        explicit = version or content.skill.version
        with self.db.session() as s:
            skill = self._claim(s, name)
            rows = list(s.execute(select(SkillVersion.version, SkillVersion.sha256).where(SkillVersion.name == name)))
            have = {v: h for v, h in rows}
            chosen = self._choose_version(name, explicit, digest, have, skill if have else None, on_conflict)
            if chosen in have:
                return self._version(s, name, chosen)
            now = utcnow()
            row = SkillVersion(
                name=name,
                version=chosen,
                sha256=digest,
                description=content.skill.description,
                body=content.skill.body,
                resources=content.resources(),
                front_matter=content.skill.front_matter(),
                source=source,
                origin=origin,
                duplicate_of=_first_with(have, digest),
                created_at=now,
            )
            s.add(row)
            s.flush()
            s.execute(
                insert(SkillFile),
                [
                    {"version_id": row.id, "path": p, "size": len(d), "sha256": sha256(d), "data": d}
                    for p, d in content.files.items()
                ],
            )
            skill.latest_version = skillmd.latest([*have, chosen]) or chosen
            skill.updated_at = now
            self._activate(s, skill)
            return row

    @staticmethod
    def _choose_version(
        name: str, explicit: str | None, digest: str, have: dict[str, str], skill: Skill | None, on_conflict: str
    ) -> str:
        """The version to store content under (an existing one means: already installed, nothing to do)."""
        latest = skill.latest_version if skill else None
        if explicit is None:
            return latest if latest is not None and have.get(latest) == digest else skillmd.next_patch(list(have))
        if have.get(explicit) == digest:
            return explicit
        below = latest is not None and semver.Version.parse(explicit) < semver.Version.parse(latest)
        if on_conflict == "bump" and (explicit in have or below):
            if latest is not None and have.get(latest) == digest:
                return latest
            return skillmd.next_patch(list(have))
        if explicit in have:
            raise VersionConflict(
                f"{name}@{explicit} is already installed with different content: raise metadata.version "
                f"(the next free one is {skillmd.next_patch(list(have))}) or remove it to get one assigned"
            )
        return explicit

    def ensure_builtin(self, strict: bool = False) -> list[SkillVersion]:
        """Install or upgrade the skills in builtin_dir whose content is not stored yet; return what was installed.

        Cheap when nothing changed: it hashes the folders and compares with one query. A broken built-in is
        logged and skipped (raised when strict, as the tests do).
        """
        if not self.builtin_dir.is_dir():
            return []
        folders = sorted(p for p in self.builtin_dir.iterdir() if (p / skillmd.SKILL_FILE).is_file())
        with self.db.session(write=False) as s:
            stored = set(
                s.execute(
                    select(SkillVersion.name, SkillVersion.sha256).where(
                        SkillVersion.name.in_([p.name for p in folders])
                    )
                ).all()
            )
        installed: list[SkillVersion] = []
        for folder in folders:
            try:
                files = read_folder(folder)
                if (folder.name, content_hash({p: sha256(d) for p, d in files.items()})) in stored:
                    continue
                content = SkillContent.from_files(files, folder=folder.name)
                installed.append(self.install(content, source="builtin", origin=str(folder), on_conflict="bump"))
            except SkillError as err:
                if strict:
                    raise
                log.warning("built-in skill %s not installed: %s", folder.name, err)
        return installed

    # --- versions ---------------------------------------------------------------------------------------------

    def pin(self, name: str, version: str | None) -> SkillVersion:
        """Use version of name from now on (search, get, load); None unpins: the latest is used again."""
        with self.db.session() as s:
            skill = self._skill(s, name)
            if version is not None:
                version = str(skillmd.parse_version(version))
                self._version(s, name, version)
            skill.pinned_version = version
            skill.updated_at = utcnow()
            self._activate(s, skill)
            return self._version(s, name, skill.pinned_version or skill.latest_version)

    def remove(self, name: str, version: str | None = None) -> None:
        """Delete one version of a skill, or the whole skill when version is None (or it was the last version)."""
        with self.db.session() as s:
            skill = self._skill(s, name)
            if skill.active_version_id is not None:
                index.remove(s, skill.active_version_id)
                skill.active_version_id = None
                s.flush()
            if version is not None:
                row = self._version(s, name, version)
                s.execute(delete(SkillVersion).where(SkillVersion.id == row.id))
            left = list(s.execute(select(SkillVersion.version).where(SkillVersion.name == name)).scalars())
            if not left or version is None:
                s.execute(delete(SkillVersion).where(SkillVersion.name == name))
                s.delete(skill)
                return
            skill.latest_version = skillmd.latest(left) or left[0]
            if skill.pinned_version == version:
                skill.pinned_version = None
            self._activate(s, skill)

    def is_builtin(self, name: str) -> bool:
        """Whether the app ships this skill (a version came from builtin_dir): it is reinstalled at every start."""
        with self.db.session(write=False) as s:
            query = select(SkillVersion.id).where(SkillVersion.name == name, SkillVersion.source == "builtin")
            return s.execute(query).first() is not None

    def uninstall(self, name: str) -> None:
        """Remove a skill with all its versions and files; built-in skills are refused (pin or edit them instead)."""
        if self.is_builtin(name):
            raise SkillError(f"{name} is built in and cannot be uninstalled: pin a version or save an edited one "
                             "instead.")
        self.remove(name)

    def diff(self, name: str, a: str, b: str) -> str:
        """A unified diff of every file between versions a and b ('' when the content is the same)."""
        old, new = self.files(name, a), self.files(name, b)
        out: list[str] = []
        for path in sorted(set(old) | set(new)):
            before, after = old.get(path), new.get(path)
            if before == after:
                continue
            left, right = f"{name}@{a}/{path}", f"{name}@{b}/{path}"
            if _is_binary(before) or _is_binary(after):
                out.append(f"Binary files {left} and {right} differ\n")
                continue
            out.extend(
                difflib.unified_diff(
                    _lines(before),
                    _lines(after),
                    fromfile=left if before is not None else "/dev/null",
                    tofile=right if after is not None else "/dev/null",
                )
            )
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)

    # --- reading ----------------------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 5, min_score: float = 0.0) -> list[SkillHit]:
        """Skills relevant to query (any words, prefix-matched over name, description and body), best first.

        Scores are bm25 (SQLite) or ts_rank (Postgres), higher is better. Words found in half the skills or more
        score about 0: min_score=1e-3 keeps only skills matched by rarer words (what a system prompt wants).
        """
        with self.db.engine.connect() as conn:
            return index.search(conn, query, limit, min_score)

    def get(self, name: str, version: str | None = None) -> SkillVersion:
        """A version of name: the given one, else the pinned one, else the latest."""
        with self.db.session(write=False) as s:
            if version is not None:
                return self._version(s, name, str(skillmd.parse_version(version)))
            skill = self._skill(s, name)
            return self._version(s, name, skill.pinned_version or skill.latest_version)

    # --- trust ------------------------------------------------------------------------------------------------

    def set_trusted(self, name: str, trusted: bool = True) -> Skill:
        """Mark a skill trusted (its text then reaches the model as instructions) or untrusted again."""
        with self.db.session() as s:
            skill = self._skill(s, name)
            skill.trusted = trusted
            skill.updated_at = utcnow()
            return skill

    def is_trusted(self, row: SkillVersion) -> bool:
        """Whether a version's text is trusted: a built-in version, or a skill the user marked trusted."""
        if row.source == "builtin":
            return True
        with self.db.session(write=False) as s:
            skill = s.get(Skill, row.name)
            return bool(skill is not None and skill.trusted)

    def trusted_names(self) -> set[str]:
        """Names of the skills whose version in use is trusted (built-in, or marked trusted)."""
        with self.db.session(write=False) as s:
            stmt = select(Skill.name, Skill.trusted, SkillVersion.source).join(
                SkillVersion, Skill.active_version_id == SkillVersion.id
            )
            return {name for name, trusted, source in s.execute(stmt) if trusted or source == "builtin"}

    def skill(self, name: str) -> Skill:
        """The skill's row: latest and pinned versions, times."""
        with self.db.session(write=False) as s:
            return self._skill(s, name)

    def exists(self, name: str) -> bool:
        """Whether a skill of that name is installed."""
        with self.db.session(write=False) as s:
            return s.get(Skill, name) is not None

    def list(self) -> list[SkillVersion]:
        """The version in use (pinned, else latest) of every skill, by name."""
        with self.db.session(write=False) as s:
            stmt = select(SkillVersion).join(Skill, Skill.active_version_id == SkillVersion.id).order_by(Skill.name)
            return list(s.execute(stmt).scalars())

    def versions(self, name: str) -> list[SkillVersion]:
        """Every version of name, newest (highest) first."""
        with self.db.session(write=False) as s:
            self._skill(s, name)
            rows = list(s.execute(select(SkillVersion).where(SkillVersion.name == name)).scalars())
        return sorted(rows, key=lambda v: semver.Version.parse(v.version), reverse=True)

    def files(self, name: str, version: str | None = None) -> dict[str, bytes]:
        """Every file of a version (path → bytes), SKILL.md included."""
        row = self.get(name, version)
        with self.db.session(write=False) as s:
            found = s.execute(select(SkillFile.path, SkillFile.data).where(SkillFile.version_id == row.id))
            return {p: bytes(d) for p, d in sorted(found)}

    def read_file(self, name: str, path: str, version: str | None = None) -> bytes:
        """One file of a version, e.g. 'SKILL.md' or 'references/forms.md'."""
        row = self.get(name, version)
        with self.db.session(write=False) as s:
            data = s.execute(
                select(SkillFile.data).where(SkillFile.version_id == row.id, SkillFile.path == path.strip().lstrip("/"))
            ).scalar_one_or_none()
        if data is None:
            listing = ", ".join(sorted(row.resources)) or "(none)"
            raise SkillNotFound(f"{name}@{row.version} has no file {path!r}; its files: {listing}")
        return bytes(data)

    def content(self, name: str, version: str | None = None) -> tuple[SkillContent, str]:
        """A version's files as SkillContent, and its version."""
        row = self.get(name, version)
        return SkillContent.from_files(self.files(name, row.version), folder=name), row.version

    def export_bundle(self, name: str, version: str | None, dest_path: str | os.PathLike[str]) -> Path:
        """Write a version (None: the one in use) as a bundle; dest_path is a .zip path or a folder."""
        content, chosen = self.content(name, version)
        return bundle.write_bundle(content, chosen, dest_path)

    def extract(self, name: str, dest: str | os.PathLike[str], version: str | None = None) -> Path:
        """Write a version's files into dest/<name>/ (which must not exist), e.g. to run its scripts."""
        target = Path(dest) / name
        target.mkdir(parents=True, exist_ok=False)
        for path, data in self.files(name, version).items():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            (target / path).write_bytes(data)
        return target

    # --- helpers ----------------------------------------------------------------------------------------------

    @staticmethod
    def _claim(s: Session, name: str) -> Skill:
        """The skill's row, inserted empty if new (insert-or-ignore), locked until the transaction ends.

        Concurrent installs of one name (several processes installing the built-ins at their first start) queue
        on this row instead of racing to insert it: PostgreSQL's ON CONFLICT waits for the inserting transaction,
        then FOR UPDATE holds the row; SQLite's writers are serialised by BEGIN IMMEDIATE anyway. The next
        statements read the versions committed meanwhile, so an install already done is found, not repeated.
        A new skill's row is rolled back with the transaction if the install fails.
        """
        insert_into = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        now = utcnow()
        s.execute(insert_into(Skill).values(name=name, latest_version="", created_at=now, updated_at=now)
                  .on_conflict_do_nothing(index_elements=["name"]))  # fmt: skip
        locked = select(Skill).where(Skill.name == name).with_for_update().execution_options(populate_existing=True)
        return s.execute(locked).scalar_one()

    @staticmethod
    def _skill(s: Session, name: str) -> Skill:
        skill = s.get(Skill, name)
        if skill is None:
            raise SkillNotFound(f"no skill named {name!r} is installed; search_skills or list_skills shows what is")
        return skill

    @staticmethod
    def _version(s: Session, name: str, version: str) -> SkillVersion:
        row = s.execute(
            select(SkillVersion).where(SkillVersion.name == name, SkillVersion.version == version)
        ).scalar_one_or_none()
        if row is None:
            known = sorted(s.execute(select(SkillVersion.version).where(SkillVersion.name == name)).scalars())
            if not known:
                raise SkillNotFound(f"no skill named {name!r} is installed")
            raise SkillNotFound(f"{name} has no version {version}; installed versions: {', '.join(known)}")
        return row

    @staticmethod
    def _activate(s: Session, skill: Skill) -> None:
        """Point the skill (and the search index) at its pinned version, else its latest."""
        s.flush()
        want = skill.pinned_version or skill.latest_version
        row = s.execute(
            select(SkillVersion.id, SkillVersion.description, SkillVersion.body).where(
                SkillVersion.name == skill.name, SkillVersion.version == want
            )
        ).one()
        if skill.active_version_id == row.id:
            return
        if skill.active_version_id is not None:
            index.remove(s, skill.active_version_id)
        index.add(s, row.id, skill.name, row.description, row.body)
        skill.active_version_id = row.id


def _first_with(have: dict[str, str], digest: str) -> str | None:
    same = [v for v, h in have.items() if h == digest]
    return min(same, key=semver.Version.parse) if same else None


def _is_binary(data: bytes | None) -> bool:
    if data is None:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return b"\x00" in data


def _lines(data: bytes | None) -> Sequence[str]:
    return [] if data is None else data.decode("utf-8").splitlines(keepends=True)
