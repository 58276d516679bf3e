"""Differential verification through the cobol server: hand-written Go translations of two course programs are
equal to the COBOL; deliberate mistakes (field width, rounding, sign) are caught with the field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_servers.cobol.server import create_server
from tests.mcp_servers.cobol_support import course_workspace, fixture_module, requires_cobc, requires_data, requires_go
from tests.mcp_servers.conftest import ToolCaller, connect
from tests.mcp_servers.sandbox_support import requires_sandbox, sandbox_env

pytestmark = [requires_sandbox, requires_cobc, requires_go, requires_data]
CID = "verify"


@pytest.fixture
async def cobol(tmp_path: Path) -> ToolCaller:
    async with connect(create_server(tmp_path / "workspaces", env=sandbox_env())) as caller:
        yield caller


def _ws(tmp_path: Path) -> Path:
    return tmp_path / "workspaces" / CID


async def _prepare(cobol: ToolCaller, tmp_path: Path, program: str, fixture: str) -> tuple[dict[str, str], Path]:
    ws = _ws(tmp_path)
    inputs = course_workspace(ws, program)
    module = fixture_module(ws, fixture, f"go/{fixture}")
    text = await cobol.ok("add_runtime", CID, dir=f"go/{fixture}")
    assert "cobolrt copied" in text and (module / "cobolrt" / "decimal.go").is_file()
    return inputs, module


async def test_cbl0001_translation_is_equal_and_wrong_widths_or_rounding_are_named(
    cobol: ToolCaller, tmp_path: Path
) -> None:
    inputs, module = await _prepare(cobol, tmp_path, "CBL0001", "cbl0001")
    args = {"cobol": ["cobol/CBL0001.cobol"], "go_dir": "go/cbl0001", "inputs": inputs, "outputs": ["PRTLINE"]}
    report = await cobol.ok("verify", CID, **args)
    assert report.startswith("verify CBL0001 vs Go in go/cbl0001: EQUAL"), report
    assert "PRTLINE: equal (45 records)" in report and "exit code: equal" in report

    main = module / "main.go"
    good = main.read_text()
    # Field width: the limit edited one position short shifts everything after it.
    main.write_text(
        good.replace(
            'cobolrt.PutText(out, 8, 13, cobolrt.Edit(cobolrt.DecodePacked(acct[8:13], 2), "$$,$$$,$$9.99"))',
            'cobolrt.PutText(out, 8, 13, cobolrt.Edit(cobolrt.DecodePacked(acct[8:13], 2), "$$$,$$9.99"))',
        )
    )
    report = await cobol.ok("verify", CID, **args)
    assert "DIFFERING" in report and "PRTLINE: DIFFERENT" in report, report
    assert "record 1, field ACCT-LIMIT-O PIC $$,$$$,$$9.99 (offset 8, length 13)" in report, report
    assert "COBOL '  $10,000.00' vs Go '  $10,000.00'" not in report

    # Rounding: the balance rounded to whole dollars instead of kept to the cent.
    main.write_text(
        good.replace("cobolrt.DecodePacked(acct[13:18], 2), ", "cobolrt.DecodePacked(acct[13:18], 2).Round(0), ")
    )
    report = await cobol.ok("verify", CID, **args)
    assert (
        "field ACCT-BALANCE-O PIC $$,$$$,$$9.99 (offset 21, length 13): COBOL '      $188.74' vs Go "
        "'      $189.00'" in report
    ), report


async def test_emppay_translation_is_equal_and_a_sign_mistake_is_shown(cobol: ToolCaller, tmp_path: Path) -> None:
    inputs, module = await _prepare(cobol, tmp_path, "EMPPAY", "emppay")
    args = {"cobol": ["cobol/EMPPAY.CBL"], "go_dir": "go/emppay", "inputs": inputs}
    report = await cobol.ok("verify", CID, **args)
    assert "EQUAL" in report and "stdout: equal (7 records)" in report, report
    main = module / "main.go"
    line = "digits := string(cobolrt.EncodeDisplay(v, p, cobolrt.SignASCII))"
    main.write_text(main.read_text().replace(line, line + '\n\tif v.Sign() >= 0 {\n\t\tdigits = "+" + digits\n\t}'))
    report = await cobol.ok("verify", CID, **args)
    assert "stdout: DIFFERENT (5 of 7 records differ)" in report, report
    assert (
        "record 2, field line (from column 24): COBOL 'Hours Worked Per Week: 019' vs Go "
        "'Hours Worked Per Week: +019'" in report
    ), report


async def test_build_failures_are_reported_not_compared(cobol: ToolCaller, tmp_path: Path) -> None:
    inputs, module = await _prepare(cobol, tmp_path, "CBL0001", "cbl0001")
    (module / "main.go").write_text("package main\n\nfunc main() { undefined() }\n")
    report = await cobol.ok(
        "verify", CID, cobol=["cobol/CBL0001.cobol"], go_dir="go/cbl0001", inputs=inputs, outputs=["PRTLINE"]
    )
    assert "NOT COMPARED" in report and "go build failed" in report and "undefined" in report
    err = await cobol.error("verify", CID, cobol=["cobol/NOPE.cbl"], go_dir="go/cbl0001")
    assert "cobol/NOPE.cbl: no such file in the workspace" in err
