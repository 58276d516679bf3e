"""The deterministic COBOL analysis on the course and CardDemo sources, the CLI verb and the server's read tools."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_servers.cobol.layout import build_records
from mcp_servers.cobol.project import analyze_project
from mcp_servers.cobol.source import Line, apply_replacing, replacing_pairs
from mcp_servers.cobol.server import create_server
from tests.mcp_servers.cobol_support import CARDDEMO, COURSE, REPO, requires_data
from tests.mcp_servers.conftest import connect


def test_layout_offsets_usage_occurs_redefines_and_sign() -> None:
    text = """01 REC.
   05 A PIC X(3).
   05 B PIC S9(7)V99 COMP-3.
   05 C PIC S9(4) COMP.
   05 D PIC S9(3)V9 SIGN LEADING SEPARATE.
   05 E OCCURS 3 TIMES.
      10 E1 PIC X(2).
      10 E2 PIC 9(2).
   05 F REDEFINES E PIC X(12).
   05 G PIC $$,$$9.99.
   05 H PIC X.
      88 H-YES VALUE 'Y'."""
    rec = build_records([Line(t.strip(), "x", n, 0) for n, t in enumerate(text.splitlines(), 1)])[0]
    got = {f.name: (f.offset, f.size) for f in rec.walk()}
    assert got == {
        "REC": (0, 37),
        "A": (0, 3),
        "B": (3, 5),
        "C": (8, 2),
        "D": (10, 5),
        "E": (15, 4),
        "E1": (15, 2),
        "E2": (17, 2),
        "F": (15, 12),
        "G": (27, 9),
        "H": (36, 1),
    }
    assert rec.children[-1].conditions == {"H-YES": "'Y'"}


def test_copy_replacing_pseudo_text_and_words() -> None:
    pairs = replacing_pairs("REPLACING ==(TESTVAR1)== BY ==ACCT-STATUS== LEADING-X BY WS-X")
    assert pairs == [("(TESTVAR1)", "ACCT-STATUS", True), ("LEADING-X", "WS-X", False)]
    assert apply_replacing("MOVE (TESTVAR1) TO LEADING-X LEADING-XY", pairs) == "MOVE ACCT-STATUS TO WS-X LEADING-XY"


@requires_data
def test_course_programs_paragraphs_files_and_layouts() -> None:
    project = analyze_project(COURSE / "cbl-gnucobol")
    cbl0033 = project.program("CBL0033")
    assert cbl0033 is not None and len(cbl0033.paragraphs) == 18
    by_name = {p.name: p for p in cbl0033.paragraphs}
    assert by_name["2200-READ-ANOTHER-RECORD"].performs == ["4000-READ-RECORD THRU 5000-WRITE-RECORD"]
    assert by_name["2000-READ-FIRST-RECORD"].gotos == ["2100-READ-TEN-RECORDS"]
    assert cbl0033.calls == ["HELLO"]
    acct = cbl0033.file("ACCTREC")
    assert acct is not None and acct.record_length == 170
    fields = {f.name: (f.offset, f.size, f.usage) for f in acct.records[0].walk()}
    assert fields["ACCT-BALANCE"] == (13, 5, "COMP-3") and fields["COMMENTS"] == (120, 50, "DISPLAY")
    # The triples' data: 45 records of 170 bytes in; CBL0001 prints 45 records of 119 bytes.
    assert (COURSE / "triples" / "CBL0001" / "ACCTREC.in").stat().st_size == 45 * acct.record_length
    prt = project.program("CBL0001").file("PRTLINE")  # type: ignore[union-attr]
    assert (COURSE / "triples" / "CBL0001" / "PRTLINE.out").stat().st_size == 45 * prt.record_length
    assert project.program("CBL0006").reads_date and project.program("ADDAMT").accepts_input  # type: ignore[union-attr]


@requires_data
def test_carddemo_copybooks_jcl_and_data_record_lengths() -> None:
    project = analyze_project(CARDDEMO)
    assert project.total_lines > 5000 and len(project.programs) == 31
    assert {"cpy", "cpy-bms"} <= set(project.copy_dirs)
    cbtrn02 = project.program("CBTRN02C")
    assert cbtrn02 is not None and not cbtrn02.copybooks_missing
    assert cbtrn02.copybooks_resolved["CVTRA06Y"].endswith("cpy/CVTRA06Y.cpy")
    assert len(cbtrn02.paragraphs) == 27
    # COPY ... REPLACING resolved in the CICS programs (only IBM's own DFH members are absent).
    coactup = project.program("COACTUPC")
    assert coactup is not None and set(coactup.copybooks_missing) == {"DFHBMSCA", "DFHAID"}
    assert "CSSETATY" in coactup.copybooks
    lengths = {d.path: d.line_length for d in project.data_files}
    for data, program, dd in [
        ("acctdata.txt", "CBACT01C", "ACCTFILE"),
        ("carddata.txt", "CBACT02C", "CARDFILE"),
        ("custdata.txt", "CBCUS01C", "CUSTFILE"),
        ("dailytran.txt", "CBTRN02C", "DALYTRAN"),
        ("tcatbal.txt", "CBACT04C", "TCATBALF"),
    ]:
        f = project.program(program).file(dd)  # type: ignore[union-attr]
        assert f is not None and f.record_length == lengths[f"data-ascii/{data}"], (data, f and f.record_length)
    tran = next(r for r in cbtrn02.working_storage if r.name == "DALYTRAN-RECORD")  # from COPY CVTRA06Y
    assert tran.total_size == 350
    amt = next(x for x in tran.walk() if x.name == "DALYTRAN-AMT")
    assert (amt.offset, amt.size, amt.picture.scale) == (132, 11, 2)  # type: ignore[union-attr]
    links = [d for d in project.datasets() if d["program"] == "CBTRN02C" and d["dd"] == "DALYTRAN"]
    assert links and links[0]["dsn"] == "AWS.M2.CARDDEMO.DALYTRAN.PS" and links[0]["file"] == "DALYTRAN-FILE"


@requires_data
def test_cli_analyze_json_lists_programs_with_paragraphs_copybooks_files_and_layouts() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "cobol", "analyze", str(CARDDEMO), "--json"],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    prog = next(p for p in data["programs"] if p["program_id"] == "CBACT01C")
    assert prog["copybooks"] == ["CVACT01Y", "CODATECN"] and len(prog["paragraphs"]) == 17
    acct = next(f for f in prog["files"] if f["assign"] == "ACCTFILE")
    assert acct["record_length"] == 300 and acct["records"][0]["fields"][0]["name"] == "FD-ACCT-ID"
    text = subprocess.run(
        [sys.executable, "-m", "app.cli", "cobol", "analyze", str(CARDDEMO)],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "CBACT01C (cbl/CBACT01C.cbl, 430 lines" in text and "JCL links" in text


@requires_data
async def test_server_tools_analyze_and_show_a_layout(tmp_path: Path) -> None:
    import shutil

    ws = tmp_path / "workspaces" / "c1"
    shutil.copytree(CARDDEMO / "cbl", ws / "proj" / "cbl")
    shutil.copytree(CARDDEMO / "cpy", ws / "proj" / "cpy")
    async with connect(create_server(tmp_path / "workspaces")) as cobol:
        text = await cobol.ok("analyze_project", "c1", path="proj")
        assert text.startswith("COBOL project proj: 31 programs")
        layout = await cobol.ok("record_layout", "c1", program="CBACT01C", file="ACCTFILE", path="proj")
        assert "record length 300 bytes" in layout and "FD-ACCT-ID" in layout
        err = await cobol.error("record_layout", "c1", program="CBACT01C", file="NOPE", path="proj")
        assert "has no file or record 'NOPE'" in err
        err = await cobol.error("analyze_project", "c1", path="missing")
        assert "no such folder" in err


@pytest.mark.parametrize("name", ["CBL0001", "CBL0106C"])
@requires_data
def test_every_course_program_analyzes_without_errors(name: str) -> None:
    project = analyze_project(COURSE / "cbl-gnucobol")
    assert project.errors == ["CBLC1.cobol: PROGRAM-ID CBL0006 also in CBL0006.cobol"]  # true of the course
    assert project.program(name) is not None
