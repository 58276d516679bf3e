"""Suite-wide guards: a private data home per test, no real provider keys, no stray network calls."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
REAL_KEYS = ("GROQ_API_KEY", "MOONSHOT_API_KEY", "K2HUB_API_KEY", "OPENAI_API_KEY", "DATABASE_URL")
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own K2HUB_HOME and never sees the developer's real keys or settings."""
    home = tmp_path_factory.mktemp("k2home")
    monkeypatch.setenv("K2HUB_HOME", str(home))
    for key in REAL_KEYS:
        monkeypatch.delenv(key, raising=False)
    for key in [k for k in os.environ if k.startswith("K2HUB_") and k != "K2HUB_HOME"]:
        monkeypatch.delenv(key, raising=False)
    yield home


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests keep screenshots and logs for humans to look at (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
