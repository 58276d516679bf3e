"""The Runs tab's totals charts: one bar per day or provider, lengths in proportion to tokens, labels as text."""

from __future__ import annotations

import re

from app.ui.totals_chart import BAR_W, DAYS_SHOWN, bars_svg, totals_charts


def _row(key: str, tokens: int, cached: int = 0, runs: int = 1, cost: float = 0.0) -> dict:
    return {"key": key, "runs": runs, "tokens": tokens, "cached": cached, "cost_usd": cost}


def test_bars_are_proportional_to_tokens_and_cached_tokens_are_shaded() -> None:
    svg = bars_svg("Tokens per provider", [_row("groq", 1000, 500, 2, 0.25), _row("moonshot", 250)], "c")
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height="\d+" class="bar"', svg)]
    assert widths == [BAR_W, BAR_W / 4]
    assert re.search(rf'width="{BAR_W / 2:.1f}" height="\d+" class="cached"', svg)
    assert "2 runs · 1,000 tokens · $0.2500" in svg and "1 run · 250 tokens · $0" in svg


def test_only_the_last_days_are_drawn_and_names_are_escaped() -> None:
    days = [_row(f"2026-01-{d:02d}", d * 10) for d in range(1, 31)]
    html = totals_charts(days, [_row("<b>x</b>", 5)])
    assert html.count('class="bar"') == DAYS_SHOWN + 1
    assert "2026-01-30" in html and "2026-01-16" not in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "No runs yet" in totals_charts([], [])
