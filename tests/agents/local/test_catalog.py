"""Bigger local models: presets by file name, and the memory check that refuses a model before loading it."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.errors import ProviderError
from agents.models.local import catalog, runtime


def gguf(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    with path.open("wb") as f:
        f.truncate(size)  # sparse: the check reads the size, never the bytes
    return path


def test_presets_are_recognised_by_file_name(tmp_path):
    assert catalog.preset_for(Path("Qwen2.5-7B-Instruct-Q4_K_M.gguf")).billions == 7.0
    assert catalog.preset_for(Path("Llama-3.2-3B-Instruct-Q4_K_M.gguf")).name == "llama-3.2-3b"
    assert catalog.preset_for(Path("mystery.gguf")) is None


def test_a_model_too_big_for_memory_is_refused_before_loading(tmp_path, monkeypatch):
    big = gguf(tmp_path, "qwen2.5-7b-instruct-q4_k_m.gguf", 4_700_000_000)
    monkeypatch.setattr(catalog, "available_bytes", lambda: 3 * 2**30)
    started: list = []
    monkeypatch.setattr(runtime.LocalServer, "start", lambda self, *a: started.append(self) or "")
    with pytest.raises(ProviderError, match=r"needs about \d+\.\d GiB .* 3\.0 GiB are available"):
        runtime.ensure_server(big, context=8192)
    assert not started  # nothing was loaded


def test_a_small_model_passes_and_a_slow_one_is_announced(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "available_bytes", lambda: 64 * 2**30)
    monkeypatch.setattr(catalog.os, "cpu_count", lambda: 2)
    assert catalog.check(gguf(tmp_path, "qwen2.5-coder-0.5b.gguf", catalog.MEASURED_0_5B_BYTES), 8192) == ""
    slow = catalog.check(gguf(tmp_path, "hermes-3-llama-3.1-8b.Q4_K_M.gguf", 4_900_000_000), 8192)
    assert "tokens/s on 2 cores" in slow
