"""Self-host vs API: from the user's own recorded usage (tokens a day, output and cache shares) and a preset's dated
list prices, against a GPU's hourly cost and its measured tokens/s, the daily volume where renting the GPU around the
clock costs what the API costs. Pure arithmetic; the Runs tab draws it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from agents.models.presets import PRESETS, Price

SECONDS_A_DAY = 86_400


@dataclass(frozen=True)
class UsageMix:
    """Average tokens per active day and how they split (from storage.workbench.usage_mix)."""

    tokens_per_day: float
    output_share: float  # completion tokens / all tokens
    cache_share: float  # cached prompt tokens / prompt tokens


@dataclass(frozen=True)
class BreakEven:
    """The comparison at the user's volume and the volume where both cost the same."""

    api_per_million: float  # blended USD per million tokens at this mix
    api_per_day: float  # at the user's tokens_per_day
    gpu_per_day: float  # one GPU rented 24 h
    break_even_tokens_per_day: float
    gpu_capacity_per_day: float  # tokens one GPU can produce in a day at the measured speed
    feasible: bool  # the break-even volume fits in one GPU's day


def blended_price(price: Price, mix: UsageMix) -> float:
    """USD per million tokens of this mix: prompt tokens (cached at the cached rate) plus output tokens."""
    prompt = 1.0 - mix.output_share
    return (prompt * (1 - mix.cache_share) * price.input + prompt * mix.cache_share * price.cached_input
            + mix.output_share * price.output)  # fmt: skip


def break_even(price: Price, mix: UsageMix, gpu_hourly_usd: float, tokens_per_s: float) -> BreakEven:
    """Compare the API at this mix with one GPU rented around the clock."""
    per_million = blended_price(price, mix)
    gpu_day = gpu_hourly_usd * 24
    volume = gpu_day / per_million * 1_000_000 if per_million > 0 else float("inf")
    capacity = tokens_per_s * SECONDS_A_DAY
    return BreakEven(per_million, mix.tokens_per_day / 1_000_000 * per_million, gpu_day, volume, capacity,
                     volume <= capacity)


def priced_models() -> list[tuple[str, str]]:
    """(label, "provider/model") of every hosted preset model with a list price, for the calculator's picker."""
    out = []
    for preset in PRESETS.values():
        for model, info in preset.models.items():
            if info.price is not None and info.price.input > 0:
                p = info.price
                out.append((f"{preset.label} · {model} (${p.input}/{p.cached_input}/{p.output} per M; "
                            f"{p.source})", f"{preset.name}/{model}"))
    return out


def price_of(choice: str) -> Price | None:
    """The list price of a "provider/model" choice."""
    provider, _, model = choice.partition("/")
    preset = PRESETS.get(provider)
    info = preset.models.get(model) if preset is not None else None
    return info.price if info is not None else None


def result_html(result: BreakEven, mix: UsageMix, days: int, choice: str) -> str:
    """The calculator's answer in words."""
    speed = result.gpu_capacity_per_day / SECONDS_A_DAY
    verdict = (f"One GPU breaks even at <b>{result.break_even_tokens_per_day / 1e6:,.1f} M tokens a day</b>"
               + ("" if result.feasible else
                  f", more than it can make at {speed:,.0f} tokens/s ({result.gpu_capacity_per_day / 1e6:,.1f} M a day)"
                  ": at this speed the API stays cheaper"))  # fmt: skip
    usage = (f"Your last {days} active day{'s' if days != 1 else ''}: {mix.tokens_per_day / 1e6:,.2f} M tokens a day, "
             f"{mix.output_share:.0%} output, {mix.cache_share:.0%} of prompt tokens cached." if days else
             "No recorded runs in the last 30 days: the figures below assume the volume you enter.")
    return (f"<p>{usage}</p><p>{choice}: ${result.api_per_million:,.4f} per million at this mix → "
            f"${result.api_per_day:,.2f} a day by API; the GPU costs ${result.gpu_per_day:,.2f} a day.</p>"
            f"<p>{verdict}.</p>")


def cost_chart(result: BreakEven, width: int = 520, height: int = 200) -> str:
    """A small SVG chart: API cost a day rising with volume, the GPU's flat day, and where they cross.

    Plain SVG in the page rather than a plot component: a charting library's script would load with every page
    of the app (first paint, benchmarks/bench_cold_start.py) for one chart in a closed panel."""
    top = result.break_even_tokens_per_day * 2 if math.isfinite(result.break_even_tokens_per_day) else 1e9
    top = max(top, 1.0)
    most = max(result.gpu_per_day, top / 1e6 * result.api_per_million, 1e-9)
    pad = 36

    def xy(volume: float, usd: float) -> str:
        x = pad + (width - 2 * pad) * volume / top
        y = height - pad - (height - 2 * pad) * usd / most
        return f"{x:.1f},{y:.1f}"

    api = f'<polyline points="{xy(0, 0)} {xy(top, top / 1e6 * result.api_per_million)}" class="api"/>'
    gpu = f'<polyline points="{xy(0, result.gpu_per_day)} {xy(top, result.gpu_per_day)}" class="gpu"/>'
    cross = xy(result.break_even_tokens_per_day, result.gpu_per_day) if math.isfinite(top) else xy(0, 0)
    cx, cy = cross.split(",")
    return (f'<svg class="k2-cost-chart" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="Cost a day against tokens a day: API rising, GPU flat, crossing at the break-even volume">'
            f'<style>.k2-cost-chart polyline{{fill:none;stroke-width:2}}.k2-cost-chart .api{{stroke:#6366f1}}'
            f'.k2-cost-chart .gpu{{stroke:#f59e0b}}.k2-cost-chart text{{font-size:11px;fill:currentColor}}</style>'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="currentColor" '
            f'stroke-opacity="0.3"/>{api}{gpu}<circle cx="{cx}" cy="{cy}" r="4" fill="currentColor"/>'
            f'<text x="{pad}" y="{height - 12}">0</text>'
            f'<text x="{width - pad}" y="{height - 12}" text-anchor="end">{top / 1e6:,.0f} M tokens a day</text>'
            f'<text x="{pad}" y="14">${most:,.0f} a day</text>'
            f'<text x="{width - pad}" y="14" text-anchor="end">— API  — GPU (24 h)</text></svg>')
