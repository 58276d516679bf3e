"""Self-host vs API: from the user's own recorded usage (tokens a day, output and cache shares) and a preset's dated
list prices, against a GPU's hourly cost and its measured tokens/s, the daily volume where renting the GPU around the
clock costs what the API costs. Pure arithmetic; the Runs tab draws it."""

from __future__ import annotations

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


def cost_curve(result: BreakEven, points: int = 9) -> list[dict[str, float]]:
    """API and GPU cost a day from zero to twice the break-even volume (the chart's rows)."""
    top = min(result.break_even_tokens_per_day * 2, 1e12) or 1e6
    return [{"M tokens a day": top * i / (points - 1) / 1e6, "USD a day": top * i / (points - 1) / 1e6 * v, "cost": k}
            for i in range(points) for k, v in (("API", result.api_per_million),)] + \
           [{"M tokens a day": top * i / (points - 1) / 1e6, "USD a day": result.gpu_per_day, "cost": "GPU"}
            for i in range(points)]  # fmt: skip
