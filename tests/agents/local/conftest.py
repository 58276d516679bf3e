"""Fixtures for tests with the real local model.

Every test gets its own K2HUB_HOME (tests/conftest.py), but the 491 MB model must not be downloaded or assembled per
test: these tests read it from one shared models directory, the one `python run.py local install` filled with the
environment pytest was started in: $K2HUB_MODELS_DIR, else $K2HUB_HOME/models, else ~/.k2hub/models. When the
runtime or the model is missing they skip and say how to install them (CI runs `python run.py local install` first).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.models.local import runtime, weights
from agents.models.local.installer import runtime_installed
from tests.helpers import skip_missing

# Read at import, before the per-test isolation removes every K2HUB_* variable from the environment.
_OUTER = {k: os.environ.get(k, "") for k in ("K2HUB_MODELS_DIR", "K2HUB_HOME")}


def shared_models_dir() -> Path:
    """The models directory of the environment the test run was started from."""
    if _OUTER["K2HUB_MODELS_DIR"]:
        return Path(_OUTER["K2HUB_MODELS_DIR"]).expanduser()
    home = Path(_OUTER["K2HUB_HOME"]).expanduser() if _OUTER["K2HUB_HOME"] else Path.home() / ".k2hub"
    return home / "models"


@pytest.fixture
def local_model(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The installed pinned model (this test's K2HUB_MODELS_DIR points at it), or a skip saying how to get it."""
    if not runtime_installed():
        skip_missing("llama-cpp-python is not installed: run `python run.py local install` (CI does)")
    path = shared_models_dir() / weights.PIN.filename
    if not path.is_file():
        skip_missing(f"the local model is not installed at {path}: run `python run.py local install` (CI does)")
    monkeypatch.setenv("K2HUB_MODELS_DIR", str(path.parent))
    return path


def shared_state_dir() -> Path:
    """The prompt-prefix state cache of the environment the test run was started from (the app's own), so each test
    process does not read the same system prompt again (~30 s on 2 cores). Safe to share: states are keyed by model
    file, context and exact tokens, and written aside then renamed (agents/models/local/state_cache.py)."""
    home = Path(_OUTER["K2HUB_HOME"]).expanduser() if _OUTER["K2HUB_HOME"] else Path.home() / ".k2hub"
    return home / "cache" / "model-state"


@pytest.fixture(autouse=True)
def _shared_state_cache() -> Iterator[None]:
    runtime.set_state_dir(shared_state_dir())
    yield
    runtime.set_state_dir(None)


@pytest.fixture(scope="session", autouse=True)
def _stop_local_server() -> Iterator[None]:
    """One model server serves the whole session (loading it per test would cost seconds); stopped at the end."""
    yield
    runtime.stop_server()
