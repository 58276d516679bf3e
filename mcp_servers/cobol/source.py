"""COBOL source text: fixed or free format, comments and sequence areas removed, COPY ... REPLACING expanded.

The result is a list of logical lines, each remembering the file and line it came from, so later stages can say
where a paragraph or field is defined. Copybooks are looked up by member name in the copybook directories (with
or without the usual extensions, case-insensitive), the way cobc -I does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

COPY_EXTENSIONS = ("", ".cpy", ".CPY", ".cob", ".cbl", ".CBL", ".COB", ".copy", ".inc")
MAX_COPY_DEPTH = 10
_COPY = re.compile(
    r"\bCOPY\s+(?P<name>\"[^\"]+\"|'[^']+'|[A-Za-z0-9][A-Za-z0-9_-]*)"
    r"(?:\s+(?:OF|IN)\s+[A-Za-z0-9_-]+)?(?P<rest>.*?)\.(?=\s|$)",
    re.IGNORECASE | re.DOTALL,
)
_PSEUDO = re.compile(r"==(.*?)==\s+BY\s+==(.*?)==", re.DOTALL | re.IGNORECASE)
_WORDS = re.compile(
    r"([A-Za-z0-9][A-Za-z0-9_:()-]*|\"[^\"]*\"|'[^']*')\s+BY\s+([A-Za-z0-9][A-Za-z0-9_:()-]*|"
    r"\"[^\"]*\"|'[^']*')",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Line:
    """One source line after format handling: code text (areas A and B), origin file and 1-based line number."""

    text: str
    file: str
    number: int
    indent: int  # column of the first character relative to area A (0 = area A); free format: leading spaces


@dataclass
class Source:
    """A program's expanded text plus what the expansion found."""

    path: Path
    lines: list[Line]
    raw_lines: int
    copybooks: list[str] = field(default_factory=list)  # member names, in order of first use
    resolved: dict[str, str] = field(default_factory=dict)  # member -> file path
    missing: list[str] = field(default_factory=list)  # members no copybook directory holds
    fixed: bool = True


def is_fixed(text: str) -> bool:
    """Guess the reference format: fixed when most code lines have a sequence area or indicator column."""
    if re.search(r"^\s*>>\s*SOURCE\s+(FORMAT\s+)?(IS\s+)?FREE", text, re.IGNORECASE | re.MULTILINE):
        return False
    lines = [ln for ln in text.splitlines() if ln.strip()][:200]
    if not lines:
        return True
    fixed_like = sum(
        1 for ln in lines if len(ln) >= 7 and (ln[:6].strip() == "" or ln[:6].isdigit() or ln[6] in "*/-D ")
    )
    return fixed_like >= len(lines) * 0.8


def split_lines(text: str, file: str, fixed: bool) -> list[Line]:
    """Strip sequence areas, indicator column and comments; join continuation lines."""
    out: list[Line] = []
    for number, raw in enumerate(text.splitlines(), 1):
        raw = raw.rstrip("\r\n\x1a")
        if fixed:
            if len(raw) < 7:
                continue
            indicator = raw[6]
            body = raw[7:72]
            if indicator in "*/":
                continue
            if indicator in "dD":  # debugging line: compiled only WITH DEBUGGING MODE
                continue
            if indicator == "-" and out:  # continuation of a literal or word
                prev = out[-1]
                stripped = body.lstrip()
                if stripped[:1] in "\"'":
                    stripped = stripped[1:]
                    joined = prev.text.rstrip()
                else:
                    joined = prev.text.rstrip()
                out[-1] = Line(joined + stripped.rstrip(), prev.file, prev.number, prev.indent)
                continue
            if body.strip().startswith("*>"):
                continue
            code = re.sub(r"\s\*>.*$", "", body).rstrip()
            if not code.strip():
                continue
            indent = len(code) - len(code.lstrip())
            out.append(Line(code.strip(), file, number, indent))
        else:
            code = re.sub(r"(^|\s)\*>.*$", "", raw).rstrip()
            if not code.strip() or code.lstrip().startswith(">>"):
                continue
            out.append(Line(code.strip(), file, number, len(code) - len(code.lstrip())))
    return out


