"""The sealed placeholder map: numbering per kind, one entry per value under concurrent writers, no clear text."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage import redaction, repo
from storage.db import Database
from tests.storage.conftest import run_in_threads


def test_concurrent_writers_agree_on_placeholders(db: Database, tmp_path: Path) -> None:
    conversation = repo.create_conversation(db, "t").id
    values = [f"user{i}@example.com" for i in range(8)]
    # Eight threads map the same eight values in different orders.
    results = run_in_threads(
        lambda k: redaction.add_entries(db, tmp_path, conversation,
                                        [("EMAIL", v, v) for v in values[k:] + values[:k]]),
        range(8),
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    by_value = {}
    for entries in results:
        for e in entries:
            assert by_value.setdefault(e.value, e.placeholder) == e.placeholder
    assert sorted(by_value.values()) == sorted(f"<EMAIL_{i}>" for i in range(1, 9))
    loaded = redaction.load_map(db, tmp_path, conversation)
    assert {e.value: e.placeholder for e in loaded} == by_value
    # The second kind counts from 1; another conversation has its own numbers.
    assert redaction.add_entry(db, tmp_path, conversation, "CARD", "4111 1111 1111 1111").placeholder == "<CARD_1>"
    other = repo.create_conversation(db, "u").id
    assert redaction.add_entry(db, tmp_path, other, "EMAIL", values[3]).placeholder == "<EMAIL_1>"
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT value_digest, value_sealed FROM redaction_entries")).all()
    assert not [v for v in values for digest, sealed in stored if v in digest or v.encode() in bytes(sealed)]


def test_mode_override_round_trip(db: Database) -> None:
    conversation = repo.create_conversation(db, "t").id
    assert redaction.get_mode(db, conversation) is None
    redaction.set_mode(db, conversation, "off")
    assert redaction.get_mode(db, conversation) == "off"
    redaction.set_mode(db, conversation, None)
    assert redaction.get_mode(db, conversation) is None
    try:
        redaction.set_mode(db, conversation, "maybe")
    except ValueError as exc:
        assert "on, off, auto" in str(exc)
    else:
        raise AssertionError("an unknown mode was stored")
