"""Per-program status of a COBOL→Go session, read from the tool calls its generation runs made, and the final report.

The evidence is the stored Step rows, never the model's own claims: the verdict and first difference come from the
cobol__verify results, "go test passed" from the latest `sandbox__go test` in the program's Go folder. Tokens and cost
of the model steps are attributed to the program whose verify call closes them (steps after the last verify stay with
the session's total).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.hub import tool_names as tn
from storage import cobol_sessions, repo
from storage.cobol_sessions import CobolProgram, CobolSession
from storage.db import Database

VERIFY_TOOL = tn.COBOL_VERIFY
GO_TOOL = tn.SANDBOX_GO
_VERDICT = re.compile(r"^verify (\S+) vs Go in (.+?): (EQUAL|DIFFERING|NOT COMPARED)\s*$", re.MULTILINE)
_GO_TEST = re.compile(r"go test: (\d+) package\(s\) passed, (\d+) failed")
_VERDICTS = {"EQUAL": "equal", "DIFFERING": "differing", "NOT COMPARED": "not-compared"}


@dataclass
class _Status:
    verify: str = "not-compared"
    first_difference: str = ""
    go_dir: str = ""
    go_test_passed: bool | None = None
    attempts: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)


def _norm(path: str) -> str:
    return "/".join(p for p in str(path).split("/") if p not in ("", "."))


def first_difference(text: str) -> str:
    """The line naming the first differing stream/field, or why nothing was compared."""
    head, _, body = text.partition("\n")
    if "NOT COMPARED" in head:
        return body.strip().splitlines()[0] if body.strip() else "not compared"
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if "DIFFERENT" in line:
            detail = lines[i + 1].strip() if i + 1 < len(lines) and lines[i + 1].startswith("  ") else ""
            return f"{line.strip()} {detail}".strip()
    return ""


def go_test_result(args: Any, text: str, error: str | None) -> tuple[str, bool] | None:
    """(dir, passed) for a `go test` call of sandbox__go; None for other go commands."""
    if not isinstance(args, dict) or not isinstance(args.get("args"), list) or args["args"][:1] != ["test"]:
        return None
    found = _GO_TEST.search(text or "")
    passed = bool(found) and int(found.group(2)) == 0 and int(found.group(1)) > 0 and not error
    return _norm(args.get("dir") or ""), passed


def statuses(db: Database, run_ids: list[str], workspace: Path, lines: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Program → status fields, from the steps of the session's generation runs (oldest first)."""
    found: dict[str, _Status] = {}
    tests: dict[str, bool] = {}  # go dir -> latest go test result
    tokens, cost = 0, 0.0  # model usage since the last verify call
    for run_id in run_ids:
        for step in repo.steps_for_run(db, run_id):
            if step.kind == "model":
                tokens += step.prompt_tokens + step.completion_tokens
                cost += step.cost_usd
                continue
            text = _full_text(db, step)
            if step.name == GO_TOOL:
                result = go_test_result(step.args, text, step.error)
                if result is not None:
                    tests[result[0]] = result[1]
                continue
            if step.name != VERIFY_TOOL:
                continue
            match = _VERDICT.search(text or "")
            if match is None:  # refused before running (bad arguments): an attempt without a verdict
                continue
            program, go_dir, verdict = match.group(1), _norm(match.group(2)), _VERDICTS[match.group(3)]
            st = found.setdefault(program, _Status())
            st.verify, st.go_dir, st.attempts = verdict, go_dir, st.attempts + 1
            st.first_difference = "" if verdict == "equal" else first_difference(text)
            st.tokens, st.cost_usd = st.tokens + tokens, st.cost_usd + cost
            tokens, cost = 0, 0.0
    out: dict[str, dict[str, Any]] = {}
    for program, st in found.items():
        compared = st.verify in ("equal", "differing")
        out[program] = {
            "verify": st.verify,
            "first_difference": st.first_difference[:2000],
            "go_dir": st.go_dir,
            "go_test_passed": tests.get(st.go_dir),
            "lines_translated": lines.get(program, 0) if compared else 0,
            "go_lines": go_lines(workspace / st.go_dir) if st.go_dir else 0,
            "attempts": st.attempts,
            "tokens": st.tokens,
            "cost_usd": round(st.cost_usd, 6),
        }
    return out


def _full_text(db: Database, step: Any) -> str:
    """The whole result when the model saw a cut view (the rest is an artifact)."""
    if step.artifact_id:
        artifact = repo.get_artifact(db, step.artifact_id)
        if artifact is not None:
            return artifact.data.decode("utf-8", "replace")
    return step.result_preview or step.error or ""


def go_lines(folder: Path) -> int:
    """Lines of Go written in a module: .go files outside tests and the shipped cobolrt runtime."""
    if not folder.is_dir():
        return 0
    total = 0
    for path in folder.rglob("*.go"):
        rel = path.relative_to(folder).parts
        if path.name.endswith("_test.go") or "cobolrt" in rel[:-1] or path.is_symlink():
            continue
        total += sum(1 for line in path.read_text(errors="replace").splitlines() if line.strip())
    return total


def refresh(db: Database, session: CobolSession, workspace: Path) -> list[CobolProgram]:
    """Recompute the per-program rows from the session's generation runs and store them."""
    lines = {p.program: p.lines for p in cobol_sessions.programs(db, session.id)}
    found = statuses(db, session.run_ids or [], workspace, lines)
    if found:
        cobol_sessions.save_programs(db, session.id, found)
    return cobol_sessions.programs(db, session.id)


TABLE_HEADERS = ["program", "verify", "first difference", "go test", "COBOL lines", "lines translated", "Go lines",
                 "attempts", "tokens", "cost $"]  # fmt: skip


def table_rows(rows: list[CobolProgram]) -> list[list[Any]]:
    """The status table as rows for the UI (TABLE_HEADERS order)."""
    return [
        [r.program, r.verify, r.first_difference, _tests(r.go_test_passed), r.lines, r.lines_translated, r.go_lines,
         r.attempts, r.tokens, f"{r.cost_usd:.4f}"]
        for r in rows
    ]  # fmt: skip


def _tests(passed: bool | None) -> str:
    return "not run" if passed is None else ("passed" if passed else "failing")


def report(session: CobolSession, rows: list[CobolProgram], run_totals: tuple[int, float] = (0, 0.0)) -> str:
    """The final report as markdown: each program equal / differing, tests passing, lines translated."""
    equal = sum(r.verify == "equal" for r in rows)
    translated = sum(r.lines_translated for r in rows)
    total = sum(r.lines for r in rows)
    out = [
        f"### Migration report — {session.project_path} ({session.stage})",
        "",
        (
            f"**{equal} of {len(rows)} programs equal** · {translated:,} of {total:,} COBOL lines translated · "
            f"{run_totals[0]:,} tokens · ${run_totals[1]:.4f}"
        ),
        "",
        "| program | verify | go test | lines translated | Go lines | attempts | first difference |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        diff = r.first_difference.replace("|", "\\|").replace("\n", " ")[:200]
        out.append(
            f"| {r.program} | {r.verify} | {_tests(r.go_test_passed)} | {r.lines_translated} / {r.lines} | "
            f"{r.go_lines} | {r.attempts} | {diff} |"
        )
    if session.error:
        out += ["", f"Last stage failed: {session.error}"]
    return "\n".join(out)
