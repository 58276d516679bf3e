"""Data description entries -> record layouts: levels, PIC, USAGE, sign, OCCURS, REDEFINES, byte offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mcp_servers.cobol.picture import USAGE_WORDS, Picture, normal_usage, parse_picture, storage_size
from mcp_servers.cobol.source import Line

_LEVEL = re.compile(r"^(\d{1,2})(?:\s+|$)")


@dataclass
class Field:
    """One data item; offset is from the start of its 01-level record, size covers one occurrence."""

    level: int
    name: str
    line: int
    file: str
    picture: Picture | None = None
    usage: str = "DISPLAY"
    occurs: int = 1
    occurs_max: int = 1
    depending_on: str = ""
    redefines: str = ""
    value: str = ""
    sign_leading: bool = False
    sign_separate: bool = False
    children: list[Field] = field(default_factory=list)
    conditions: dict[str, str] = field(default_factory=dict)  # 88-level name -> VALUE text
    offset: int = 0
    size: int = 0

    @property
    def is_group(self) -> bool:
        return self.picture is None and bool(self.children)

    @property
    def total_size(self) -> int:
        """Bytes of every occurrence (OCCURS ... DEPENDING ON counts its maximum)."""
        return self.size * self.occurs_max

    def walk(self) -> list[Field]:
        """This item and every item below it, in source order."""
        out = [self]
        for child in self.children:
            out += child.walk()
        return out

    def to_dict(self, depth: int = 0) -> dict[str, Any]:
        d: dict[str, Any] = {"level": self.level, "name": self.name, "offset": self.offset, "length": self.size}
        if self.picture is not None:
            d["pic"] = self.picture.text
            d["category"] = self.picture.category
            if self.picture.category in ("numeric", "numeric-edited"):
                d.update(digits=self.picture.digits, scale=self.picture.scale, signed=self.picture.signed)
        if self.usage != "DISPLAY":
            d["usage"] = self.usage
        if self.sign_separate or self.sign_leading:
            d["sign"] = ("leading" if self.sign_leading else "trailing") + (" separate" if self.sign_separate else "")
        if self.occurs_max > 1:
            d["occurs"] = self.occurs_max
            if self.depending_on:
                d["depending_on"] = self.depending_on
        if self.redefines:
            d["redefines"] = self.redefines
        if self.conditions:
            d["conditions"] = self.conditions
        d["line"] = self.line
        if self.children:
            d["fields"] = [c.to_dict(depth + 1) for c in self.children]
        return d


def entries(lines: list[Line]) -> list[tuple[str, Line]]:
    """Split lines into period-terminated entries (periods inside literals or PICTUREs do not end one)."""
    out: list[tuple[str, Line]] = []
    buf: list[str] = []
    start: Line | None = None
    for line in lines:
        text = line.text
        if start is None:
            start = line
        pos, quote, last = 0, "", 0
        while pos < len(text):
            ch = text[pos]
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "." and (pos + 1 == len(text) or text[pos + 1] == " "):
                buf.append(text[last:pos])
                out.append((" ".join(buf).strip(), start))
                buf, start, last = [], None, pos + 1
                if pos + 1 < len(text):
                    start = line
            pos += 1
        rest = text[last:].strip()
        if rest:
            buf.append(rest)
        elif not buf:
            start = None
    if buf and start is not None:
        out.append((" ".join(buf).strip(), start))
    return [(t, ln) for t, ln in out if t]


def _tokens(text: str) -> list[str]:
    # Commas inside a PICTURE ($$,$$9.99) are not separators; a separator comma is followed by a space.
    toks = re.findall(r"\"[^\"]*\"|'[^']*'|X'[^']*'|[^\s]+", text)
    return [t.rstrip(",;") if len(t) > 1 and not t.startswith(("'", '"')) else t for t in toks]


def parse_entry(text: str, line: Line) -> Field | None:
    """One data description entry, or None when text is not one (a section header, an FD)."""
    m = _LEVEL.match(text)
    if not m:
        return None
    level = int(m.group(1))
    toks = _tokens(text[m.end() :])
    name = "FILLER"
    if toks and toks[0].upper() not in (
        "PIC",
        "PICTURE",
        "REDEFINES",
        "OCCURS",
        "VALUE",
        "VALUES",
        "USAGE",
        "COMP",
        "COMP-3",
        "BINARY",
        "SIGN",
        "RENAMES",
    ):
        name = toks.pop(0).upper()
    f = Field(level=level, name=name, line=line.number, file=line.file)
    i = 0
    while i < len(toks):
        word = toks[i].upper()
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if word in ("PIC", "PICTURE"):
            if nxt.upper() == "IS":
                i += 1
                nxt = toks[i + 1] if i + 1 < len(toks) else ""
            f.picture = parse_picture(nxt)
            i += 2
            continue
        if word == "USAGE":
            if nxt.upper() == "IS":
                i += 1
            i += 1
            continue
        if word in USAGE_WORDS:
            f.usage = normal_usage(word)
        elif word == "REDEFINES":
            f.redefines = nxt.upper()
            i += 1
        elif word == "OCCURS":
            nums = [int(t) for t in toks[i + 1 : i + 4] if t.isdigit()]
            if nums:
                f.occurs, f.occurs_max = nums[0], nums[-1]
            rest = " ".join(toks[i:]).upper()
            dep = re.search(r"DEPENDING\s+(?:ON\s+)?([A-Z0-9-]+)", rest)
            if dep:
                f.depending_on = dep.group(1)
        elif word == "SIGN" or word in ("LEADING", "TRAILING"):
            rest = " ".join(toks[i : i + 5]).upper()
            f.sign_leading = "LEADING" in rest.split("SEPARATE")[0]
            f.sign_separate = "SEPARATE" in rest
        elif word in ("VALUE", "VALUES"):
            j = i + 1
            if j < len(toks) and toks[j].upper() in ("IS", "ARE"):
                j += 1
            f.value = " ".join(toks[j:])
            break
        i += 1
    return f


def build_records(lines: list[Line], binary_size: str = "2-4-8") -> list[Field]:
    """Parse a data section's entries into 01/77-level records with computed offsets and sizes."""
    records: list[Field] = []
    stack: list[Field] = []
    for text, line in entries(lines):
        f = parse_entry(text, line)
        if f is None:
            continue
        if f.level == 88:
            if stack:
                stack[-1].conditions[f.name] = f.value
            continue
        if f.level == 66:
            continue
        if f.level in (1, 77):
            records.append(f)
            stack = [f]
            continue
        while stack and stack[-1].level >= f.level:
            stack.pop()
        if not stack:  # a level number without an 01 above it: start a record of its own
            records.append(f)
            stack = [f]
            continue
        stack[-1].children.append(f)
        stack.append(f)
    for rec in records:
        _inherit_usage(rec, rec.usage)
        _size(rec, binary_size)
        _place(rec, 0)
    return records


