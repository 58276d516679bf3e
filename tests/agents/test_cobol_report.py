"""Per-program session status read from stored tool steps: verdicts, first difference, go test, attempts, tokens."""

from __future__ import annotations

from pathlib import Path

from agents.workflows import cobol_report
from mcp_servers.cobol.compare import Comparison, compare_exit, compare_lines
from mcp_servers.cobol.verify import Verification
from storage import cobol_sessions, repo
from storage.db import Database


def _verify_text(program: str, go_dir: str, cobol: bytes, go: bytes, problem: str = "") -> str:
    """What cobol__verify returns, rendered by the server's own code."""
    result = Verification(program=program, go_dir=go_dir, problem=problem)
    result.comparison = Comparison([compare_exit(0, 0), compare_lines("PRTLINE", cobol, go)])
    return result.render()


def test_statuses_come_from_verify_and_go_test_steps(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/k2hub.db")
    try:
        conversation = repo.create_conversation(db, "COBOL").id
        run = repo.create_run(db, conversation).id
        session = cobol_sessions.create_session(
            db, conversation, "project", "/src", {}, [("CBL0001", "CBL0001.cobol", 98), ("EMPPAY", "EMPPAY.cbl", 60)]
        )
        cobol_sessions.update_session(db, session.id, run_ids=[run], stage="generating")
        (tmp_path / "ws" / "go" / "cbl0001").mkdir(parents=True)
        (tmp_path / "ws" / "go" / "cbl0001" / "main.go").write_text("package main\n\nfunc main() {\n}\n")
        (tmp_path / "ws" / "go" / "cbl0001" / "main_test.go").write_text("package main\n")
        n = iter(range(100))

        def model(tokens: int) -> None:
            repo.add_step(db, run, "model", "m", prompt_tokens=tokens, cost_usd=tokens / 1000)

        def tool(name: str, args: dict, text: str) -> None:
            repo.add_step(db, run, "tool", name, call_id=f"c{next(n)}", args=args, result_preview=text)

        go_test = {"args": ["test", "./..."], "dir": "go/cbl0001"}
        model(100)
        tool("sandbox__go", go_test, "exit 1\ngo test: 0 package(s) passed, 1 failed; failed tests: TestEdit")
        model(50)
        tool("cobol__verify", {}, _verify_text("CBL0001", "go/cbl0001", b"  $1,234.50\n", b"  $1,234.5\n"))
        model(30)
        tool("sandbox__go", {**go_test, "dir": "./go/cbl0001/"}, "exit 0\ngo test: 2 package(s) passed, 0 failed")
        tool("cobol__verify", {}, _verify_text("CBL0001", "go/cbl0001", b"  $1,234.50\n", b"  $1,234.50\n"))
        model(20)
        tool("cobol__verify", {}, _verify_text("EMPPAY", "go/emppay", b"", b"", problem="go build failed (exit 1):\nx"))
        model(7)  # the closing report: no verify after it, stays with the session total

        rows = {r.program: r for r in cobol_report.refresh(db, cobol_sessions.get_session(db, session.id),
                                                          tmp_path / "ws")}  # fmt: skip
        cbl, emp = rows["CBL0001"], rows["EMPPAY"]
        assert (cbl.verify, cbl.attempts, cbl.go_test_passed, cbl.first_difference) == ("equal", 2, True, "")
        assert (cbl.lines_translated, cbl.go_lines, cbl.tokens) == (98, 3, 180)
        assert abs(cbl.cost_usd - 0.18) < 1e-9
        assert (emp.verify, emp.go_test_passed, emp.lines_translated, emp.tokens) == ("not-compared", None, 0, 20)
        assert emp.first_difference == "go build failed (exit 1):"

        # A DIFFERING verify's first difference names the stream and the line with both values.
        text = _verify_text("CBL0001", "go/cbl0001", b"  $1,234.50\n", b"  $1,234.5\n")
        assert text.splitlines()[0].endswith("DIFFERING")
        diff = cobol_report.first_difference(text)
        assert diff.startswith("PRTLINE: DIFFERENT") and "$1,234.50" in diff and "$1,234.5'" in diff

        report = cobol_report.report(cobol_sessions.get_session(db, session.id), list(rows.values()), (207, 0.207))
        assert "**1 of 2 programs equal** · 98 of 158 COBOL lines translated · 207 tokens" in report
        assert "| EMPPAY | not-compared | not run | 0 / 60 |" in report
    finally:
        db.close()


def test_go_test_result_ignores_other_go_commands() -> None:
    assert cobol_report.go_test_result({"args": ["build", "."], "dir": "go/x"}, "", None) is None
    assert cobol_report.go_test_result({"args": ["test"], "dir": "go/x"}, "ok", None) == ("go/x", False)
    passed = "go test: 1 package(s) passed, 0 failed"
    assert cobol_report.go_test_result({"args": ["test"], "dir": "go/x/"}, passed, None) == ("go/x", True)
