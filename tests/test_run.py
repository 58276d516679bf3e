"""The launcher: `python run.py VERB` reaches the CLI through the project's venv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_run_py_hands_over_to_the_cli(_isolated_home: Path):
    env = {**os.environ, "K2HUB_HOME": str(_isolated_home)}
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "runs"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "No interrupted runs."
    stamp = Path(os.environ.get("K2HUB_VENV", ROOT / ".venv")) / ".k2hub-installed"
    assert stamp.read_text().split()[1] == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "k2hub"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ask" in out.stdout and "resume" in out.stdout
