"""skills.skillmd and skills.content: the Agent Skills format, its bad inputs, versions, canonical hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from skills import content, skillmd
from skills.errors import InvalidSkill
from tests.skills.conftest import DATA, skill_md, write_skill


def test_parses_every_field() -> None:
    text = (DATA / "pdf-form-filler/SKILL.md").read_text()
    skill = skillmd.parse(text, folder="pdf-form-filler")
    assert skill.name == "pdf-form-filler"
    assert skill.description.startswith("Fills in PDF forms")
    assert skill.license == "Apache-2.0"
    assert skill.compatibility == "Requires Python 3.10+ and the pypdf package"
    assert skill.allowed_tools == ["Bash(python:*)", "Read", "Write"]
    assert skill.metadata == {"author": "example-org", "version": "1.2"}
    assert skill.version == "1.2.0"
    assert skill.body.startswith("\n# PDF form filler")
    assert skill.text == text


def test_minimal_skill_and_unknown_keys_kept() -> None:
    skill = skillmd.parse(skill_md("x1", extra="model: sonnet\nargument-hint: '[file]'\n"))
    assert (skill.license, skill.compatibility, skill.allowed_tools, skill.metadata) == (None, None, [], {})
    assert skill.version is None
    assert skill.extra == {"model": "sonnet", "argument-hint": "[file]"}


def test_bom_crlf_and_list_tools() -> None:
    text = "\ufeff---\r\nname: crlf\r\ndescription: d\r\nallowed-tools: [Read, Grep]\r\n---\r\nbody\r\n"
    skill = skillmd.parse(text.encode("utf-8"))
    assert (skill.name, skill.allowed_tools, skill.body) == ("crlf", ["Read", "Grep"], "body\r\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# no front matter\n", "must start with YAML front matter"),
        ("---\nname: a\ndescription: b\n", "not closed"),
        ("---\nname: a\ndescription: [unclosed\n---\n", "not valid YAML at line"),
        ("---\n- a\n- b\n---\n", "must be a YAML mapping"),
        ("---\nname: a\ndescription: Use when: asked\n---\n", "line 3: mapping values .* in quotes"),
        ("---\ndescription: b\n---\n", "missing 'name'"),
        ("---\nname: a\n---\n", "missing 'description'"),
        ("---\nname: a\ndescription: '   '\n---\n", "missing 'description'"),
        ("---\nname: a\ndescription: 12\n---\n", "'description' must be text"),
        ("---\nname: My Skill\ndescription: b\n---\n", "e.g. 'my-skill'"),
        ("---\nname: -lead\ndescription: b\n---\n", "invalid"),
        ("---\nname: double--hyphen\ndescription: b\n---\n", "invalid"),
        ("---\nname: under_score\ndescription: b\n---\n", "invalid"),
        (f"---\nname: {'a' * 65}\ndescription: b\n---\n", "the limit is 64"),
        (f"---\nname: a\ndescription: {'d' * 1025}\n---\n", "the limit is 1024"),
        (f"---\nname: a\ndescription: b\ncompatibility: {'c' * 501}\n---\n", "the limit is 500"),
        ("---\nname: a\ndescription: b\nmetadata: [1, 2]\n---\n", "'metadata' must be a map"),
        ("---\nname: a\ndescription: b\nmetadata: {x: {y: 1}}\n---\n", "metadata.x must be text"),
        ("---\nname: a\ndescription: b\nmetadata: {version: banana}\n---\n", "not a semantic version"),
        ("---\nname: a\ndescription: b\nallowed-tools: {a: 1}\n---\n", "allowed-tools"),
    ],
)
def test_bad_skill_md_is_refused_with_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(InvalidSkill, match=message):
        skillmd.parse(text)


def test_name_must_match_folder() -> None:
    with pytest.raises(InvalidSkill, match="must match its folder name 'other'"):
        skillmd.parse(skill_md("mine"), folder="other")


def test_binary_non_utf8_and_oversize_refused() -> None:
    with pytest.raises(InvalidSkill, match="binary"):
        skillmd.parse(b"---\nname: a\x00\n---\n")
    with pytest.raises(InvalidSkill, match="not UTF-8"):
        skillmd.parse(skill_md("a").encode() + b"\xff\xfe")
    big = skill_md("a", body="x" * skillmd.MAX_SKILL_MD_BYTES)
    with pytest.raises(InvalidSkill, match="the limit is"):
        skillmd.parse(big)
    with pytest.raises(InvalidSkill, match="the limit is"):
        skillmd.parse(big.encode())


def test_versions() -> None:
    assert str(skillmd.parse_version("v2")) == "2.0.0"
    assert str(skillmd.parse_version("1.2.3-rc.1+build.5")) == "1.2.3-rc.1+build.5"
    assert skillmd.next_patch([]) == "1.0.0"
    assert skillmd.next_patch(["1.0.0", "1.10.0", "1.9.3"]) == "1.10.1"
    assert skillmd.latest(["1.0.0-rc.1", "1.0.0", "0.9.9"]) == "1.0.0"
    with pytest.raises(InvalidSkill, match="MAJOR.MINOR.PATCH"):
        skillmd.parse_version("1.2.3.4")


def test_folder_hash_is_canonical(tmp_path: Path) -> None:
    a = write_skill(tmp_path / "a", "same", {"b.txt": "B", "scripts/x.py": "X"})
    b = write_skill(tmp_path / "b", "same", {"scripts/x.py": "X", "b.txt": "B"})
    (b / "__pycache__").mkdir()
    (b / "__pycache__/x.pyc").write_bytes(b"junk")
    one, two = content.load_folder(a), content.load_folder(b)
    assert one.sha256 == two.sha256 and list(one.files) == ["SKILL.md", "b.txt", "scripts/x.py"]
    (b / "b.txt").write_text("changed")
    assert content.load_folder(b).sha256 != one.sha256
    assert one.resources()["b.txt"] == {"size": 1, "sha256": content.sha256(b"B")}


def test_folder_refusals(tmp_path: Path) -> None:
    with pytest.raises(InvalidSkill, match="not a folder"):
        content.load_folder(tmp_path / "nowhere")
    folder = tmp_path / "nomd"
    folder.mkdir()
    (folder / "README.md").write_text("hi")
    with pytest.raises(InvalidSkill, match="no SKILL.md"):
        content.load_folder(folder)
    linked = write_skill(tmp_path, "linked")
    (linked / "escape").symlink_to("/etc/passwd")
    with pytest.raises(InvalidSkill, match="symlink"):
        content.load_folder(linked)
    big = write_skill(tmp_path, "big", {"data.bin": b"\0" * (content.MAX_FILE_BYTES + 1)})
    with pytest.raises(InvalidSkill, match="too large"):
        content.load_folder(big)


@pytest.mark.parametrize("path", ["../x", "/abs", "a/../b", "a\\b", "C:/x", "a//b", "./a", ""])
def test_unsafe_paths(path: str) -> None:
    with pytest.raises(InvalidSkill):
        content.check_path(path)
