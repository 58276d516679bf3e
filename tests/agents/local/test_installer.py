"""The installer: pip's output becomes progress, the background install never blocks and leaves no process behind."""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

import psutil
import pytest

from agents.models.local import installer
from agents.models.local.installer import Installer, LocalStatus, step_of

ROOT = Path(__file__).resolve().parents[3]

# Lines as `pip install -v llama-cpp-python` prints them while it builds.
PIP_LINES = [
    ("Collecting llama-cpp-python>=0.3.16", ("downloading sources", None)),
    ("  Building wheel for llama-cpp-python (pyproject.toml): started", ("compiling llama.cpp", None)),
    ("  [ 42%] Building CXX object vendor/llama.cpp/src/CMakeFiles/llama.dir/llama-model.cpp.o",
     ("compiling llama.cpp", 0.42)),
    ("  [100%] Linking CXX shared library bin/libllama.so", ("compiling llama.cpp", 1.0)),
    ("Installing collected packages: llama-cpp-python", ("installing", None)),
    ("  Running command Getting requirements to build wheel", None),
]


@pytest.mark.parametrize("line,expected", PIP_LINES)
def test_pip_output_becomes_progress(line, expected):
    assert step_of(line) == expected


def test_status_lines_say_what_happens_and_how_long_it_takes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(installer.os, "cpu_count", lambda: 2)
    compiling = LocalStatus("runtime", "compiling llama.cpp", 0.42, started_at=time.time() - 300)
    assert compiling.line() == ("Installing the local model runtime: compiling llama.cpp 42%, 5 min so far (about 12 "
                                "min on 2 cores, once per machine; then a 491 MB download).")
    assert "python run.py local install" in LocalStatus().line() and "12 min" in LocalStatus().line()
    assert "491 MB" in LocalStatus("weights", "downloading part 2/6", 0.17).line()
    failed = LocalStatus("failed", error="no compiler.").line()
    assert failed.startswith("Installing the local model failed: no compiler.")


def test_the_runtime_requirement_is_the_local_extra():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["local"] == [installer.RUNTIME_REQUIREMENT]
    # Never a hard dependency: the app installs it in the background.
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.startswith("llama-cpp-python") for d in deps)


def test_background_install_does_not_block_and_cancel_leaves_no_process(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch):
    pids = tmp_path / "pids"
    # A stand-in for pip that starts a "compiler" child, reports progress, then works for a long time.
    fake_pip = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pids)!r} + '.tmp', 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        f"os.replace({str(pids)!r} + '.tmp', {str(pids)!r})\n"
        "print('  Building wheel for llama-cpp-python (pyproject.toml): started', flush=True)\n"
        "print('  [ 37%] Building C object ggml.c.o', flush=True)\n"
        "time.sleep(120)\n"
    )
    monkeypatch.setattr(installer, "install_command", lambda: [sys.executable, "-c", fake_pip])
    monkeypatch.setattr(installer, "runtime_installed", lambda: False)
    monkeypatch.setattr(installer, "in_virtualenv", lambda: True)
    job = Installer()
    started = time.monotonic()
    assert job.start() is True
    assert time.monotonic() - started < 1.0  # `python run.py` never waits for the build
    assert job.start() is False  # one install at a time
    deadline = time.monotonic() + 20
    while (job.status().fraction != 0.37 or not pids.exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    status = job.status()
    assert status.phase == "runtime" and status.busy and status.step == "compiling llama.cpp"
    assert "37%" in status.line()
    procs = [psutil.Process(int(p)) for p in pids.read_text().split()]
    job.cancel()
    gone, alive = psutil.wait_procs(procs, timeout=10)
    assert not alive, f"left running: {alive}"
    assert job.status().phase == "failed"


def test_disabled_installer_does_nothing(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(installer, "ready_on_disk", lambda: False)
    job = Installer()
    job.enabled = False
    assert job.start() is False and job.status().phase == "disabled"
    assert "--no-local" in job.status().line()


def test_outside_a_venv_the_runtime_is_not_installed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(installer, "runtime_installed", lambda: False)
    monkeypatch.setattr(installer, "in_virtualenv", lambda: False)
    final = Installer().run()
    assert final.phase == "failed" and "not a virtual environment" in final.error


def test_cancel_during_the_weights_download_stops_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pid_file = tmp_path / "pid"
    slow_pip = (f"import os, time\nopen({str(pid_file)!r} + '.tmp', 'w').write(str(os.getpid()))\n"
                f"os.replace({str(pid_file)!r} + '.tmp', {str(pid_file)!r})\ntime.sleep(120)\n")
    monkeypatch.setenv("K2HUB_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(installer, "runtime_installed", lambda: True)
    monkeypatch.setattr(installer.weights, "download_command", lambda *_: [sys.executable, "-c", slow_pip])
    job = Installer()
    assert job.start()
    deadline = time.monotonic() + 20
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pip = psutil.Process(int(pid_file.read_text()))
    assert job.status().phase == "weights" and "downloading part 1/6" in job.status().line()
    job.cancel()
    assert not psutil.wait_procs([pip], timeout=10)[1]
    assert job.status().phase == "failed" and not (tmp_path / "models" / installer.weights.PIN.filename).exists()
