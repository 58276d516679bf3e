"""SKILL.md parsing and validation per the public Agent Skills format, and semantic versions.

A SKILL.md is YAML front matter between two `---` lines, then a markdown body. Required: `name` (1-64 of a-z 0-9
and single hyphens, not at either end, equal to the folder name) and `description` (1-1024 characters). Optional:
`license`, `compatibility` (≤ 500 characters), `allowed-tools` (space-delimited; a YAML list is accepted too) and
`metadata` (a map of strings; `metadata.version` is the skill's semantic version). Other keys are kept in `extra`
so skills written for other agents (Claude Code's `model`, `argument-hint`…) install unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import semver
import yaml

from skills.errors import InvalidSkill

SKILL_FILE = "SKILL.md"
MAX_SKILL_MD_BYTES = 256 * 1024
"""A SKILL.md is read into the model's context whole: anything larger is refused (put detail in references/)."""
MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 1024
MAX_COMPATIBILITY_CHARS = 500
FIRST_VERSION = "1.0.0"

NAME_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE)
_EMPTY_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n---[ \t]*(?:\r?\n|\Z)")


@dataclass(frozen=True)
class SkillMd:
    """A parsed, validated SKILL.md; `text` is the file exactly as given."""

    name: str
    description: str
    body: str
    text: str
    license: str | None = None
    compatibility: str | None = None
    allowed_tools: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str | None:
        """metadata.version, normalised to MAJOR.MINOR.PATCH, or None when the file does not give one."""
        raw = self.metadata.get("version")
        return None if raw is None else str(parse_version(raw, what="metadata.version"))

    def front_matter(self) -> dict[str, Any]:
        """The front matter fields as stored (JSON-safe), for the registry's metadata column."""
        out: dict[str, Any] = {"license": self.license, "compatibility": self.compatibility}
        out["allowed_tools"] = self.allowed_tools
        out["metadata"] = self.metadata
        out["extra"] = {k: _json_safe(v) for k, v in self.extra.items()}
        return out


