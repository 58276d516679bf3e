"""The fit notice's gate on Send (app/ui/fit_notice.py): set while documents cannot be sent whole, cleared when they
fit, and a Send anyway kept only for the same conversation, model and documents."""

from __future__ import annotations

from app.ui.fit_notice import gate_for


def test_a_choice_holds_for_the_same_check_only() -> None:
    assert gate_for(None, {"key": "c|p|m|x", "ack": True}) is None  # everything fits: nothing waits
    first = gate_for("c|p|m|x", None)
    assert first == {"key": "c|p|m|x", "ack": False}  # a send waits for the choice
    chosen = {**first, "ack": True}  # Send anyway
    assert gate_for("c|p|m|x", chosen) == chosen  # checked again (the reply changed the chat): still chosen
    assert gate_for("c|p|other|x", chosen) == {"key": "c|p|other|x", "ack": False}  # another model asks again
    assert gate_for("c|p|m|y", chosen)["ack"] is False  # another document attached asks again
