#!/usr/bin/env python3
"""One-command launcher: builds .venv with the app's dependencies on first use, then hands over to app.cli.

    python run.py               start the web UI (same as `python run.py serve`)
    python run.py test          run the whole test suite
    python run.py ask "..."     one headless turn in the terminal

Standard library only: this file runs before any dependency exists. It reinstalls only when pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("K2HUB_VENV", ROOT / ".venv"))
STAMP = VENV / ".k2hub-installed"
MIN_PYTHON = (3, 11)


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _wanted_stamp() -> str:
    # The interpreter version is part of the stamp: a venv built by another Python must be rebuilt.
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{digest} {sys.version_info.major}.{sys.version_info.minor}"


def _say(text: str) -> None:
    print(f"[k2hub] {text}", file=sys.stderr, flush=True)


def bootstrap() -> Path:
    """The venv's python, after creating the venv and installing dependencies if needed."""
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"K2 Agent Hub needs Python {'.'.join(map(str, MIN_PYTHON))}+; this is {sys.version.split()[0]}.")
    python = _venv_python()
    wanted = _wanted_stamp()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return python
    if not python.exists():
        _say(f"creating a virtual environment in {VENV} ...")
        try:
            venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
        except Exception as exc:  # ensurepip missing on some distributions
            sys.exit(f"Could not create {VENV}: {exc}\nOn Debian/Ubuntu: apt-get install python3-venv")
    _say("installing dependencies (first run or pyproject.toml changed; a few minutes) ...")
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], check=False)
    result = subprocess.run([*pip, "install", "-q", "-e", f"{ROOT}[dev]"], cwd=ROOT)
    if result.returncode != 0:
        sys.exit("Dependency installation failed (see the pip output above); fix it and run again.")
    STAMP.write_text(wanted + "\n")
    _say("dependencies ready.")
    return python


def main() -> None:
    python = bootstrap()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    args = [str(python), "-m", "app.cli", *sys.argv[1:]]
    os.chdir(ROOT)
    if os.name == "nt":
        sys.exit(subprocess.call(args))
    os.execv(str(python), args)


if __name__ == "__main__":
    main()
