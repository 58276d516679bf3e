"""The Runs tab's totals as small SVG bar charts: tokens per day (the last days with runs) and per provider, each bar
labelled with its runs, tokens and cost.

Plain SVG in the page, as the self-host calculator's chart (app/ui/selfhost.py): a charting library's script would
load with every page of the app for two charts in a closed panel.
"""

from __future__ import annotations

from html import escape
from typing import Any

DAYS_SHOWN = 14
ROW_H = 22
LABEL_W = 120
BAR_W = 300
TEXT_W = 230


def _usd(value: float) -> str:
    return "$0" if not value else (f"${value:.4f}" if value < 1 else f"${value:,.2f}")


def bars_svg(title: str, totals: list[dict[str, Any]], element_id: str) -> str:
    """One horizontal bar per row of storage.workbench.totals_by (key, runs, tokens, cached, cost_usd)."""
    if not totals:
        return ""
    most = max(t["tokens"] for t in totals) or 1
    width, height = LABEL_W + BAR_W + TEXT_W, ROW_H * len(totals) + 26
    rows = []
    for i, t in enumerate(totals):
        y = 24 + i * ROW_H
        length = max(1.0, BAR_W * t["tokens"] / most) if t["tokens"] else 0.0
        cached = BAR_W * t["cached"] / most if t["tokens"] else 0.0
        note = (f"{t['runs']:,} run{'s' if t['runs'] != 1 else ''} · {t['tokens']:,} tokens · "
                f"{_usd(t['cost_usd'])}")
        rows.append(
            f'<g class="k2-bar-row"><title>{escape(str(t["key"]))}: {escape(note)} ({t["cached"]:,} cached)</title>'
            f'<text x="{LABEL_W - 8}" y="{y + 14}" text-anchor="end">{escape(str(t["key"]))[:18]}</text>'
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{length:.1f}" height="{ROW_H - 7}" class="bar"/>'
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{min(cached, length):.1f}" height="{ROW_H - 7}" class="cached"/>'
            f'<text x="{LABEL_W + BAR_W + 8}" y="{y + 14}">{escape(note)}</text></g>'
        )
    return (f'<svg id="{escape(element_id)}" class="k2-totals-chart" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}" style="max-width:{width}px;width:100%">'
            '<style>.k2-totals-chart text{font-size:11px;fill:currentColor}.k2-totals-chart .bar{fill:#6366f1}'
            '.k2-totals-chart .cached{fill:#a5b4fc}.k2-totals-chart .head{font-weight:600}</style>'
            f'<text x="0" y="14" class="head">{escape(title)}</text>{"".join(rows)}</svg>')


def totals_charts(per_day: list[dict[str, Any]], per_provider: list[dict[str, Any]]) -> str:
    """Both charts: the last DAYS_SHOWN days with runs, then every provider (light part of a bar: cached tokens)."""
    shown = min(DAYS_SHOWN, len(per_day))
    days = bars_svg(f"Tokens per day (last {shown} day{'s' if shown != 1 else ''} with runs)", per_day[-DAYS_SHOWN:],
                    "k2-chart-day")
    providers = bars_svg("Tokens per provider", per_provider, "k2-chart-provider")
    if not days and not providers:
        return '<p class="k2-muted">No runs yet.</p>'
    return f'<div class="k2-totals-charts">{days}{providers}<p class="k2-muted">Light part of a bar: cached ' \
           f'prompt tokens.</p></div>'
