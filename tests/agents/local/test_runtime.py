"""The local server child's environment: short OpenMP spinning (agents/models/local/runtime.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agents.models.local import runtime


class _Spawned(Exception):
    """Raised by the fake Popen once it has seen what the server would be started with."""


def test_the_server_child_is_started_with_short_openmp_spinning(monkeypatch, tmp_path):
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    seen: dict[str, dict[str, str]] = {}

    def fake_popen(cmd, **kwargs):
        seen["env"] = kwargs["env"]
        raise _Spawned

    monkeypatch.setattr(subprocess, "Popen", fake_popen)
    with pytest.raises(_Spawned):
        runtime.LocalServer(runtime.ServerKey(model=tmp_path / "m.gguf", context=1024)).start()
    assert seen["env"]["GOMP_SPINCOUNT"] == "1000"
    root = str(Path(runtime.__file__).resolve().parents[3])
    assert root in seen["env"]["PYTHONPATH"].split(":")


def test_a_spin_count_the_user_set_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("GOMP_SPINCOUNT", "50000")
    assert runtime.server_env(tmp_path)["GOMP_SPINCOUNT"] == "50000"
