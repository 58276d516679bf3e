"""The rooms and their doors: import-linter checks the layer rules of pyproject.toml ([tool.importlinter])."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "agents", "mcp_servers", "skills", "storage")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports over the packages under root, with the project's contracts."""
    command = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
               "--no-cache", str(root / "pyproject.toml")]
    return subprocess.run(command, cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def test_the_layer_rules_hold() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_a_forbidden_import_breaks_the_contract(tmp_path: Path) -> None:
    """A copy of the code where a server imports the planner, the app imports a server's MCP adapter, two UI modules
    import each other, a server imports another server's adapter, and a module imports another package's _private
    module: each rule reports it."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "builtin"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "mcp_servers" / "common" / "cli.py").open("a") as f:
        f.write("\nfrom agents.planner import graph  # noqa\n")
    with (tmp_path / "app" / "ui" / "files.py").open("a") as f:
        f.write("\nfrom mcp_servers.workspace import server  # noqa\n")
    with (tmp_path / "app" / "ui" / "render.py").open("a") as f:
        f.write("\nfrom app.ui import chat  # noqa\n")
    with (tmp_path / "mcp_servers" / "analysis" / "kpi.py").open("a") as f:
        f.write("\nfrom mcp_servers.pdf_reader import server  # noqa\n")
    (tmp_path / "storage" / "_secret.py").write_text("VALUE = 1\n")
    with (tmp_path / "skills" / "errors.py").open("a") as f:
        f.write("\nfrom storage import _secret  # noqa\n")
    done = lint(tmp_path)
    assert done.returncode != 0
    out = " ".join(done.stdout.split())
    assert "mcp_servers.common.cli -> agents.planner.graph" in out
    assert "app.ui.files -> mcp_servers.workspace.server" in out
    assert "No cycles are allowed in app.ui" in out
    assert "mcp_servers.analysis.kpi -> mcp_servers.pdf_reader.server" in out
    assert "storage._secret" in out and "5 broken" in out, out[-3000:]
