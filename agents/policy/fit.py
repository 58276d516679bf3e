"""Will it fit? The size check made before a run starts, so a request far beyond the chosen model's window is named in
the user's words with what works (a bigger model, searching instead of sending whole, fewer programs), instead of
reaching the provider and coming back as its refusal.

Counting and windows are agents.policy.context's (o200k count, calibrated per model; the preset's or configured
window); this module only compares them and lists the models that would hold the request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agents.policy.context import CALIBRATION, context_window, count_tokens, reserve_for

if TYPE_CHECKING:
    from agents.models.model_spec import ModelSpec

ANSWER_SHARE = 0.25
"""Of a small window, at most this share is kept for the answer (reserve_for keeps 16K, more than an 8K model has)."""


@dataclass(frozen=True)
class Bigger:
    """A model whose window holds the request: how the picker names it, and whether its key is set already."""

    provider: str
    model: str
    window: int
    ready: bool
    key_env: str | None

    def describe(self) -> str:
        need = "" if self.ready else f"; enter {self.key_env} in Settings"
        return f"{self.model} ({self.provider}, {self.window:,} tokens{need})"


@dataclass(frozen=True)
class Fit:
    """The verdict for one request on one model."""

    needed: int
    """Calibrated tokens of the request."""
    room: int
    """Tokens the model accepts for the request (its window less what the answer needs)."""
    window: int
    model: str
    bigger: list[Bigger] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return self.needed <= self.room

    def bigger_text(self) -> str:
        """'kimi-k2-0905-preview (262,144-token window)' or a hint where none is configured."""
        if not self.bigger:
            return "a model with a bigger window (Kimi K2 holds 262,144 tokens)"
        return " or ".join(b.describe() for b in self.bigger[:2])


def room_for(window: int) -> int:
    """What a request may take of `window`: the run's usual reserve, but never more than ANSWER_SHARE of a small one."""
    return window - min(reserve_for(window), int(window * ANSWER_SHARE))


def check(needed_tokens: int, spec: ModelSpec, home: Path | None = None) -> Fit:
    """Compare a request of `needed_tokens` (o200k, uncalibrated) with the model; list bigger ones that hold it."""
    needed = math.ceil(needed_tokens * CALIBRATION.ratio(spec.label))
    window = context_window(spec)
    fit = Fit(needed, room_for(window), window, spec.model)
    if fit.fits or home is None:
        return fit
    return Fit(needed, fit.room, window, spec.model, bigger_models(needed_tokens, home, exclude=spec.label))


def check_text(texts: list[str], spec: ModelSpec, home: Path | None = None) -> Fit:
    """check() for a request made of these texts (system prompt, prompt, ...)."""
    return check(sum(count_tokens(t) for t in texts), spec, home)


def bigger_models(needed_tokens: int, home: Path, exclude: str = "") -> list[Bigger]:
    """Preset models whose window holds the request: those whose key is set first, then the rest."""
    from agents.models.presets import PRESETS
    from agents.models.secrets import get_secret

    found: list[Bigger] = []
    for preset in PRESETS.values():
        if preset.needs_base_url or preset.name in ("local", "vllm"):  # no fixed window to promise
            continue
        for model, info in preset.models.items():
            if room_for(info.context_window) < needed_tokens or f"{preset.name}/{model}" == exclude:
                continue
            ready = bool(preset.key_env and get_secret(preset.key_env, home))
            found.append(Bigger(preset.name, model, info.context_window, ready, preset.key_env))
    return sorted(found, key=lambda b: not b.ready)