def _inherit_usage(f: Field, usage: str) -> None:
    if f.usage == "DISPLAY" and usage != "DISPLAY":
        f.usage = usage
    for child in f.children:
        _inherit_usage(child, f.usage)


def _size(f: Field, binary_size: str) -> int:
    if not f.children:
        f.size = storage_size(f.picture, f.usage, f.sign_separate, binary_size)
        return f.size
    end = 0
    cursor = 0
    starts: dict[str, int] = {}
    for child in f.children:
        _size(child, binary_size)
        if child.redefines and child.redefines in starts:
            begin = starts[child.redefines]
        else:
            begin = cursor
            cursor += child.total_size
        starts[child.name] = begin
        end = max(end, begin + child.total_size)
    f.size = end
    return f.size


def _place(f: Field, offset: int) -> None:
    f.offset = offset
    cursor = offset
    starts: dict[str, int] = {}
    for child in f.children:
        if child.redefines and child.redefines in starts:
            _place(child, starts[child.redefines])
        else:
            _place(child, cursor)
            cursor += child.total_size
        starts[child.name] = child.offset


def elementary(record: Field) -> list[Field]:
    """The record's elementary items in storage order (the first occurrence of each OCCURS; REDEFINES skipped)."""
    out: list[Field] = []

    def visit(f: Field) -> None:
        if f.redefines:
            return
        if not f.children:
            out.append(f)
        for c in f.children:
            visit(c)

    visit(record)
    return out
