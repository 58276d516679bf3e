"""Suite-wide guards: a private data home per test, no real provider keys, no stray network calls."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import MISSING, STRICT_ENV

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
REAL_KEYS = ("GROQ_API_KEY", "MOONSHOT_API_KEY", "K2HUB_API_KEY", "OPENAI_API_KEY", "DATABASE_URL")
ARTIFACTS = Path(__file__).parent / "artifacts"
# Read once at start: the per-test fixture below removes every K2HUB_* variable from the environment.
STRICT = os.environ.get(STRICT_ENV, "") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In strict mode (CI), a skip for a missing sandbox, browser, database, model or data set is a failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not (STRICT and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if MISSING in reason:
        report.outcome = "failed"
        report.longrepr = f"{STRICT_ENV}=1: this run must not skip it — {reason.removeprefix('Skipped: ')}"


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
