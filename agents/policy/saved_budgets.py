"""Budgets saved in the Settings tab: per-run limits kept as preferences in the settings table (never secrets).

The defaults are the app's settings (K2HUB_MAX_STEPS, K2HUB_MAX_TOKENS, K2HUB_MAX_COST_USD, K2HUB_MAX_WALL_S); a
value saved here replaces its default from the next run on, and at every start of the app.
"""

from __future__ import annotations

import dataclasses

from agents.policy.budget import Limits
from storage import repo
from storage.db import Database

KEYS = {
    "max_cost_usd": "budget.max_cost_usd",
    "max_steps": "budget.max_steps",
    "max_tokens": "budget.max_tokens",
    "max_wall_s": "budget.max_wall_s",
}
"""Limits field → settings-table key."""


def saved_limits(db: Database, default: Limits) -> Limits:
    """The limits with every saved value in place of its default."""
    values = {}
    for field, key in KEYS.items():
        saved = repo.get_setting(db, key, None)
        if isinstance(saved, (int, float)) and saved > 0:
            values[field] = type(getattr(default, field))(saved)
    return dataclasses.replace(default, **values)


def save_limits(db: Database, limits: Limits) -> None:
    """Save every limit (positive numbers only: a zero budget would end every run at once)."""
    for field in KEYS:  # all checked first: a refused value saves none of them
        if not getattr(limits, field) or getattr(limits, field) <= 0:
            raise ValueError(f"{field.replace('_', ' ')} must be above 0")
    for field, key in KEYS.items():
        repo.set_setting(db, key, getattr(limits, field))

