"""The self-host vs API calculator against a case computed by hand, and the usage mix read from recorded runs."""

from __future__ import annotations

import pytest

from agents.models.presets import Price
from app.ui.selfhost import UsageMix, break_even, cost_chart, price_of, priced_models
from storage import repo, workbench
from storage.db import Database
from tests.storage.conftest import db, db_url  # noqa: F401 - the fixtures


def test_break_even_matches_a_hand_computed_case() -> None:
    # By hand: 90 % prompt tokens, half of them cached; $0.60 in, $0.15 cached, $2.50 out per million.
    # Blended: 0.9·0.5·0.60 + 0.9·0.5·0.15 + 0.1·2.50 = 0.27 + 0.0675 + 0.25 = $0.5875 per million.
    # A $2/h GPU around the clock: $48 a day. Break-even: 48 / 0.5875 = 81.7021… million tokens a day.
    # At 1,000 tokens/s one GPU makes 86.4 million a day: feasible. At 20 M tokens/day the API costs $11.75.
    result = break_even(Price(0.60, 0.15, 2.50, "test"), UsageMix(20e6, 0.1, 0.5), gpu_hourly_usd=2.0,
                        tokens_per_s=1000)
    assert result.api_per_million == pytest.approx(0.5875)
    assert result.gpu_per_day == pytest.approx(48.0)
    assert result.break_even_tokens_per_day == pytest.approx(81_702_127.66, rel=1e-9)
    assert result.gpu_capacity_per_day == 86_400_000 and result.feasible
    assert result.api_per_day == pytest.approx(11.75)
    slow = break_even(Price(0.60, 0.15, 2.50, "test"), UsageMix(20e6, 0.1, 0.5), gpu_hourly_usd=2.0, tokens_per_s=500)
    assert not slow.feasible  # 43.2 M a day at 500 tokens/s never reaches 81.7 M
    chart = cost_chart(result)
    assert chart.startswith("<svg") and "163 M tokens a day" in chart  # the x axis runs to twice the break-even


def test_the_picker_lists_dated_list_prices() -> None:
    choices = dict((value, label) for label, value in priced_models())
    assert "moonshot/kimi-k2-thinking" in choices and "read 20" in choices["moonshot/kimi-k2-thinking"]
    assert price_of("moonshot/kimi-k2-thinking") is not None and price_of("nope/x") is None


def test_usage_mix_reads_recorded_runs(db: Database) -> None:  # noqa: F811
    conv = repo.create_conversation(db, "c")
    for prompt, completion, cached in ((1000, 100, 500), (3000, 900, 1500)):
        run = repo.create_run(db, conv.id, "moonshot", "kimi-k2-thinking")
        repo.finish_run(db, run.id, "done", prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached)
    per_day, output_share, cache_share, days = workbench.usage_mix(db)
    assert days == 1 and per_day == 5000 and output_share == pytest.approx(0.2) and cache_share == pytest.approx(0.5)
