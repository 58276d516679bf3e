"""The Settings tab's key store: only provider keys, in the 600 .env, never in the database (the attacks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ui.settings_tab import key_rows, store_key
from storage import repo
from storage.db import Database
from storage.env_file import read_env_file


def test_only_provider_keys_can_be_written(tmp_path: Path) -> None:
    """The attack: a request to the key endpoint naming a setting instead of a key."""
    with pytest.raises(ValueError):
        store_key(tmp_path, "K2HUB_SANDBOX", "unsafe-local")
    with pytest.raises(ValueError):
        store_key(tmp_path, "K2HUB_PROVIDER", "groq")
    assert read_env_file(tmp_path) == {}
    store_key(tmp_path, "GROQ_API_KEY", "gsk_0123456789abcdef")
    assert read_env_file(tmp_path) == {"GROQ_API_KEY": "gsk_0123456789abcdef"}


def test_the_key_list_never_shows_a_value(tmp_path: Path) -> None:
    store_key(tmp_path, "MOONSHOT_API_KEY", "sk-moonshot-0123456789abcdef")
    rows = key_rows(tmp_path)
    assert "MOONSHOT_API_KEY" in rows and "saved in" in rows
    assert "sk-moonshot" not in rows


def test_the_database_refuses_a_key_as_a_preference(tmp_path: Path) -> None:
    """Defence in depth: even a key routed to the settings table by mistake is refused there."""
    db = Database(f"sqlite:///{tmp_path / 'k2hub.db'}")
    try:
        with pytest.raises(repo.SecretRefused):
            repo.set_setting(db, "ui.default_model", "sk-moonshot-0123456789abcdef")
    finally:
        db.close()


def test_picking_a_provider_without_its_key_warns_at_once(tmp_path: Path) -> None:
    from app.ui.sidebar import provider_hint

    assert "No `GROQ_API_KEY` is set" in provider_hint("groq", tmp_path)
    store_key(tmp_path, "GROQ_API_KEY", "gsk_0123456789abcdef")
    assert "No `GROQ_API_KEY`" not in provider_hint("groq", tmp_path)
