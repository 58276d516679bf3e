"""Fixtures for the fake K2 server."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

# Before anything imports litellm: keep it from fetching its cost map over the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.fakes.k2_server import FakeK2Server  # noqa: E402


@pytest.fixture
def k2_server() -> Iterator[FakeK2Server]:
    """A started fake K2 server with the default model list, stopped after the test."""
    with FakeK2Server() as server:
        yield server
