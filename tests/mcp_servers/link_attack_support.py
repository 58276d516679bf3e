"""The planted-link attack on the built-in servers: targets outside the workspace, the links to them, and tool calls
built from each tool's own input schema (so a new tool or a new path argument is attacked without editing a list)."""

from __future__ import annotations

import ast
import glob
import hashlib
import re
import venv
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

SECRET = "ROOT-ONLY-SECRET-7f3a"
OTHER_SECRET = "OTHER-CONVERSATION-SECRET-91c2"
# A property is a path when its name or description says so (the tools describe every path argument).
PATHISH = re.compile(r"\b(path|paths|folder|folders|directory|directories|dir|file|files|sources?)\b", re.IGNORECASE)
EXAMPLE = re.compile(r"e\.g\.\s+(\[[^\]]*\]|'[^']*')")
# Folders the servers write to on their own: an attacker links them out too.
SERVER_FOLDERS = {"analysis": "private", "browser": "other", "downloads": "private", ".k2hub": "private",
                  "migration": "venv"}


@dataclass
class Targets:
    """What lies outside the victim's workspace: every one must be unchanged, and unread, after the attack."""

    private: Path  # a 0700 directory of the app's user
    secret: Path  # a 0600 file (root-only when the tests run as root, as the app often does)
    other: Path  # another conversation's workspace
    venv: Path  # a virtual environment's site-packages: a .pth file there runs at its python's next start

    def state(self) -> dict[str, Any]:
        """Everything observable about the targets (contents and times; site-packages' top level only)."""
        def tree(root: Path) -> dict[str, tuple[int, str]]:
            return {str(p.relative_to(root)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
                    for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}

        return {"private": tree(self.private), "other": tree(self.other), "venv": tree(self.venv),
                "venv_mtime": self.venv.stat().st_mtime_ns,
                "secret": (self.secret.stat().st_mtime_ns, self.secret.read_text())}


def plant(tmp: Path, root: Path, victim: str) -> tuple[Targets, list[str]]:
    """Create the targets and plant links to them in the victim's workspace; returns path values to attack with."""
    private = tmp / "private"
    private.mkdir(mode=0o700)
    (private / "keep.txt").write_text("keep")
    secret = tmp / "secret"
    secret.write_text(f"{SECRET}\nsecond line\n")
    secret.chmod(0o600)
    other = root / "other-conversation"
    other.mkdir(parents=True)
    (other / "other.txt").write_text(OTHER_SECRET)
    # A venv of its own (the app's is shared with other processes that install into it while tests run).
    venv.create(tmp / "venv", with_pip=False)
    targets = Targets(private, secret, other, Path(glob.glob(str(tmp / "venv/lib/python3*/site-packages"))[0]))
    ws = root / victim
    ws.mkdir(parents=True)
    links = {"d_private": private, "f_secret": secret, "d_other": other, "d_venv": targets.venv}
    links.update({name: getattr(targets, kind) for name, kind in SERVER_FOLDERS.items()})
    for name, target in links.items():
        (ws / name).symlink_to(target)
    # The issue's own example: a module folder whose go.mod is a link to the secret, and one whose cobolrt leads out.
    (ws / "m2").mkdir()
    (ws / "m2" / "go.mod").symlink_to(secret)
    (ws / "m3").mkdir()
    (ws / "m3" / "cobolrt").symlink_to(private)
    (ws / "p").mkdir()
    (ws / "p" / "prog.cbl").symlink_to(secret)
    values = ["d_private", "d_private/new.txt", "d_private/keep.txt", "f_secret", "d_other", "d_other/other.txt",
              "d_venv", "d_venv/evil.pth", "m2", "m2/go.mod", "m3", "p", "p/prog.cbl", "analysis/report.md"]
    return targets, values


def is_path(name: str, spec: dict[str, Any]) -> bool:
    return bool(PATHISH.search(name.replace("_", " ")) or PATHISH.search(str(spec.get("description", ""))))


def filler(name: str, spec: dict[str, Any]) -> Any:
    """A plausible value for a non-path argument: the description's own example, else one of the right type."""
    found = EXAMPLE.search(str(spec.get("description", "")))
    if found:
        try:
            return ast.literal_eval(found.group(1))
        except (ValueError, SyntaxError):
            pass
    kind = _type(spec)
    return {"string": "x", "integer": 1, "number": 1, "boolean": False, "array": ["x"], "object": {}}.get(kind, "x")


def _type(spec: dict[str, Any]) -> str:
    if "type" in spec:
        return str(spec["type"])
    for option in spec.get("anyOf", []):
        if option.get("type") not in (None, "null"):
            return str(option["type"])
    return "string"


def attacks(schema: dict[str, Any], values: list[str]) -> list[dict[str, Any]]:
    """One argument set per path argument and planted value (other arguments filled in), from the input schema."""
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    base = {n: filler(n, s) for n, s in props.items() if n in required and not is_path(n, s)}
    paths = [n for n, s in props.items() if is_path(n, s)]
    if not paths:
        return [base]
    calls = []
    for name, value in product(paths, values):
        args = dict(base)
        for other in paths:  # required path arguments other than the attacked one: a harmless real folder
            if other != name and other in required:
                args[other] = _shaped(props[other], ".")
        args[name] = _shaped(props[name], value)
        calls.append(args)
    return calls


def _shaped(spec: dict[str, Any], value: str) -> Any:
    kind = _type(spec)
    if kind == "array":
        return [value]
    if kind == "object":
        return {"INFILE": value}
    return value


def leaked(text: str) -> bool:
    return SECRET in text or OTHER_SECRET in text or "second line" in text
