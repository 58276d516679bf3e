"""The live conversation list: sent to the page only when it changed."""

from __future__ import annotations

from app.ui.live_list import changed


def test_the_live_list_is_sent_only_when_it_changed() -> None:
    fresh = [("Renamed", "c1"), ("Other", "c2")]
    assert changed(fresh, None)  # the first tick always fills the list
    assert not changed(fresh, [["Renamed", "c1"], ["Other", "c2"]])  # a State hands tuples back as lists
    assert changed(fresh, [["Old title", "c1"], ["Other", "c2"]])
    assert changed(fresh, [["Other", "c2"], ["Renamed", "c1"]])  # a new order is a change too