def find_copybook(name: str, dirs: list[Path]) -> Path | None:
    """The file holding COPY member name in the first directory that has it (extensions and case tolerated)."""
    name = name.strip("\"'")
    for d in dirs:
        for ext in COPY_EXTENSIONS:
            candidate = d / f"{name}{ext}"
            if candidate.is_file():
                return candidate
        try:
            lowered = {p.name.lower(): p for p in d.iterdir() if p.is_file()}
        except OSError:
            continue
        for ext in COPY_EXTENSIONS:
            hit = lowered.get(f"{name}{ext}".lower())
            if hit is not None:
                return hit
    return None


def replacing_pairs(clause: str) -> list[tuple[str, str, bool]]:
    """(old, new, is_pseudo_text) pairs of a REPLACING clause."""
    clause = re.sub(r"^\s*(SUPPRESS\s+)?REPLACING\s+", "", clause.strip(), flags=re.IGNORECASE)
    pairs = [(a.strip(), b.strip(), True) for a, b in _PSEUDO.findall(clause)]
    rest = _PSEUDO.sub(" ", clause)
    pairs += [(a, b, False) for a, b in _WORDS.findall(rest)]
    return pairs


def apply_replacing(text: str, pairs: list[tuple[str, str, bool]]) -> str:
    """Replace pseudo-text as text and words as whole words (COBOL words may contain '-')."""
    for old, new, pseudo in pairs:
        if not old:
            continue
        if pseudo and not re.fullmatch(r"[A-Za-z0-9_-]+", old):
            text = re.sub(re.escape(old), lambda _m, n=new: n, text, flags=re.IGNORECASE)
        else:
            text = re.sub(
                rf"(?<![A-Za-z0-9_-]){re.escape(old)}(?![A-Za-z0-9_-])", lambda _m, n=new: n, text, flags=re.IGNORECASE
            )
    return text


def read_source(path: Path, copy_dirs: list[Path], fixed: bool | None = None) -> Source:
    """Read a program and expand its COPY statements recursively (copybooks use the program's format)."""
    text = path.read_text(encoding="latin-1")
    fmt = is_fixed(text) if fixed is None else fixed
    source = Source(path=path, lines=[], raw_lines=text.count("\n") + (0 if text.endswith("\n") else 1), fixed=fmt)
    dirs = [path.parent, *copy_dirs]
    source.lines = _expand(split_lines(text, str(path), fmt), dirs, source, 0)
    return source


def _expand(lines: list[Line], dirs: list[Path], source: Source, depth: int) -> list[Line]:
    out: list[Line] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        match = re.search(r"(^|\s)COPY\s", line.text, re.IGNORECASE)
        if not match or depth >= MAX_COPY_DEPTH or _in_literal(line.text, match.start()):
            out.append(line)
            i += 1
            continue
        # The COPY statement runs to the next period followed by a space or end of line, possibly over lines.
        before = line.text[: match.start()].rstrip()
        stmt, j = line.text[match.start() :], i
        while not re.search(r"\.(\s|$)", _blank_pseudo(stmt)) and j + 1 < len(lines):
            j += 1
            stmt += " " + lines[j].text
        m = _COPY.search(stmt)
        if not m:
            out.append(line)
            i += 1
            continue
        if before:
            out.append(Line(before, line.file, line.number, line.indent))
        member = m.group("name").strip("\"'")
        if member.upper() not in (c.upper() for c in source.copybooks):
            source.copybooks.append(member)
        found = find_copybook(member, dirs)
        if found is None:
            if member not in source.missing:
                source.missing.append(member)
        else:
            source.resolved[member] = str(found)
            body = found.read_text(encoding="latin-1")
            pairs = replacing_pairs(m.group("rest"))
            sub = split_lines(body, str(found), source.fixed if is_fixed(body) else False)
            if pairs:
                sub = [Line(apply_replacing(s.text, pairs), s.file, s.number, s.indent) for s in sub]
            out.extend(_expand(sub, dirs, source, depth + 1))
        after = stmt[m.end() :].strip()
        if after:
            out.append(Line(after, lines[j].file, lines[j].number, lines[j].indent))
        i = j + 1
    return out


def _in_literal(text: str, pos: int) -> bool:
    """Whether pos sits inside a quoted literal (a DISPLAY 'COPY ...' is not a COPY statement)."""
    quote = ""
    for ch in text[:pos]:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
    return bool(quote)


def _blank_pseudo(text: str) -> str:
    """Pseudo-text may hold periods; hide it before looking for the statement's end."""
    return re.sub(r"==.*?==", "==x==", text, flags=re.DOTALL)
