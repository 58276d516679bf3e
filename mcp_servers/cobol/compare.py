"""Compare what the COBOL program and its Go translation produced: exit code, stdout lines, output files record by
record and field by field (using the FD's record layout), naming the first differing field with both values."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from mcp_servers.cobol.layout import Field, elementary

MAX_SHOWN = 60  # characters of a value shown in a difference


@dataclass
class Difference:
    """The first place two outputs differ."""

    record: int  # 1-based record or line number; 0 for the exit code
    field: str  # field name, "line", "bytes a-b" or "exit code"
    offset: int
    length: int
    cobol: str
    go: str
    decoded: str = ""  # numeric values of both sides when the field is numeric

    def render(self) -> str:
        where = f"record {self.record}, " if self.record else ""
        span = f" (offset {self.offset}, length {self.length})" if self.length else ""
        extra = f"; as numbers {self.decoded}" if self.decoded else ""
        return f"{where}field {self.field}{span}: COBOL {self.cobol} vs Go {self.go}{extra}"


@dataclass
class StreamResult:
    """One compared output: 'exit code', 'stdout' or a file's DD name."""

    name: str
    equal: bool
    records: int = 0
    go_records: int = 0
    differences: int = 0  # records (or lines) that differ
    first: Difference | None = None
    note: str = ""

    def render(self) -> str:
        if self.equal:
            what = f" ({self.records} records)" if self.records else ""
            return f"{self.name}: equal{what}"
        head = f"{self.name}: DIFFERENT"
        if self.records or self.go_records:
            head += f" ({self.differences} of {max(self.records, self.go_records)} records differ"
            if self.records != self.go_records:
                head += f"; COBOL wrote {self.records}, Go {self.go_records}"
            head += ")"
        lines = [head]
        if self.first is not None:
            lines.append("  first difference: " + self.first.render())
        if self.note:
            lines.append("  " + self.note)
        return "\n".join(lines)


@dataclass
class Comparison:
    """Every compared stream; equal only when all are."""

    streams: list[StreamResult] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return all(s.equal for s in self.streams)

    def render(self) -> str:
        return "\n".join(s.render() for s in self.streams)


def show(b: bytes) -> str:
    """A byte string as a readable quoted value (non-printable bytes as \\xNN), bounded."""
    text = repr(b.decode("latin-1"))
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 4] + "…'"


def compare_exit(cobol: int | None, go: int | None) -> StreamResult:
    if cobol == go:
        return StreamResult("exit code", True)
    return StreamResult("exit code", False, first=Difference(0, "exit code", 0, 0, str(cobol), str(go)))


def compare_lines(name: str, cobol: bytes, go: bytes) -> StreamResult:
    """Line by line (stdout, LINE SEQUENTIAL files); trailing spaces count, as they are in COBOL's output."""
    a, b = cobol.split(b"\n"), go.split(b"\n")
    for side in (a, b):
        if side and side[-1] == b"":
            side.pop()
    res = StreamResult(name, a == b, records=len(a), go_records=len(b))
    if res.equal:
        return res
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            res.differences += 1
            if res.first is None:
                col = _first_diff(x or b"", y or b"")
                res.first = Difference(
                    i + 1,
                    f"line (from column {col + 1})",
                    0,
                    0,
                    "(no line)" if x is None else show(x),
                    "(no line)" if y is None else show(y),
                )
    return res


def compare_records(name: str, cobol: bytes, go: bytes, record_length: int, record: Field | None) -> StreamResult:
    """Fixed-length records; a differing record is explained by its first differing elementary field."""
    if record_length <= 0:
        return compare_lines(name, cobol, go)
    n_a, n_b = -(-len(cobol) // record_length), -(-len(go) // record_length)
    res = StreamResult(name, cobol == go, records=n_a, go_records=n_b)
    if res.equal:
        return res
    if len(cobol) % record_length or len(go) % record_length:
        res.note = (
            f"file sizes {len(cobol)} (COBOL) and {len(go)} (Go) bytes; records are {record_length} bytes: "
            "a size that is not a multiple means a record of the wrong length was written"
        )
    fields = elementary(record) if record is not None else []
    for i in range(max(n_a, n_b)):
        x = cobol[i * record_length : (i + 1) * record_length]
        y = go[i * record_length : (i + 1) * record_length]
        if x == y:
            continue
        res.differences += 1
        if res.first is None:
            res.first = _field_difference(i + 1, x, y, fields, record_length)
    return res


def _field_difference(number: int, x: bytes, y: bytes, fields: list[Field], record_length: int) -> Difference:
    if not x or not y:
        return Difference(
            number, "record", 0, record_length, "(no record)" if not x else show(x), "(no record)" if not y else show(y)
        )
    col = _first_diff(x, y)
    for f in fields:
        if f.offset <= col < f.offset + f.size:
            a, b = x[f.offset : f.offset + f.size], y[f.offset : f.offset + f.size]
            desc = (
                f.name
                + (f" PIC {f.picture.text}" if f.picture else "")
                + (f" {f.usage}" if f.usage != "DISPLAY" else "")
            )
            return Difference(number, desc, f.offset, f.size, show(a), show(b), _decoded(f, a, b))
    end = min(max(len(x), len(y)), col + 16)
    return Difference(number, f"bytes {col}-{end - 1}", col, end - col, show(x[col:end]), show(y[col:end]))


def _decoded(f: Field, a: bytes, b: bytes) -> str:
    pic = f.picture
    if pic is None or pic.category != "numeric":
        return ""
    try:
        return f"{decode_number(a, f)} vs {decode_number(b, f)}"
    except (ValueError, ArithmeticError):
        return ""


def decode_number(raw: bytes, f: Field) -> Decimal:
    """The value of a numeric field's bytes: DISPLAY (either sign convention), COMP-3 or binary."""
    assert f.picture is not None
    scale = f.picture.scale
    if f.usage == "COMP-3":
        digits, sign = "", 1
        for i, byte in enumerate(raw):
            hi, lo = byte >> 4, byte & 0x0F
            digits += str(min(hi, 9))
            if i < len(raw) - 1:
                digits += str(min(lo, 9))
            elif lo in (0x0D, 0x0B):
                sign = -1
        return sign * Decimal(int(digits or "0")).scaleb(-scale)
    if f.usage in ("COMP", "COMP-5"):
        return Decimal(int.from_bytes(raw, "big", signed=f.picture.signed)).scaleb(-scale)
    text, sign = "", 1
    for i, byte in enumerate(raw):
        c = chr(byte)
        if c.isdigit():
            text += c
        elif "p" <= c <= "y":
            text, sign = text + str(byte - 0x70), -1
        elif c == "{" or c == " ":
            text += "0"
        elif "A" <= c <= "I":
            text += str(ord(c) - ord("A") + 1)
        elif c == "}":
            text, sign = text + "0", -1
        elif "J" <= c <= "R":
            text, sign = text + str(ord(c) - ord("J") + 1), -1
        elif c == "-" and i in (0, len(raw) - 1):
            sign = -1
    return sign * Decimal(int(text or "0")).scaleb(-scale)


def _first_diff(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))
