"""JCL: job steps (EXEC PGM= / EXEC PROC) and their DD statements (DSN=, SYSOUT, inline data)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DD:
    """One DD statement of a step."""

    name: str
    dsn: str = ""
    disp: str = ""
    other: str = ""  # SYSOUT=*, DUMMY, * (inline data)


@dataclass
class Step:
    """One EXEC statement: the program (or procedure) it runs and its DDs."""

    name: str
    program: str = ""
    proc: str = ""
    line: int = 0
    dds: list[DD] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "program": self.program,
            "proc": self.proc,
            "line": self.line,
            "dds": [{k: v for k, v in dd.__dict__.items() if v} for dd in self.dds],
        }


@dataclass
class Job:
    """A JCL member."""

    path: str
    name: str
    steps: list[Step] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "job": self.name, "steps": [s.to_dict() for s in self.steps]}


def _statements(text: str) -> list[tuple[int, str, str, str]]:
    """(line, name, operation, operands) with continuation lines joined; comments and inline data skipped."""
    out: list[tuple[int, str, str, str]] = []
    in_data = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw[:72].rstrip()
        if in_data:
            if line.startswith(("//", "/*")):
                in_data = False
            else:
                continue
        if not line.startswith("//") or line.startswith("//*"):
            continue
        body = line[2:]
        m = re.match(r"^(\S*)\s+(\S+)\s*(.*)$", body)
        if body[:1] == " " and out and out[-1][3].endswith(","):
            ln, name, op, ops = out[-1]
            out[-1] = (ln, name, op, ops + body.strip().split(" ")[0])
            continue
        if not m:
            continue
        name, op, operands = m.group(1), m.group(2).upper(), m.group(3).strip()
        operands = operands.split(" ")[0] if operands else ""  # what follows a blank is a comment
        out.append((number, name.upper(), op, operands))
        if op == "DD" and (operands.startswith(("*", "DATA"))):
            in_data = True
    return out


def _param(operands: str, key: str) -> str:
    m = re.search(rf"(?:^|,){key}=(\([^)]*\)|[^,]+)", operands, re.IGNORECASE)
    return m.group(1) if m else ""


def parse_jcl(path: Path) -> Job:
    """Parse one JCL member."""
    text = path.read_text(encoding="latin-1")
    job = Job(path=str(path), name=path.stem.upper())
    for number, name, op, operands in _statements(text):
        if op == "JOB":
            job.name = name or job.name
        elif op == "EXEC":
            program = _param(operands, "PGM")
            proc = "" if program else (_param(operands, "PROC") or operands.split(",")[0])
            job.steps.append(Step(name=name, program=program.upper(), proc=proc.upper(), line=number))
        elif op == "DD" and job.steps:
            dd = DD(name=name, dsn=_param(operands, "DSN") or _param(operands, "DSNAME"), disp=_param(operands, "DISP"))
            if not dd.dsn:
                dd.other = operands
            if name:
                job.steps[-1].dds.append(dd)
            elif job.steps[-1].dds:  # a concatenated data set
                job.steps[-1].dds[-1].dsn += f" + {dd.dsn}"
    return job
