"""The `local` preset: the default only without a key, refused with the install status until it is ready."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agents.models import model_spec
from agents.errors import ConfigError
from agents.models.local import installer
from agents.models.local.installer import INSTALLER, LocalStatus
from agents.models.providers import default_provider, resolve


@pytest.fixture
def local_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_spec, "ready_on_disk", lambda: True)
    monkeypatch.setattr(installer, "ready_on_disk", lambda: True)


def test_local_is_the_default_only_when_no_key_is_set(_isolated_home: Path, local_ready, monkeypatch):
    spec = resolve(None, home=_isolated_home)
    assert spec.provider == "local" and spec.model == "qwen2.5-coder-0.5b-instruct"
    assert spec.sampling() == {"temperature": 0.0} and spec.info.result_chars == 2000
    monkeypatch.setenv("GROQ_API_KEY", "k")
    assert default_provider(_isolated_home) == "groq"


def test_no_local_turns_off_the_automatic_default(_isolated_home: Path, local_ready, monkeypatch):
    with pytest.raises(ConfigError, match="No model configured.*--no-local"):
        resolve(None, home=_isolated_home, local=False)
    assert resolve("local", home=_isolated_home).provider == "local"  # still there when picked on purpose


def test_while_installing_the_chat_says_what_happens_and_how_long(_isolated_home: Path, monkeypatch):
    monkeypatch.setattr(installer.os, "cpu_count", lambda: 2)
    busy = LocalStatus("runtime", "compiling llama.cpp", 0.3, started_at=time.time() - 120)
    monkeypatch.setattr(INSTALLER, "_status", busy)
    with pytest.raises(ConfigError) as no_key:
        resolve(None, home=_isolated_home)
    message = str(no_key.value)
    assert message.startswith("No model configured yet. Installing the local model runtime: compiling llama.cpp 30%, "
                              "2 min so far (about 12 min on 2 cores")
    assert "It answers here once ready. For Kimi K2 now: Set GROQ_API_KEY or MOONSHOT_API_KEY" in message
    with pytest.raises(ConfigError, match="compiling llama.cpp"):
        resolve("local", home=_isolated_home)


def test_a_user_gguf_gives_the_model_its_name(_isolated_home: Path, local_ready, monkeypatch, tmp_path):
    monkeypatch.setenv("K2HUB_LOCAL_MODEL", str(tmp_path / "Kimi-K2-Instruct-Q2_K.gguf"))
    spec = resolve("local", home=_isolated_home)
    assert spec.model == "Kimi-K2-Instruct-Q2_K" and spec.info.small  # same small-model treatment


async def test_models_of_the_local_preset(_isolated_home: Path):
    assert await model_spec.discover_models("local", home=_isolated_home) == ["qwen2.5-coder-0.5b-instruct"]
