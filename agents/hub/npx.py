"""`npx -y some-package args` resolved to the installed package's program, for the quarantine.

npm itself is a trusted tool; the package it runs is not. Inside the quarantine (no network, no home directory)
npx cannot look packages up, so the hub resolves the program first, outside: a copy npx already installed
(~/.npm/_npx) is used as it is, otherwise npm downloads the package into $K2HUB_HOME/mcp/npm/<hash> with install
scripts off (`--ignore-scripts`: no code of the package runs outside the quarantine). The quarantine then runs
`node <program> args` with that folder visible read-only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agents.errors import ToolFailed

INSTALL_TIMEOUT_S = 300.0
FLAGS_ALONE = {"-y", "--yes", "-q", "--quiet", "--no"}


@dataclass
class Resolved:
    """What to run instead of npx, and the folder it needs to see."""

    argv: list[str]
    visible: Path
    source: str  # "npx cache" or "downloaded for vetting"


def is_npx(command: str) -> bool:
    return Path(command).name in ("npx", "npx.cmd")


def resolve(args: list[str], home: Path, env: dict[str, str] | None = None) -> Resolved:
    """The program npx would run for these arguments (ToolFailed with npm's reason when it cannot be had)."""
    packages, program, rest = _parse(args)
    spec = packages[0] if packages else program
    if not spec:
        raise ToolFailed("npx is given no package to run")
    name, version = _split_spec(spec)
    found = _in_npx_cache(name, version)
    source = "npx cache"
    if found is None:
        found = _download(packages or [spec], name, home, env)
        source = "downloaded for vetting"
    package_dir, modules = found
    entry = _bin(package_dir, program if packages else None, name)
    node = shutil.which("node") or "/usr/bin/node"
    argv = [node, str(entry), *rest] if _is_node_script(entry) else [str(entry), *rest]
    return Resolved(argv, modules, source)


def _parse(args: list[str]) -> tuple[list[str], str, list[str]]:
    packages: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in FLAGS_ALONE:
            i += 1
        elif arg in ("-p", "--package") and i + 1 < len(args):
            packages.append(args[i + 1])
            i += 2
        elif arg.startswith("--package="):
            packages.append(arg.split("=", 1)[1])
            i += 1
        elif arg == "--":
            i += 1
        elif arg.startswith("-"):
            raise ToolFailed(f"npx option {arg} is not understood by the quarantine; write the command without it")
        else:
            return packages, arg, args[i + 1:]
    return packages, "", []


def _split_spec(spec: str) -> tuple[str, str | None]:
    """'@scope/pkg@1.2.3' -> ('@scope/pkg', '1.2.3'); no version -> None."""
    at = spec.rfind("@")
    if at > 0:
        return spec[:at], spec[at + 1:] or None
    return spec, None


def _in_npx_cache(name: str, version: str | None) -> tuple[Path, Path] | None:
    """The newest copy npx installed (matching an exact version when one is asked for)."""
    root = Path(os.environ.get("npm_config_cache") or Path.home() / ".npm") / "_npx"
    best: tuple[float, Path, Path] | None = None
    for manifest in root.glob(f"*/node_modules/{name}/package.json"):
        try:
            found = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            continue
        if version and version[0].isdigit() and found != version:
            continue
        mtime = manifest.stat().st_mtime
        if best is None or mtime > best[0]:
            best = (mtime, manifest.parent, manifest.parents[len(Path(name).parts)])
    return (best[1], best[2]) if best else None


def _download(specs: list[str], name: str, home: Path, env: dict[str, str] | None) -> tuple[Path, Path]:
    folder = home / "mcp" / "npm" / hashlib.sha256("\0".join(specs).encode()).hexdigest()[:16]
    package = folder / "node_modules" / name
    if not (package / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise ToolFailed("npx servers need Node.js and npm (apt-get install nodejs npm)")
        folder.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run([npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-save",
                                   "--prefix", str(folder), *specs], capture_output=True, text=True,
                                  timeout=INSTALL_TIMEOUT_S, env={**os.environ, **(env or {})})
        except subprocess.TimeoutExpired:
            raise ToolFailed(f"npm did not finish downloading {' '.join(specs)} in {INSTALL_TIMEOUT_S:g} s") from None
        if done.returncode != 0 or not (package / "package.json").exists():
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])[-400:]
            raise ToolFailed(f"npm could not download {' '.join(specs)}: {tail or 'exit ' + str(done.returncode)}")
    return package, folder / "node_modules"


def _bin(package: Path, program: str | None, name: str) -> Path:
    """The package's executable: the named bin, the one named like the package, or its only one."""
    manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
    bins = manifest.get("bin")
    if isinstance(bins, str):
        bins = {name.split("/")[-1]: bins}
    if not isinstance(bins, dict) or not bins:
        raise ToolFailed(f"{name} declares no program to run (no 'bin' in its package.json)")
    key = program if program in bins else name.split("/")[-1] if name.split("/")[-1] in bins else None
    if key is None and len(bins) == 1:
        key = next(iter(bins))
    if key is None:
        raise ToolFailed(f"{name} has several programs ({', '.join(bins)}); name one with npx -p {name} PROGRAM")
    return (package / str(bins[key])).resolve()


def _is_node_script(path: Path) -> bool:
    if path.suffix in (".js", ".mjs", ".cjs"):
        return True
    try:
        with path.open("rb") as f:
            return b"node" in f.readline()
    except OSError:
        return False
