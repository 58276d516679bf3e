"""Fixtures of the browser tests: the fake K2 server and the real app started on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.conftest import fake_k2  # noqa: F401 - the fixture, shared with the planner tests
from tests.agents.conftest import LEAN_SERVERS as LEAN
from tests.app.ui_support import running_app
from tests.fakes.k2_server import FakeK2Server


LEAN_SERVERS = ",".join(LEAN)


@pytest.fixture
def app_url(fake_k2: FakeK2Server, tmp_path: Path) -> Iterator[str]:  # noqa: F811 - the imported fixture
    """The URL of the app (a subprocess) whose model is the fake K2 server."""
    # Browser, analysis and cobol servers are not used by these tests; each server process costs ~1 s of CPU to start.
    with running_app(fake_k2.url, tmp_path / "home", K2HUB_BUILTIN_SERVERS=LEAN_SERVERS) as url:
        yield url
