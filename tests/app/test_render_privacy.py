"""The privacy shield in the chat: one per run, at its top, listing placeholders (never values)."""

from __future__ import annotations

from agents.events import Redaction, RunFinished, RunStarted, TextDelta
from app.ui.render import RunView


def _view(*events: object) -> RunView:
    view = RunView(clock=lambda: 0.0)
    view.apply(RunStarted(run_id="r", conversation_id="c", provider="groq", model="k2"))
    for event in events:
        view.apply(event)
    return view


def test_one_shield_per_run_listing_every_placeholder():
    view = _view(
        TextDelta(text="Hello jane.doe@example.com"),
        Redaction(active=True, provider="groq", reason="remote provider groq", placeholders=["<EMAIL_1>"]),
        Redaction(active=True, provider="groq", reason="remote provider groq", placeholders=["<EMAIL_1>", "<CARD_2>",
                                                                                           "<CARD_10>"]),
        RunFinished(answer="Hello jane.doe@example.com", steps=2, tokens=10, cost_usd=0.0),
    )
    shield = view.messages[0]
    assert shield.metadata["title"] == "Privacy · 3 values sent as placeholders"
    assert shield.content.index("<CARD_2>") < shield.content.index("<CARD_10>") < shield.content.index("<EMAIL_1>")
    assert "jane.doe" not in shield.content
    assert sum(1 for m in view.messages if "Privacy ·" in str(m.metadata.get("title", ""))) == 1


def test_not_redacted_is_said_and_a_masked_answer_replaces_the_streamed_one():
    off = _view(Redaction(active=False, provider="groq", reason="redaction off: text is sent to the provider as is"))
    assert off.messages[0].metadata["title"] == "Privacy · not redacted" and "as is" in off.messages[0].content
    masked = _view(
        TextDelta(text="key AKIAZ7QWERTYUIOP4XYZ"),
        Redaction(active=True, provider="groq", reason="r", masked=["SECRET"], answer="key [hidden SECRET]"),
    )
    assert any(m.content == "key [hidden SECRET]" for m in masked.messages)
    assert not any("AKIAZ7" in str(m.content) for m in masked.messages)
