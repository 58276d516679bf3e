"""`python run.py test` runs the suite on every core unless the caller chose how."""

from __future__ import annotations

import pytest

from app.cli import _parallel


def test_the_suite_runs_one_worker_per_core_with_files_kept_whole() -> None:
    assert _parallel([]) == ["-n", "auto", "--dist", "loadfile"]
    assert _parallel(["-m", "not local_model", "tests/app"]) == ["-n", "auto", "--dist", "loadfile"]


@pytest.mark.parametrize("extra", [["-n", "0"], ["-n4"], ["--numprocesses=3"], ["--dist", "load"], ["-p", "no:xdist"]])
def test_the_callers_choice_wins(extra: list[str]) -> None:
    assert _parallel(extra) == []


def test_pytest_options_pass_through_the_test_verb(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.cli as cli

    seen: list[list[str]] = []
    monkeypatch.setattr(cli, "run_tests", lambda extra: seen.append(extra) or 0)
    assert cli.main(["test", "--durations=5", "-m", "not local_model"]) == 0
    assert seen == [["--durations=5", "-m", "not local_model"]]
