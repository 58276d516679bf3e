"""Shared pieces of the cobol server tests: data locations, skip marks, a workspace holding a course program."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fakes.k2_server import ToolCall, Turn
from tests.mcp_servers.sandbox_support import requires_cobc, requires_go  # noqa: F401 - re-exported for the cobol tests
from tests.helpers import requires

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "cobol"
COURSE = DATA / "omp-course"
CARDDEMO = DATA / "carddemo"
FIXTURES = REPO / "tests" / "fixtures" / "cobol_go"
DOCKERFILE = (
    "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\n\n"
    'FROM scratch\nCOPY --from=build /app /app\nENTRYPOINT ["/app"]\n'
)


requires_data = requires(COURSE.is_dir() and CARDDEMO.is_dir(), f"{DATA} is absent (../shared/data)")


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


def translation_turns(cobol: str, inputs: dict[str, str]) -> list[Turn]:
    """The scripted model translating CBL0001 (cobol: its workspace path; inputs: {DD: workspace path}): add the runtime,
    write the hand-written fixture translation, its tests and a Dockerfile, run go test, then cobol__verify."""
    files = {name: (FIXTURES / "cbl0001" / name).read_text() for name in ("main.go", "main_test.go")}
    return [
        Turn(
            reasoning="Set up the module with the runtime.",
            tool_calls=[ToolCall("cobol__add_runtime", {"dir": "go/cbl0001", "module": "example.com/cbl0001"})],
        ),
        Turn(
            reasoning="Write the translation, its tests and the Dockerfile.",
            tool_calls=[
                *(
                    ToolCall("workspace__write_file", {"path": f"go/cbl0001/{n}", "content": t})
                    for n, t in files.items()
                ),
                ToolCall("workspace__write_file", {"path": "go/cbl0001/Dockerfile", "content": DOCKERFILE}),
            ],
        ),
        Turn(
            reasoning="Unit tests.",
            tool_calls=[ToolCall("sandbox__go", {"args": ["test", "./..."], "dir": "go/cbl0001"})],
        ),
        Turn(
            reasoning="Differential run.",
            tool_calls=[
                ToolCall(
                    "cobol__verify",
                    {"cobol": [cobol], "go_dir": "go/cbl0001", "inputs": inputs, "outputs": ["PRTLINE"]},
                )
            ],
        ),
    ]
