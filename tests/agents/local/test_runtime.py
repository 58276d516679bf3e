"""The local server child's environment and arguments: short OpenMP spinning, the prompt-prefix state cache
(agents/models/local/runtime.py)."""

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


def test_the_server_keeps_prefix_states_in_the_data_home_unless_the_prefix_cache_is_off(monkeypatch, tmp_path):
    monkeypatch.setenv("K2HUB_HOME", str(tmp_path))
    runtime.set_state_dir(None)
    seen: list[list[str]] = []

    def fake_popen(cmd, **kwargs):
        seen.append(cmd)
        raise _Spawned

    monkeypatch.setattr(subprocess, "Popen", fake_popen)
    for prefix_cache in (True, False):
        key = runtime.ServerKey(model=tmp_path / "m.gguf", context=1024, prefix_cache=prefix_cache,
                                state_dir=runtime.state_dir())
        with pytest.raises(_Spawned):
            runtime.LocalServer(key).start()
    on, off = seen
    assert on[on.index("--state-cache") + 1] == str(tmp_path / "cache" / "model-state")
    assert "--state-cache" not in off and "--no-prefix-cache" in off