def decode(data: bytes, what: str = SKILL_FILE) -> str:
    """UTF-8 text of a SKILL.md, refusing binary content and files over MAX_SKILL_MD_BYTES."""
    if len(data) > MAX_SKILL_MD_BYTES:
        raise InvalidSkill(
            f"{what} is {len(data):,} bytes; the limit is {MAX_SKILL_MD_BYTES:,}: move detail into references/ files"
        )
    if b"\x00" in data:
        raise InvalidSkill(f"{what} is binary (it contains NUL bytes); it must be UTF-8 markdown text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidSkill(f"{what} is not UTF-8 text (byte {err.start}); save it as UTF-8") from None
    return text.removeprefix("\ufeff")


def parse(data: bytes | str, folder: str | None = None) -> SkillMd:
    """Parse and validate a SKILL.md; folder, when given, is the directory name `name` must equal."""
    text = decode(data) if isinstance(data, bytes) else data
    if isinstance(data, str):
        decode(data.encode("utf-8"))  # same size and NUL checks for text typed into an editor
    fields, body = _split(text)
    name = _required_str(fields, "name", MAX_NAME_CHARS)
    check_name(name)
    if folder is not None and folder != name:
        raise InvalidSkill(f"SKILL.md name {name!r} must match its folder name {folder!r}: rename one of them")
    description = _required_str(fields, "description", MAX_DESCRIPTION_CHARS)
    skill = SkillMd(
        name=name,
        description=description,
        body=body,
        text=text,
        license=_optional_str(fields, "license"),
        compatibility=_optional_str(fields, "compatibility", MAX_COMPATIBILITY_CHARS),
        allowed_tools=_tools(fields.get("allowed-tools")),
        metadata=_metadata(fields.get("metadata")),
        extra={k: v for k, v in fields.items() if k not in _KNOWN},
    )
    _ = skill.version  # validates metadata.version
    return skill


_KNOWN = frozenset({"name", "description", "license", "compatibility", "allowed-tools", "metadata"})


def check_name(name: str) -> str:
    """Return name if it is a valid skill name, else raise InvalidSkill saying why."""
    if not isinstance(name, str) or not name:
        raise InvalidSkill("skill name is empty: use lowercase letters, digits and hyphens, e.g. 'pdf-form-filler'")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidSkill(f"skill name {name[:80]!r} is {len(name)} characters; the limit is {MAX_NAME_CHARS}")
    if not NAME_RE.fullmatch(name):
        suggestion = "-".join(re.findall(r"[a-z0-9]+", name.lower()))[:MAX_NAME_CHARS]
        hint = f", e.g. {suggestion!r}" if suggestion else ""
        raise InvalidSkill(
            f"skill name {name!r} is invalid: use lowercase letters, digits and single hyphens, "
            f"not starting or ending with a hyphen{hint}"
        )
    return name


def parse_version(raw: object, what: str = "version") -> semver.Version:
    """A semantic version; '1' and '1.2' are completed to '1.0.0' and '1.2.0'."""
    text = str(raw).strip().removeprefix("v") if isinstance(raw, (str, int, float)) else ""
    try:
        return semver.Version.parse(text, optional_minor_and_patch=True)
    except (ValueError, TypeError):
        raise InvalidSkill(f"{what} {raw!r} is not a semantic version: use MAJOR.MINOR.PATCH, e.g. '1.2.0'") from None


def next_patch(versions: list[str]) -> str:
    """The version after the highest of versions (FIRST_VERSION when there are none)."""
    if not versions:
        return FIRST_VERSION
    return str(max(semver.Version.parse(v) for v in versions).bump_patch())


def latest(versions: list[str]) -> str | None:
    """The highest semantic version, or None."""
    return str(max(semver.Version.parse(v) for v in versions)) if versions else None


def _split(text: str) -> tuple[dict[str, Any], str]:
    """Front matter as a dict, and the body after it."""
    if not text.startswith("---"):
        raise InvalidSkill(
            "SKILL.md must start with YAML front matter: a '---' line, 'name:' and 'description:' lines, then '---'"
        )
    found = _EMPTY_FRONT_MATTER.match(text) or _FRONT_MATTER.match(text)
    if not found:
        raise InvalidSkill("SKILL.md front matter is not closed: add a '---' line after the YAML fields")
    raw = found.group(1) if found.re is _FRONT_MATTER else ""
    try:
        fields = yaml.safe_load(raw) if raw.strip() else {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        hint = " (put values containing ': ' in quotes)" if "mapping values" in str(problem) else ""
        raise InvalidSkill(f"SKILL.md front matter is not valid YAML{where}: {problem}{hint}") from None
    if not isinstance(fields, dict):
        raise InvalidSkill("SKILL.md front matter must be a YAML mapping of fields (name: ..., description: ...)")
    return {str(k): v for k, v in fields.items()}, text[found.end() :]


def _required_str(fields: dict[str, Any], key: str, limit: int) -> str:
    value = fields.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidSkill(f"SKILL.md front matter is missing {key!r}: add a '{key}: ...' line")
    if not isinstance(value, str):
        raise InvalidSkill(f"SKILL.md {key!r} must be text, not {type(value).__name__}")
    value = value.strip()
    if len(value) > limit:
        raise InvalidSkill(f"SKILL.md {key!r} is {len(value)} characters; the limit is {limit}")
    return value


def _optional_str(fields: dict[str, Any], key: str, limit: int | None = None) -> str | None:
    value = fields.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise InvalidSkill(f"SKILL.md {key!r} must be text, not {type(value).__name__}")
    value = str(value).strip()
    if limit is not None and len(value) > limit:
        raise InvalidSkill(f"SKILL.md {key!r} is {len(value)} characters; the limit is {limit}")
    return value or None


def _tools(value: Any) -> list[str]:
    # The format says space-delimited; Claude Code writes 'Read, Grep' and some authors a YAML list.
    if value is None:
        return []
    if isinstance(value, str):
        return [t for t in re.split(r"[\s,]+", value) if t]
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return [t.strip() for t in value if t.strip()]
    raise InvalidSkill("SKILL.md 'allowed-tools' must be a space-delimited string of tool names")


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidSkill("SKILL.md 'metadata' must be a map of keys to text, e.g. 'metadata: {version: \"1.0.0\"}'")
    out: dict[str, str] = {}
    for k, v in value.items():
        if isinstance(v, (dict, list)):
            raise InvalidSkill(f"SKILL.md metadata.{k} must be text, not a {type(v).__name__}")
        out[str(k)] = "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
    return out


def _json_safe(value: Any) -> Any:
    """YAML values (dates, nested maps) as JSON-serialisable data."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
