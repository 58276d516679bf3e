"""One COBOL program: divisions, FILE-CONTROL and FDs, data sections, paragraphs/sections, PERFORM/CALL graphs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_servers.cobol.layout import Field, build_records, entries
from mcp_servers.cobol.source import Line, Source, read_source

DIVISIONS = ("IDENTIFICATION", "ID", "ENVIRONMENT", "DATA", "PROCEDURE")
SECTIONS = ("FILE", "WORKING-STORAGE", "LOCAL-STORAGE", "LINKAGE", "SCREEN", "REPORT", "COMMUNICATION")
# Words that may stand alone with a period in area A/B but are statements, not paragraph names.
NOT_NAMES = {
    "EXIT",
    "GOBACK",
    "CONTINUE",
    "END-IF",
    "END-PERFORM",
    "END-READ",
    "END-EVALUATE",
    "END-CALL",
    "END-EXEC",
    "END-COMPUTE",
    "END-STRING",
    "END-WRITE",
    "END-SEARCH",
    "END-START",
    "END-REWRITE",
    "END-DELETE",
    "END-ADD",
    "END-SUBTRACT",
    "END-MULTIPLY",
    "END-DIVIDE",
    "END-RETURN",
    "END-UNSTRING",
    "END-ACCEPT",
    "END-DISPLAY",
    "ELSE",
    "STOP",
    "RUN",
    "DECLARATIVES",
    "END",
    "NEXT",
    "SENTENCE",
}
_HEADER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]*)(\s+SECTION)?\s*\.\s*$", re.IGNORECASE)
_PERFORM = re.compile(r"\bPERFORM\s+([A-Z0-9][A-Z0-9_-]*)(?:\s+(?:THRU|THROUGH)\s+([A-Z0-9][A-Z0-9_-]*))?")
_CALL = re.compile(r"\bCALL\s+(\"[^\"]+\"|'[^']+'|[A-Z0-9][A-Z0-9_-]*)")
_GOTO = re.compile(r"\bGO\s+TO\s+((?:[A-Z0-9][A-Z0-9_-]*\s*)+)")
_IO = re.compile(
    r"\b(OPEN\s+(?:INPUT|OUTPUT|I-O|EXTEND)|READ|WRITE|REWRITE|DELETE|START|CLOSE)\s+([A-Z0-9][A-Z0-9_-]*)"
)


@dataclass
class FileDef:
    """A file: its SELECT clause (ASSIGN target = the JCL DD name) and its FD records."""

    name: str
    assign: str = ""
    organization: str = "SEQUENTIAL"
    access: str = ""
    record_key: str = ""
    status: str = ""
    records: list[Field] = field(default_factory=list)
    line: int = 0

    @property
    def record_length(self) -> int:
        """The longest 01 record of the FD (several 01s share the same record area)."""
        return max((r.total_size for r in self.records), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "assign": self.assign,
            "organization": self.organization,
            "access": self.access,
            "record_key": self.record_key,
            "status": self.status,
            "record_length": self.record_length,
            "records": [r.to_dict() for r in self.records],
        }


@dataclass
class Paragraph:
    """A paragraph or section of the PROCEDURE DIVISION and what it calls."""

    name: str
    line: int
    is_section: bool = False
    section: str = ""
    statements: int = 0
    lines: int = 0
    performs: list[str] = field(default_factory=list)
    gotos: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    io: list[str] = field(default_factory=list)  # "READ ACCT-REC", "OPEN INPUT ACCT-REC"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "line": self.line, "lines": self.lines}
        if self.is_section:
            d["section"] = True
        for key in ("performs", "gotos", "calls", "io"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        return d


@dataclass
class Program:
    """What the analysis knows about one program."""

    program_id: str
    path: str
    lines: int
    code_lines: int
    fixed: bool
    divisions: list[str] = field(default_factory=list)
    copybooks: list[str] = field(default_factory=list)
    copybooks_resolved: dict[str, str] = field(default_factory=dict)
    copybooks_missing: list[str] = field(default_factory=list)
    files: list[FileDef] = field(default_factory=list)
    working_storage: list[Field] = field(default_factory=list)
    linkage: list[Field] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    reads_date: bool = False  # FUNCTION CURRENT-DATE / ACCEPT FROM DATE|TIME|DAY: verify with a fixed clock
    accepts_input: bool = False  # ACCEPT from the console: verify with stdin
    tokens: int = 0

    def file(self, name: str) -> FileDef | None:
        """A file by its FD name or its ASSIGN (DD) name, case-insensitive."""
        key = name.upper()
        for f in self.files:
            if key in (f.name.upper(), f.assign.upper()):
                return f
        return None

    def perform_graph(self) -> dict[str, list[str]]:
        return {p.name: p.performs for p in self.paragraphs}

    def to_dict(self, *, layouts: bool = True) -> dict[str, Any]:
        files = [f.to_dict() for f in self.files]
        if not layouts:
            for f in files:
                f.pop("records")
        return {
            "program_id": self.program_id,
            "path": self.path,
            "lines": self.lines,
            "code_lines": self.code_lines,
            "tokens": self.tokens,
            "format": "fixed" if self.fixed else "free",
            "divisions": self.divisions,
            "copybooks": self.copybooks,
            "copybooks_missing": self.copybooks_missing,
            "files": files,
            "paragraphs": [p.to_dict() for p in self.paragraphs],
            "calls": self.calls,
            "reads_date": self.reads_date,
            "accepts_input": self.accepts_input,
            "working_storage": [r.to_dict() for r in self.working_storage] if layouts else len(self.working_storage),
        }


def analyze_program(path: Path, copy_dirs: list[Path], binary_size: str = "2-4-8") -> Program:
    """Read, expand and analyze one program file."""
    src = read_source(path, copy_dirs)
    return analyze_source(src, binary_size)


def analyze_source(src: Source, binary_size: str = "2-4-8") -> Program:
    """Analyze an expanded source."""
    own = [ln for ln in src.lines if ln.file == str(src.path)]
    prog = Program(
        program_id=src.path.stem.upper(),
        path=str(src.path),
        lines=src.raw_lines,
        code_lines=len(own),
        fixed=src.fixed,
        copybooks=list(src.copybooks),
        copybooks_resolved=dict(src.resolved),
        copybooks_missing=list(src.missing),
    )
    parts = _divisions(src.lines)
    prog.divisions = [name for name in ("IDENTIFICATION", "ENVIRONMENT", "DATA", "PROCEDURE") if name in parts]
    ident = " ".join(ln.text for ln in parts.get("IDENTIFICATION", []))
    m = re.search(r"PROGRAM-ID\.?\s+(\"[^\"]+\"|'[^']+'|[A-Za-z0-9_-]+)", ident, re.IGNORECASE)
    if m:
        prog.program_id = m.group(1).strip("\"'").upper()
    selects = _selects(parts.get("ENVIRONMENT", []))
    sections = _data_sections(parts.get("DATA", []))
    prog.files = _fds(sections.get("FILE", []), selects, binary_size)
    prog.working_storage = build_records(
        sections.get("WORKING-STORAGE", []) + sections.get("LOCAL-STORAGE", []), binary_size
    )
    prog.linkage = build_records(sections.get("LINKAGE", []), binary_size)
    proc = parts.get("PROCEDURE", [])
    prog.paragraphs = _paragraphs(proc, src.fixed)
    text = " ".join(_strip_literals(ln.text.upper()) for ln in proc)
    prog.calls = list(dict.fromkeys(c for p in prog.paragraphs for c in p.calls))
    prog.reads_date = bool(re.search(r"CURRENT-DATE|\bACCEPT\s+[A-Z0-9-]+\s+FROM\s+(DATE|TIME|DAY)", text)) or bool(
        re.search(r"FUNCTION\s+(CURRENT-DATE|WHEN-COMPILED)", " ".join(ln.text.upper() for ln in src.lines))
    )
    prog.accepts_input = bool(re.search(r"\bACCEPT\s+[A-Z0-9-]+(?!\s+FROM)(\s|$)", text))
    return prog


def _divisions(lines: list[Line]) -> dict[str, list[Line]]:
    parts: dict[str, list[Line]] = {}
    current = ""
    for ln in lines:
        m = re.match(r"^(IDENTIFICATION|ID|ENVIRONMENT|DATA|PROCEDURE)\s+DIVISION\b(.*)$", ln.text, re.IGNORECASE)
        if m:
            current = "IDENTIFICATION" if m.group(1).upper() == "ID" else m.group(1).upper()
            parts.setdefault(current, [])
            rest = m.group(2).strip()
            if current == "PROCEDURE" and rest and not rest.startswith("."):
                continue  # USING ... clause
            continue
        if re.match(r"^END\s+PROGRAM\b", ln.text, re.IGNORECASE):
            current = ""
            continue
        if current:
            parts[current].append(ln)
    return parts


def _selects(lines: list[Line]) -> dict[str, FileDef]:
    out: dict[str, FileDef] = {}
    for text, line in entries(lines):
        m = re.search(
            r"\bSELECT\s+(?:OPTIONAL\s+)?([A-Z0-9][A-Z0-9_-]*)\s+ASSIGN\s+(?:TO\s+)?(?:\w+-)?"
            r"(\"[^\"]+\"|'[^']+'|[A-Z0-9][A-Z0-9_-]*)(.*)",
            text,
            re.IGNORECASE | re.DOTALL,
        )
        if not m:
            continue
        name, assign, rest = m.group(1).upper(), m.group(2).strip("\"'"), m.group(3).upper()
        f = FileDef(name=name, assign=assign.upper(), line=line.number)
        if o := re.search(
            r"ORGANIZATION\s+(?:IS\s+)?(LINE\s+SEQUENTIAL|RECORD\s+SEQUENTIAL|SEQUENTIAL|INDEXED|"
            r"RELATIVE)",
            rest,
        ):
            f.organization = " ".join(o.group(1).split())
        if a := re.search(r"ACCESS\s+(?:MODE\s+)?(?:IS\s+)?(SEQUENTIAL|RANDOM|DYNAMIC)", rest):
            f.access = a.group(1)
        if k := re.search(r"RECORD\s+KEY\s+(?:IS\s+)?([A-Z0-9-]+)", rest):
            f.record_key = k.group(1)
        if s := re.search(r"(?:FILE\s+)?STATUS\s+(?:IS\s+)?([A-Z0-9-]+)", rest):
            f.status = s.group(1)
        out[name] = f
    return out


def _data_sections(lines: list[Line]) -> dict[str, list[Line]]:
    out: dict[str, list[Line]] = {}
    current = "WORKING-STORAGE"
    for ln in lines:
        m = re.match(r"^([A-Z-]+)\s+SECTION\s*\.", ln.text, re.IGNORECASE)
        if m and m.group(1).upper() in SECTIONS:
            current = m.group(1).upper()
            continue
        out.setdefault(current, []).append(ln)
    return out


def _fds(lines: list[Line], selects: dict[str, FileDef], binary_size: str) -> list[FileDef]:
    groups: list[tuple[str, list[Line]]] = []
    for ln in lines:
        m = re.match(r"^(FD|SD)\s+([A-Z0-9][A-Z0-9_-]*)", ln.text, re.IGNORECASE)
        if m:
            groups.append((m.group(2).upper(), []))
            continue
        if groups:
            groups[-1][1].append(ln)
    files = dict(selects)
    for name, body in groups:
        # FD clauses (RECORDING MODE, BLOCK CONTAINS ...) run to the first period; records follow.
        records = [r for r in build_records(body, binary_size)]
        f = files.setdefault(name, FileDef(name=name, assign=name))
        f.records = records
    return list(files.values())


def _strip_literals(text: str) -> str:
    return re.sub(r"\"[^\"]*\"|'[^']*'", "''", text)


def _paragraphs(lines: list[Line], fixed: bool) -> list[Paragraph]:
    paras: list[Paragraph] = []
    section = ""
    body: dict[str, list[str]] = {}
    raw: dict[str, list[str]] = {}
    for ln in lines:
        m = _HEADER.match(ln.text)
        if m and (not fixed or ln.indent < 4) and m.group(1).upper() not in NOT_NAMES:
            name = m.group(1).upper()
            is_section = bool(m.group(2))
            if is_section:
                section = name
            paras.append(
                Paragraph(name=name, line=ln.number, is_section=is_section, section="" if is_section else section)
            )
            body[name], raw[name] = [], []
            continue
        if not paras:  # statements before the first paragraph: an unnamed paragraph the program starts in
            paras.append(Paragraph(name="(MAIN)", line=ln.number))
            body["(MAIN)"], raw["(MAIN)"] = [], []
        paras[-1].lines += 1
        body[paras[-1].name].append(_strip_literals(ln.text.upper()))
        raw[paras[-1].name].append(ln.text.upper())
    names = {p.name for p in paras}
    for p in paras:
        text = " ".join(body[p.name])
        for target, thru in _PERFORM.findall(text):
            if target in names:
                p.performs.append(target if not thru else f"{target} THRU {thru}")
        for group in _GOTO.findall(text):
            p.gotos += [t for t in group.split() if t in names]
        for target in _CALL.findall(" ".join(raw[p.name])):
            p.calls.append(target.strip("\"'"))
        p.io = list(dict.fromkeys(" ".join(v.split()) + " " + f for v, f in _IO.findall(text)))
        p.performs = list(dict.fromkeys(p.performs))
    return paras
