"""The size check before a run: a request beyond the model's room is named with the models that would hold it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agents.models.model_spec import resolve
from agents.policy import fit


def _spec(home: Path, window: int) -> object:
    spec = resolve("openai-compatible", "kimi-k2-thinking", "http://127.0.0.1:9/v1", home=home)
    return dataclasses.replace(spec, info=dataclasses.replace(spec.info, context_window=window))


def test_a_small_window_keeps_a_quarter_for_the_answer_and_a_big_one_the_usual_reserve() -> None:
    assert fit.room_for(8192) == 6144
    assert fit.room_for(262_144) == 262_144 - 32_768


def test_what_fits_passes_and_what_does_not_lists_bigger_models_keyed_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GROQ_API_KEY", "MOONSHOT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("MOONSHOT_API_KEY=sk-test\n")
    (tmp_path / ".env").chmod(0o600)  # a .env others can read is refused
    small = _spec(tmp_path, 8192)
    assert fit.check(6000, small, tmp_path).fits
    verdict = fit.check(30_000, small, tmp_path)
    assert not verdict.fits and verdict.window == 8192 and verdict.room == 6144
    assert verdict.bigger and verdict.bigger[0].provider == "moonshot" and verdict.bigger[0].ready
    assert any(b.provider == "groq" and not b.ready for b in verdict.bigger)
    assert "enter GROQ_API_KEY in Settings" in " ".join(b.describe() for b in verdict.bigger)
    # Nothing holds a request beyond every window: the hint still names what would.
    assert fit.check(10_000_000, small, tmp_path).bigger_text().startswith("a model with a bigger window")
