"""The Go decimal runtime against GnuCOBOL itself: a table of arithmetic, MOVE and editing cases run by cobc and by
cobolrt must print the same bytes; plus the runtime's own go test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.assets.cobolrt_support import RUNTIME, cobc_run, go, go_module
from tests.mcp_servers.sandbox_support import requires_cobc, requires_go


@dataclass(frozen=True)
class Case:
    op: str  # ADD SUBTRACT MULTIPLY DIVIDE MOVE
    a: str
    a_pic: tuple[int, int, bool]
    b: str
    b_pic: tuple[int, int, bool]
    t_pic: tuple[int, int, bool]
    rounded: bool = False
    size_error: bool = False


S72 = (9, 2, True)
ARITH = [
    Case("ADD", "123.45", S72, "-0.46", S72, (7, 2, True)),
    Case("ADD", "99999.99", (7, 2, False), "0.01", (3, 2, False), (5, 2, False)),  # high-order truncation
    Case("ADD", "99999.99", (7, 2, False), "0.01", (3, 2, False), (5, 2, False), size_error=True),
    Case("SUBTRACT", "10.00", S72, "25.50", S72, (5, 2, True)),
    Case("SUBTRACT", "10.00", S72, "25.50", S72, (5, 2, False)),  # negative into unsigned: the sign is lost
    Case("MULTIPLY", "1.25", (3, 2, True), "3.333", (4, 3, True), (5, 2, True)),
    Case("MULTIPLY", "1.25", (3, 2, True), "3.333", (4, 3, True), (5, 2, True), rounded=True),
    Case("MULTIPLY", "-1.25", (3, 2, True), "3.335", (4, 3, True), (5, 2, True), rounded=True),
    Case("MULTIPLY", "-0.5", (2, 1, True), "0.01", (3, 2, True), (3, 2, True), rounded=True),
    Case("DIVIDE", "10", (3, 0, True), "3", (3, 0, True), (5, 2, True)),
    Case("DIVIDE", "10", (3, 0, True), "3", (3, 0, True), (5, 2, True), rounded=True),
    Case("DIVIDE", "20", (3, 0, True), "3", (3, 0, True), (5, 2, True), rounded=True),
    Case("DIVIDE", "-20", (3, 0, True), "3", (3, 0, True), (5, 2, True), rounded=True),
    Case("DIVIDE", "-20", (3, 0, True), "3", (3, 0, True), (5, 0, True)),
    Case("DIVIDE", "1", (3, 0, True), "8", (3, 0, True), (5, 2, True), rounded=True),
    Case("DIVIDE", "5", (3, 0, True), "0", (3, 0, True), (5, 2, True), size_error=True),
    Case("MOVE", "12345.678", (8, 3, True), "0", (1, 0, False), (3, 1, True)),
    Case("MOVE", "-0.999", (4, 3, True), "0", (1, 0, False), (4, 2, True)),
    Case("MOVE", "-7", (1, 0, True), "0", (1, 0, False), (3, 0, True)),
    Case("ADD", "1234567.89", S72, "1234567.89", S72, (9, 2, True)),
    Case("MULTIPLY", "1234.5", (6, 1, True), "1234.5", (6, 1, True), (6, 1, True), size_error=True),
]
EDITS = [
    ("10000.00", (9, 2, True), "$$,$$$,$$9.99"),
    ("188.74", (9, 2, True), "$$,$$$,$$9.99"),
    ("0", (9, 2, True), "$$,$$$,$$9.99"),
    ("-42.5", (9, 2, True), "ZZZ,ZZ9.99-"),
    ("42.5", (9, 2, True), "ZZZ,ZZ9.99-"),
    ("-42.5", (9, 2, True), "-ZZZ,ZZ9.99"),
    ("-42.5", (9, 2, True), "ZZ9.99CR"),
    ("42.5", (9, 2, True), "ZZ9.99DB"),
    ("1234.5", (9, 2, True), "***,**9.99"),
    ("0", (5, 0, False), "ZZZZZ"),
    ("7", (5, 0, False), "ZZZZ9"),
    ("-3", (5, 0, True), "+ZZ9"),
    ("3", (5, 0, True), "+ZZ9"),
    ("-1234", (5, 0, True), "++++9"),
    ("-5", (5, 0, True), "----9"),
    ("123456", (7, 0, False), "ZZ,ZZ9"),
    ("0.05", (5, 2, False), "ZZ9.99"),
    ("0.05", (5, 2, False), "Z,ZZZ.99"),
    ("12345", (5, 0, False), "99B999"),
    ("1231", (4, 0, False), "99/99"),
]


def _pic(p: tuple[int, int, bool]) -> str:
    digits, scale, signed = p
    return ("S" if signed else "") + f"9({digits - scale})" + (f"V9({scale})" if scale else "")


def _display_pic(p: tuple[int, int, bool]) -> str:
    digits, scale, _ = p
    return "-" + f"9({digits - scale})" + (f".9({scale})" if scale else "")


def _cobol(cases: list[Case]) -> str:
    ws, proc = [], []
    for n, c in enumerate(cases, 1):
        ws += [
            f"       01 A{n} PIC {_pic(c.a_pic)} VALUE {c.a}.",
            f"       01 B{n} PIC {_pic(c.b_pic)} VALUE {c.b}.",
            f"       01 T{n} PIC {_pic(c.t_pic)} VALUE 7.",
            f"       01 E{n} PIC {_display_pic(c.t_pic)}.",
            f"       01 G{n}.",
            f"          05 Z{n} PIC {_pic(c.t_pic)}.",
        ]
        r = " ROUNDED" if c.rounded else ""
        stmt = {
            "ADD": f"ADD A{n} TO B{n} GIVING T{n}{r}",
            "SUBTRACT": f"SUBTRACT B{n} FROM A{n} GIVING T{n}{r}",
            "MULTIPLY": f"MULTIPLY A{n} BY B{n} GIVING T{n}{r}",
            "DIVIDE": f"DIVIDE A{n} BY B{n} GIVING T{n}{r}",
            "MOVE": f"MOVE A{n} TO T{n}",
        }[c.op]
        proc.append(f"           {stmt}")
        if c.size_error and c.op != "MOVE":
            proc += [f"               ON SIZE ERROR DISPLAY 'SE{n}'", f"           END-{c.op}"]
        proc += [f"           MOVE T{n} TO E{n} Z{n}", f"           DISPLAY '{n}|' E{n} '|' G{n}"]
    for n, (value, pic, edit) in enumerate(EDITS, 1):
        ws += [f"       01 V{n} PIC {_pic(pic)} VALUE {value}.", f"       01 D{n} PIC {edit}."]
        proc += [f"           MOVE V{n} TO D{n}", f"           DISPLAY 'E{n}|' D{n} '|'"]
    return "\n".join(
        [
            "       IDENTIFICATION DIVISION.",
            "       PROGRAM-ID. RTTABLE.",
            "       DATA DIVISION.",
            "       WORKING-STORAGE SECTION.",
            *ws,
            "       PROCEDURE DIVISION.",
            *proc,
            "           STOP RUN.",
            "",
        ]
    )


def _go_pic(p: tuple[int, int, bool]) -> str:
    return f"cobolrt.P({p[0]}, {p[1]}, {str(p[2]).lower()})"


def _go(cases: list[Case]) -> str:
    body = []
    for n, c in enumerate(cases, 1):
        r = str(c.rounded).lower()
        expr = {
            "ADD": "a.Add(b)",
            "SUBTRACT": "a.Sub(b)",
            "MULTIPLY": "a.Mul(b)",
            "MOVE": "a",
            "DIVIDE": f"a.Div(b, tp.Scale, {r})",
        }[c.op]
        guard = f'if b.IsZero() {{ fmt.Println("SE{n}"); t = old }} else ' if c.op == "DIVIDE" else ""
        body.append(f"""	{{
		a := {_go_pic(c.a_pic)}.Move(cobolrt.Parse("{c.a}"))
		b := {_go_pic(c.b_pic)}.Move(cobolrt.Parse("{c.b}"))
		_ = b
		tp := {_go_pic(c.t_pic)}
		old := tp.Move(cobolrt.Int(7))
		var t cobolrt.Dec
		{guard}{{
			var ok bool
			t, ok = tp.Compute(old, {expr}, {r}, {str(c.size_error).lower()})
			if !ok && {str(c.size_error and c.op != "MOVE").lower()} {{
				fmt.Println("SE{n}")
			}}
		}}
		fmt.Printf("%d|%s|%s\\n", {n}, cobolrt.Edit(t, "{_display_pic(c.t_pic)}"), cobolrt.EncodeDisplay(t, tp, cobolrt.SignASCII))
	}}""")
    for n, (value, pic, edit) in enumerate(EDITS, 1):
        body.append(
            f'\tfmt.Printf("E{n}|%s|\\n", cobolrt.Edit({_go_pic(pic)}.Move(cobolrt.Parse("{value}")), "{edit}"))'
        )
    return (
        'package main\n\nimport (\n\t"fmt"\n\n\t"k2hub.local/rtcheck/cobolrt"\n)\n\nfunc main() {\n'
        + "\n".join(body)
        + "\n}\n"
    )


@requires_cobc
@requires_go
def test_runtime_prints_what_cobc_prints_for_every_case(tmp_path: Path) -> None:
    expected = cobc_run(_cobol(ARITH), tmp_path / "cobol").splitlines()
    module = go_module(tmp_path / "go", {"main.go": _go(ARITH)})
    run = go(["run", "."], module)
    assert run.returncode == 0, run.stderr
    got = run.stdout.splitlines()
    assert len(expected) >= len(ARITH) + len(EDITS) and any(line.startswith("SE") for line in expected)
    assert len(got) == len(expected), run.stdout
    mismatches = [(e, g) for e, g in zip(expected, got, strict=True) if e != g]
    assert not mismatches, "cobc vs cobolrt:\n" + "\n".join(f"  cobc {e!r}\n  go   {g!r}" for e, g in mismatches)


@requires_go
def test_runtime_unit_tests_pass(tmp_path: Path) -> None:
    module = go_module(tmp_path / "unit", {})
    run = go(["test", "./cobolrt/"], module)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (RUNTIME / "cobolrt_test.go").is_file()
