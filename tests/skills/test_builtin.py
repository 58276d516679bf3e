"""The built-in skills: valid Agent Skills folders that install, name only real tools, and ship working scripts."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

from skills import skillmd
from skills.registry import BUILTIN_DIR, Registry
from storage.db import Database

EXPECTED = {
    "financial-kpi-extraction",
    "cobol-to-go-migration",
    "web-research",
    "long-pdf-reading",
    "secure-code-review",
    "data-analysis",
}
FOLDERS = sorted(p for p in BUILTIN_DIR.iterdir() if (p / "SKILL.md").is_file())
TOOL_REF = re.compile(r"\b([a-z][a-z0-9_]*?)__([a-z][a-z0-9_]*)\b")


def test_every_expected_skill_is_shipped() -> None:
    assert EXPECTED <= {p.name for p in FOLDERS}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_skill_md_validates_with_licence_version_and_trigger(folder: Path) -> None:
    skill = skillmd.parse((folder / "SKILL.md").read_bytes(), folder=folder.name)
    assert skill.license == "Apache-2.0"
    assert skill.version is not None and skill.metadata["version"] == skill.version
    assert "Use " in skill.description, "the description must say when to use the skill"
    assert 200 <= len(skill.body) <= 8_000, "a body is a precise procedure, not a stub nor a manual"
    assert "## Tools" in skill.body and ("## Procedure" in skill.body or "## Loop" in skill.body)


async def _tools_of(server: str) -> set[str] | None:
    """The tool names a built-in server module offers, or None when the module is not in this checkout."""
    if importlib.util.find_spec(f"mcp_servers.{server}") is None:
        return None
    module = importlib.import_module(f"mcp_servers.{server}.server")
    return {t.name for t in await module.create_server().list_tools()}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
async def test_skills_name_only_tools_that_exist(folder: Path, _isolated_home: Path) -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in folder.rglob("*.md"))
    refs = set(TOOL_REF.findall(text))
    assert refs, "a skill for this app names the tools to use"
    for server in sorted({s for s, _ in refs}):
        offered = await _tools_of(server)
        if offered is None:
            continue  # a server another feature has not shipped yet: nothing to check against
        missing = sorted(t for s, t in refs if s == server and t not in offered)
        assert not missing, f"{folder.name} names {server} tools that do not exist: {missing}"


def test_all_built_ins_install_once_and_are_searchable(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'k2hub.db'}")
    try:
        registry = Registry(db)
        installed = registry.ensure_builtin(strict=True)
        assert {v.name for v in installed} >= EXPECTED
        assert all(v.source == "builtin" for v in installed)
        assert registry.ensure_builtin(strict=True) == []  # idempotent
        assert registry.search("COBOL to Go", limit=1)[0].name == "cobol-to-go-migration"
        assert registry.search("OWASP security review", limit=1)[0].name == "secure-code-review"
        assert "checklist.md" in registry.get("financial-kpi-extraction").resources
        assert registry.read_file("data-analysis", "scripts/svg_chart.py").startswith(b'"""Dependency-free SVG')
    finally:
        db.close()


SAMPLE = """\
import os, pickle, subprocess, random, sqlite3
def handler(cur, name, blob):
    cur.execute(f"SELECT * FROM users WHERE name = '{name}'")
    cur.execute("SELECT * FROM users WHERE name = ?", (name,))
    subprocess.run("ls " + name, shell=True)
    return pickle.loads(blob), random.randint(0, 9)
"""


def test_scan_python_script_flags_risky_calls_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text(SAMPLE)
    script = BUILTIN_DIR / "secure-code-review" / "scripts" / "scan_python.py"
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], check=False, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "app/views.py:3: sql-injection: query built from values; use parameters" in lines
    assert "app/views.py:5: command-injection: subprocess.run(shell=True)" in lines
    assert "app/views.py:6: deserialization: pickle.loads on untrusted bytes runs code" in lines
    assert not any(":4:" in line for line in lines)  # the parameterised query is fine
    assert lines[-1] == "4 finding(s)"


def test_svg_chart_script_writes_valid_charts(tmp_path: Path) -> None:
    code = (
        "from svg_chart import bar_chart, line_chart\n"
        "bar_chart('bar.svg', ['Jan', 'Feb', 'Mar'], [120, -15, 98.5], 'Revenue <EUR>')\n"
        "line_chart('line.svg', ['Q1', 'Q2', 'Q3'], {'north': [1, 2, 3], 'south': [3, 1, 2]}, 'Trend')\n"
    )
    scripts = BUILTIN_DIR / "data-analysis" / "scripts"
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(scripts)},
    )
    assert out.returncode == 0, out.stderr
    bar = xml.dom.minidom.parse(str(tmp_path / "bar.svg"))
    assert len(bar.getElementsByTagName("rect")) == 3
    assert "Revenue &lt;EUR&gt;" in (tmp_path / "bar.svg").read_text()
    line = xml.dom.minidom.parse(str(tmp_path / "line.svg"))
    assert len(line.getElementsByTagName("polyline")) == 2
