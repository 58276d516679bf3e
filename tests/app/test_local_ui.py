"""The local model in the UI and on the command line: progress, labels, `local status`, --no-local."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agents.models.local import installer
from agents.models.local.installer import INSTALLER, LocalStatus
from app import cli
from app.ui.local_panel import local_html, local_label, poll
from app.ui.sidebar import AUTO, provider_hint


def test_progress_panel_shows_the_step_the_bar_and_the_estimate(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(installer.os, "cpu_count", lambda: 2)
    busy = LocalStatus("runtime", "compiling llama.cpp", 0.42, started_at=time.time() - 60)
    page = local_html(busy)
    assert 'data-phase="runtime"' in page and 'style="width:42%"' in page
    assert "compiling llama.cpp 42%, 1 min so far (about 12 min on 2 cores" in page
    ready = local_html(LocalStatus("ready"))
    assert "Qwen2.5-Coder-0.5B" in ready and "for Kimi K2 itself, set a key" in ready and "k2-progress" not in ready
    assert local_html(LocalStatus("disabled")) == ""


def test_labels_and_hints_follow_the_install(monkeypatch: pytest.MonkeyPatch, _isolated_home: Path):
    monkeypatch.setattr(INSTALLER, "_status", LocalStatus("weights", "downloading part 3/6", 0.4))
    assert local_label().endswith("(installing…)")
    assert "downloading part 3/6" in provider_hint("local", _isolated_home)
    assert "Auto will use the small local model once it is installed" in provider_hint(AUTO, _isolated_home)
    assert poll("runtime")[1:] == ("weights", True) and poll("weights")[2] is False
    monkeypatch.setattr(installer, "ready_on_disk", lambda: True)
    monkeypatch.setattr("agents.models.model_spec.ready_on_disk", lambda: True)
    monkeypatch.setattr(INSTALLER, "_status", LocalStatus("ready"))
    assert local_label() == "Local: Qwen2.5-Coder-0.5B (small, offline)"
    assert "small local model" in provider_hint(AUTO, _isolated_home)
    assert "not for real agent work" in provider_hint("local", _isolated_home)


def test_local_status_says_what_is_missing(capsys: pytest.CaptureFixture[str], _isolated_home: Path):
    assert cli.main(["local", "status"]) == 1
    out = capsys.readouterr().out
    assert f"{_isolated_home}/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf (missing)" in out
    assert "python run.py local install" in out


@pytest.mark.parametrize("argv,installs", [(["--no-local"], False), (["serve", "--no-local"], False), ([], True),
                                           (["serve", "--no-browser"], True)])
def test_no_local_skips_the_background_install(monkeypatch: pytest.MonkeyPatch, argv: list[str], installs: bool):
    seen: dict = {}
    monkeypatch.setattr("app.server.serve", lambda settings, **kw: seen.update(kw, local=settings.local))
    assert cli.main(argv) == 0
    assert seen["install_local"] is installs and seen["local"] is installs
