"""Prompt-prefix KV states on disk (agents/models/local/state_cache.py): reused only for the same model file, context
and prefix tokens; a damaged, planted or foreign file is skipped with a log line, never loaded."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from agents.models.local.state_cache import MAGIC, ModelKey, StateStore, private_dir

PREFIX = list(range(500))
STATE = os.urandom(4096)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    made = private_dir(tmp_path / "cache" / "model-state")
    assert made is not None
    return made


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 100)
    return path


def store(cache_dir: Path, model: Path, context: int = 8192, runtime: str = "0.3.36") -> StateStore:
    return StateStore(cache_dir, ModelKey.of(model, context, runtime))


def test_a_saved_state_comes_back_for_the_same_model_context_and_tokens(cache_dir, model):
    store(cache_dir, model).save(PREFIX, STATE)
    assert store(cache_dir, model).load(PREFIX) == STATE
    assert store(cache_dir, model).has(PREFIX)
    assert not [p for p in cache_dir.iterdir() if p.name.endswith(".tmp")]  # written aside, renamed into place


def test_another_prefix_context_runtime_or_model_file_never_gets_it(cache_dir, model, tmp_path):
    store(cache_dir, model).save(PREFIX, STATE)
    assert store(cache_dir, model).load(PREFIX[:-1]) is None  # a shorter prefix
    assert store(cache_dir, model).load([*PREFIX[:-1], 7]) is None  # one token differs
    assert store(cache_dir, model, context=4096).load(PREFIX) is None
    assert store(cache_dir, model, runtime="0.3.37").load(PREFIX) is None
    other = tmp_path / "other.gguf"
    other.write_bytes(model.read_bytes())
    assert store(cache_dir, other).load(PREFIX) is None  # same bytes, another file
    model.write_bytes(b"GGUF" + b"\1" * 200)  # the file replaced by another model
    assert store(cache_dir, model).load(PREFIX) is None


def test_a_state_renamed_to_another_prefixs_name_is_refused(cache_dir, model, caplog):
    """The header inside is compared in full: a file moved under another key's name is not trusted by its name."""
    s = store(cache_dir, model)
    s.save(PREFIX, STATE)
    s.path_for(PREFIX).rename(s.path_for([1, 2, 3]))
    with caplog.at_level(logging.WARNING):
        assert s.load([1, 2, 3]) is None
    assert "another model, context or prompt" in caplog.text


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "empty"])
def test_a_damaged_file_is_skipped_with_a_log_line(cache_dir, model, caplog, damage):
    s = store(cache_dir, model)
    s.save(PREFIX, STATE)
    path = s.path_for(PREFIX)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[:-100]
    elif damage == "flipped":
        data[-1] ^= 0xFF
    elif damage == "garbage":
        data = bytearray(MAGIC + b"\xff" * 8 + b"{not json")
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        assert s.load(PREFIX) is None
    assert "model state cache: ignoring" in caplog.text


def test_a_symlink_planted_as_a_state_file_is_not_followed(cache_dir, model, tmp_path, caplog):
    s = store(cache_dir, model)
    s.save(PREFIX, STATE)
    target = tmp_path / "elsewhere.kv"
    target.write_bytes(s.path_for(PREFIX).read_bytes())  # even a valid state behind the link
    s.path_for(PREFIX).unlink()
    s.path_for(PREFIX).symlink_to(target)
    with caplog.at_level(logging.WARNING):
        assert s.load(PREFIX) is None
    assert "ignoring" in caplog.text


def test_a_cache_directory_that_is_a_symlink_or_writable_by_others_is_not_used(tmp_path, caplog):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "home").mkdir(mode=0o700)
    (tmp_path / "home" / "cache").symlink_to(real)
    with caplog.at_level(logging.WARNING):
        assert private_dir(tmp_path / "home" / "cache" / "model-state") is None
    assert not (real / "model-state").exists()
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert private_dir(shared / "model-state") is None
    assert "model state cache disabled" in caplog.text


def test_the_directory_stays_under_its_cap_dropping_the_least_recently_used(cache_dir, model):
    s = StateStore(cache_dir, ModelKey.of(model, 8192, "x"), max_bytes=3 * len(STATE) + 3000)
    prefixes = [[n] * 10 for n in range(5)]
    for n, prefix in enumerate(prefixes):
        s.save(prefix, STATE)
        os.utime(s.path_for(prefix), (1000 + n, 1000 + n))
        if n == 1:
            assert s.load(prefixes[0]) == STATE  # used again: now the most recent
    kept = [p for p in prefixes if s.has(p)]
    assert len(kept) == 3 and prefixes[4] in kept and prefixes[1] not in kept
