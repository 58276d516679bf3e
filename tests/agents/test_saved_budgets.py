"""Budgets saved in Settings replace the K2HUB_MAX_* defaults; a zero or negative budget is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.policy.budget import Limits
from agents.policy.saved_budgets import save_limits, saved_limits
from storage.db import Database

DEFAULT = Limits(300, 50_000_000, 20.0, 14_400.0)


def test_saved_values_replace_the_defaults_and_nothing_saved_keeps_them(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'k2hub.db'}")
    try:
        assert saved_limits(db, DEFAULT) == DEFAULT
        save_limits(db, Limits(12, 1_000_000, 2.5, 600.0))
        assert saved_limits(db, DEFAULT) == Limits(12, 1_000_000, 2.5, 600.0)
        with pytest.raises(ValueError, match="max wall s"):
            save_limits(db, Limits(40, 1_000_000, 9.0, 0.0))
        assert saved_limits(db, DEFAULT) == Limits(12, 1_000_000, 2.5, 600.0)  # a refused save changes nothing
    finally:
        db.close()
