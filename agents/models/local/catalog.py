"""Presets for bigger local GGUF models, and the RAM / speed check before a model is loaded.

The pinned 0.5B model installs everywhere and stays the default. A user with more memory can point
K2HUB_LOCAL_MODEL at a bigger instruct model with good tool calling; nothing is downloaded for that (the user brings
the file). A preset is recognised by the file name and says what the model needs: the memory it takes (file + KV
cache + runtime) and how fast it is expected to be on this machine, scaled from the 0.5B model's measured speed by
file size (generation on CPU is bound by memory bandwidth, so tokens/s falls about in proportion to the bytes read per
token).

Before loading, `check` refuses a model that cannot fit in the available memory (with the figure), and says the
expected speed, so a 7B model on a 2-core laptop is a conscious choice and not a frozen chat.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from agents.errors import ProviderError

MEASURED_0_5B_BYTES = 491_400_064
MEASURED_0_5B_GEN_TPS_2_CORES = 40.0  # README: measured on 2 cores, idle machine
RUNTIME_OVERHEAD_BYTES = 300 * 2**20  # the server process, llama.cpp buffers
KV_BYTES_PER_TOKEN_PER_BILLION = 24_000  # ~fp16 KV cache per token, per billion parameters (GQA models)
SLOW_TPS = 5.0  # below this a chat answer takes minutes: said before loading


@dataclass(frozen=True)
class LocalPreset:
    """A known instruct GGUF family: how to recognise its file and what it is good for."""

    name: str
    pattern: str  # regex on the file name, case-insensitive
    billions: float
    note: str


PRESETS = (
    LocalPreset("qwen2.5-coder-0.5b", r"qwen2\.5-coder-0\.5b", 0.5, "the default: installs everywhere, one simple call"),
    LocalPreset("qwen2.5-coder-1.5b", r"qwen2\.5-coder-1\.5b", 1.5, "better arguments, about 1/2.5 the speed"),
    LocalPreset("qwen2.5-3b", r"qwen2\.5-(coder-)?3b", 3.0, "reliable single calls; 8 GB RAM machines"),
    LocalPreset("llama-3.2-3b", r"llama-3\.2-3b", 3.0, "good tool calling for its size"),
    LocalPreset("qwen2.5-7b", r"qwen2\.5-(coder-)?7b", 7.0, "multi-step tool use; 16 GB RAM, a GPU helps"),
    LocalPreset("hermes-3-llama-3.1-8b", r"hermes-3-llama-3\.1-8b", 8.0, "trained for function calling; 16 GB RAM"),
)


def preset_for(path: Path) -> LocalPreset | None:
    """The preset whose pattern the file name matches, if any."""
    return next((p for p in PRESETS if re.search(p.pattern, path.name, re.I)), None)


def needed_bytes(path: Path, context: int) -> int:
    """Memory the server needs for this file: the weights (mapped), the KV cache for `context`, the runtime."""
    size = path.stat().st_size
    preset = preset_for(path)
    billions = preset.billions if preset else size / 0.6e9  # Q4_K_M: ~0.6 GB per billion parameters
    return size + int(context * KV_BYTES_PER_TOKEN_PER_BILLION * billions) + RUNTIME_OVERHEAD_BYTES


def expected_tps(path: Path, threads: int | None = None) -> float:
    """Generation tokens/s expected on this machine, scaled from the 0.5B model's measured speed on 2 cores."""
    threads = threads or os.cpu_count() or 1
    return MEASURED_0_5B_GEN_TPS_2_CORES * (MEASURED_0_5B_BYTES / path.stat().st_size) * min(threads, 8) / 2


def available_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def check(path: Path, context: int) -> str:
    """Raise ProviderError when the model cannot fit in memory; else a line on the expected speed ('' when fine)."""
    need = needed_bytes(path, context)
    have = available_bytes()
    if need > have:
        raise ProviderError(
            f"{path.name} needs about {need / 2**30:.1f} GiB of memory with a {context:,}-token context; "
            f"{have / 2**30:.1f} GiB are available. Pick a smaller model (K2HUB_LOCAL_MODEL), lower "
            "K2HUB_LOCAL_CONTEXT, or close other programs.", provider="local")
    tps = expected_tps(path)
    if tps < SLOW_TPS:
        return (f"{path.name}: expect about {tps:.1f} tokens/s on {os.cpu_count()} cores; answers will take "
                "minutes.")
    return ""
