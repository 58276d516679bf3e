"""A COBOL project: every program, copybook directory, JCL member and sample data file under one folder."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_servers.cobol.jcl import Job, parse_jcl
from mcp_servers.cobol.program import Program, analyze_program
from mcp_servers.common.tokens import count_tokens

PROGRAM_EXT = {".cbl", ".cob", ".cobol", ".cobl", ".pco", ".cbx"}
COPY_EXT = {".cpy", ".copy", ".cpb", ".inc"}
JCL_EXT = {".jcl", ".prc", ".proc"}
DATA_EXT = {".txt", ".dat", ".data", ".in", ".out", ".ps", ".csv", ".seq"}
SKIP_DIRS = {".git", ".k2hub", "node_modules", "__pycache__"}
MAX_FILES = 20_000


@dataclass
class DataFile:
    """A sample data file and the record length it suggests (newline-delimited or fixed)."""

    path: str
    size: int
    lines: int
    line_length: int  # 0 when lines differ in length or the file has no newlines
    matches: list[str] = field(default_factory=list)  # "PROGRAM:FILE" whose record length fits


@dataclass
class Project:
    """Everything the analysis found, with programs keyed by PROGRAM-ID."""

    root: str
    programs: list[Program] = field(default_factory=list)
    copy_dirs: list[str] = field(default_factory=list)
    copybooks: list[str] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    data_files: list[DataFile] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def program(self, name: str) -> Program | None:
        """A program by PROGRAM-ID or file name (stem), case-insensitive."""
        key = Path(name).stem.upper()
        for p in self.programs:
            if key in (p.program_id, Path(p.path).stem.upper()):
                return p
        return None

    @property
    def total_lines(self) -> int:
        return sum(p.lines for p in self.programs)

    @property
    def total_tokens(self) -> int:
        return sum(p.tokens for p in self.programs)

    def call_graph(self) -> dict[str, list[str]]:
        """Program -> programs it CALLs (static CALL 'X' only)."""
        return {p.program_id: p.calls for p in self.programs}

    def datasets(self) -> list[dict[str, str]]:
        """JCL links: job, step, program, DD name, data set, and the program's file of that DD when known."""
        out = []
        for job in self.jobs:
            for step in job.steps:
                prog = self.program(step.program) if step.program else None
                for dd in step.dds:
                    f = prog.file(dd.name) if prog else None
                    out.append(
                        {
                            "job": job.name,
                            "step": step.name,
                            "program": step.program,
                            "dd": dd.name,
                            "dsn": dd.dsn or dd.other,
                            "file": f.name if f else "",
                        }
                    )
        return out

    def to_dict(self, *, layouts: bool = True) -> dict[str, Any]:
        return {
            "root": self.root,
            "summary": {
                "programs": len(self.programs),
                "lines": self.total_lines,
                "tokens": self.total_tokens,
                "copybooks": len(self.copybooks),
                "jcl_members": len(self.jobs),
                "data_files": len(self.data_files),
                "seconds": round(self.seconds, 3),
            },
            "programs": [p.to_dict(layouts=layouts) for p in self.programs],
            "copybook_dirs": self.copy_dirs,
            "call_graph": self.call_graph(),
            "jcl": [j.to_dict() for j in self.jobs],
            "datasets": self.datasets(),
            "data_files": [d.__dict__ for d in self.data_files],
            "errors": self.errors,
        }


def discover(root: Path) -> dict[str, list[Path]]:
    """Files by kind; a directory holding copybooks is a copybook directory."""
    kinds: dict[str, list[Path]] = {"programs": [], "copybooks": [], "jcl": [], "data": []}
    count = 0
    for path in sorted(root.rglob("*")):
        if any(part in SKIP_DIRS for part in path.relative_to(root).parts) or not path.is_file():
            continue
        count += 1
        if count > MAX_FILES:
            break
        ext = path.suffix.lower()
        if ext in PROGRAM_EXT:
            kinds["programs"].append(path)
        elif ext in COPY_EXT:
            kinds["copybooks"].append(path)
        elif ext in JCL_EXT:
            kinds["jcl"].append(path)
        elif ext in DATA_EXT:
            kinds["data"].append(path)
    return kinds


def analyze_project(root: Path, copy_dirs: list[Path] | None = None, binary_size: str = "2-4-8") -> Project:
    """Analyze every program under root; copybooks are searched in copy_dirs, else in every folder holding some."""
    started = time.monotonic()
    root = Path(root)
    kinds = discover(root)
    dirs = list(copy_dirs or [])
    for cpy in kinds["copybooks"]:
        if cpy.parent not in dirs:
            dirs.append(cpy.parent)
    project = Project(
        root=str(root), copy_dirs=[_rel(d, root) for d in dirs], copybooks=[_rel(c, root) for c in kinds["copybooks"]]
    )
    seen: dict[str, Path] = {}
    for path in kinds["programs"]:
        try:
            text = path.read_text(encoding="latin-1")
        except OSError as exc:
            project.errors.append(f"{_rel(path, root)}: {exc}")
            continue
        if "PROGRAM-ID" not in text.upper():  # a copybook with a program extension
            if path.parent not in dirs:
                dirs.append(path.parent)
            continue
        try:
            prog = analyze_program(path, dirs, binary_size)
        except Exception as exc:  # noqa: BLE001 - one unreadable program must not hide the others
            project.errors.append(f"{_rel(path, root)}: analysis failed: {exc}")
            continue
        prog.tokens = count_tokens(text)
        prog.path = _rel(path, root)
        if prog.program_id in seen:  # the same program in two folders (e.g. a dialect copy): keep both, say so
            project.errors.append(
                f"{prog.path}: PROGRAM-ID {prog.program_id} also in {_rel(seen[prog.program_id], root)}"
            )
        seen.setdefault(prog.program_id, path)
        project.programs.append(prog)
    for path in kinds["jcl"]:
        try:
            job = parse_jcl(path)
        except OSError as exc:
            project.errors.append(f"{_rel(path, root)}: {exc}")
            continue
        job.path = _rel(path, root)
        project.jobs.append(job)
    project.data_files = [_data_file(p, root, project) for p in kinds["data"]]
    project.seconds = time.monotonic() - started
    return project


def _data_file(path: Path, root: Path, project: Project) -> DataFile:
    data = path.read_bytes()[: 4 * 1024 * 1024]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    lengths = {len(x.rstrip(b"\r")) for x in lines}
    line_length = lengths.pop() if len(lengths) == 1 and b"\n" in data else 0
    df = DataFile(
        path=_rel(path, root),
        size=path.stat().st_size,
        lines=len(lines) if b"\n" in data else 0,
        line_length=line_length,
    )
    for prog in project.programs:
        for f in prog.files:
            n = f.record_length
            fixed_fit = b"\n" not in data and df.size and df.size % n == 0 and df.size // n > 1 if n else False
            if n and ((line_length and n == line_length) or fixed_fit):
                df.matches.append(f"{prog.program_id}:{f.name}")
    return df


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
