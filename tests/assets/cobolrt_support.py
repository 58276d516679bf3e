"""Build and run things for the cobolrt tests: cobc and go on the host (these tests check the runtime, not the sandbox)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from mcp_servers.sandbox import golang
from tests.mcp_servers.sandbox_support import GO_CACHE

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "assets" / "go" / "cobolrt"


def go_env() -> dict[str, str]:
    root = golang.goroot()
    GO_CACHE.mkdir(parents=True, exist_ok=True)
    host_cache = GO_CACHE / "host"
    return {
        "PATH": f"{root}/bin:/usr/bin:/bin",
        "GOROOT": str(root),
        "GOCACHE": str(host_cache),
        "GOPATH": str(GO_CACHE / "gopath"),
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
        "HOME": os.environ.get("HOME", "/tmp"),
    }


def go_module(dest: Path, files: dict[str, str]) -> Path:
    """A module k2hub.local/rtcheck with cobolrt copied in at ./cobolrt and the given files."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "go.mod").write_text("module k2hub.local/rtcheck\n\ngo 1.22\n")
    shutil.copytree(RUNTIME, dest / "cobolrt", dirs_exist_ok=True)
    for name, text in files.items():
        (dest / name).write_text(text)
    return dest


def go(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["go", *args], check=False, cwd=cwd, env=go_env(), capture_output=True, text=True, timeout=timeout
    )


def cobc_run(source: str, workdir: Path, env: dict[str, str] | None = None) -> str:
    """Compile one COBOL program with cobc -x and return its stdout."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prog.cob").write_text(source)
    built = subprocess.run(
        ["cobc", "-x", "-o", "prog", "prog.cob"], check=False, cwd=workdir, capture_output=True, text=True, timeout=120
    )
    assert built.returncode == 0, built.stderr + built.stdout
    run = subprocess.run(
        ["./prog"],
        check=False,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )
    assert run.returncode == 0, run.stderr
    return run.stdout
