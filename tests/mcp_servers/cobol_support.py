"""Shared pieces of the cobol server tests: data locations, skip marks, a workspace holding a course program."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers import _golang

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "cobol"
COURSE = DATA / "omp-course"
CARDDEMO = DATA / "carddemo"
FIXTURES = REPO / "tests" / "fixtures" / "cobol_go"


def _go_missing() -> str:
    try:
        _golang.goroot()
    except ToolError as exc:
        return str(exc)
    return ""


requires_data = pytest.mark.skipif(
    not COURSE.is_dir() or not CARDDEMO.is_dir(), reason=f"{DATA} is absent (../shared/data)"
)
requires_go = pytest.mark.skipif(bool(_go_missing()), reason=_go_missing() or "go available")
requires_cobc = pytest.mark.skipif(shutil.which("cobc") is None, reason="GnuCOBOL (cobc) is not installed")


def course_workspace(ws: Path, program: str) -> dict[str, str]:
    """Copy a course program (GnuCOBOL variant) and its triple's input into ws; returns {DD: path} of inputs."""
    src = next((COURSE / "cbl-gnucobol").glob(f"{program}.*"))
    (ws / "cobol").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, ws / "cobol" / src.name)
    inputs = {}
    triple = COURSE / "triples" / program
    for f in triple.glob("*.in"):
        (ws / "data").mkdir(exist_ok=True)
        shutil.copyfile(f, ws / "data" / f.name)
        inputs[f.stem] = f"data/{f.name}"
    return inputs


def fixture_module(ws: Path, name: str, dest: str) -> Path:
    """Copy a hand-written Go translation into ws/dest."""
    shutil.copytree(FIXTURES / name, ws / dest)
    return ws / dest
