"""`k2hub skills list|search|show|install|export|pin|diff|trust`: the skills registry from a terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

USAGE = "manage Agent-Hub skills: list, search, show, install, export, pin, diff, trust"


def add_parser(sub: Any) -> None:
    """Add the `skills` verb and its actions to the CLI's subparsers."""
    p = sub.add_parser("skills", help=USAGE, description=USAGE)
    actions = p.add_subparsers(dest="skills_action", required=True)
    actions.add_parser("list", help="every installed skill (the version in use)")
    search = actions.add_parser("search", help="skills relevant to some words")
    search.add_argument("query", nargs="+")
    search.add_argument("--limit", type=int, default=10)
    show = actions.add_parser("show", help="a skill's details, versions and SKILL.md")
    show.add_argument("ref", metavar="NAME[@VERSION]")
    install = actions.add_parser("install", help="install a skill folder or a .zip bundle")
    install.add_argument("path", type=Path)
    export = actions.add_parser("export", help="write a skill version as a .zip bundle")
    export.add_argument("ref", metavar="NAME[@VERSION]")
    export.add_argument("dest", type=Path, help="a .zip path, or a folder to put NAME-VERSION.zip in")
    pin = actions.add_parser("pin", help="use one version of a skill (or --latest to unpin)")
    pin.add_argument("ref", metavar="NAME@VERSION|NAME")
    pin.add_argument("--latest", action="store_true", help="unpin: use the latest version again")
    diff = actions.add_parser("diff", help="unified diff of two versions of a skill")
    diff.add_argument("name")
    diff.add_argument("a", metavar="VERSION_A")
    diff.add_argument("b", metavar="VERSION_B")
    trust = actions.add_parser("trust", help="mark a skill trusted: its text reaches the model as instructions, "
                               "not as fenced untrusted content (or --revoke)")
    trust.add_argument("name")
    trust.add_argument("--revoke", action="store_true", help="untrusted again")


def skills_verb(args: argparse.Namespace) -> int:
    """Run one `skills` action; registry refusals print as one line on stderr and exit 1."""
    from skills.errors import SkillError
    from skills.registry import Registry
    from storage.db import Database

    db = Database()
    try:
        registry = Registry(db)
        registry.ensure_builtin()
        return _ACTIONS[args.skills_action](registry, args)
    except SkillError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        db.close()


def _split(ref: str) -> tuple[str, str | None]:
    name, _, version = ref.partition("@")
    return name, version or None


def _list(registry: Any, args: argparse.Namespace) -> int:
    rows = registry.list()
    for v in rows:
        print(f"{v.name}@{v.version}  {v.description}")
    if not rows:
        print("No skills installed.")
    return 0


def _search(registry: Any, args: argparse.Namespace) -> int:
    hits = registry.search(" ".join(args.query), limit=args.limit)
    for h in hits:
        print(f"{h.name}@{h.version}  ({h.score:.3g})  {h.description}")
    if not hits:
        print("No matching skill.")
    return 0


def _show(registry: Any, args: argparse.Namespace) -> int:
    name, version = _split(args.ref)
    row, skill = registry.get(name, version), registry.skill(name)
    print(f"{row.name}@{row.version}  ({row.source}, sha256 {row.sha256[:16]})")
    marks = {skill.latest_version: "latest", skill.pinned_version: "pinned"}
    versions = [
        f"{v.version}{' (' + marks[v.version] + ')' if v.version in marks else ''}" for v in registry.versions(name)
    ]
    print("versions: " + ", ".join(versions))
    print("files: " + ", ".join(f"{p} ({r['size']} B)" for p, r in sorted(row.resources.items())))
    print()
    print(registry.read_file(name, "SKILL.md", row.version).decode("utf-8"))
    return 0


def _install(registry: Any, args: argparse.Namespace) -> int:
    path: Path = args.path
    row = registry.install_folder(path) if path.is_dir() else registry.import_bundle(path)
    flag = f" (same content as {row.duplicate_of})" if row.duplicate_of else ""
    print(f"{row.name}@{row.version} installed from {path}{flag}")
    return 0


def _export(registry: Any, args: argparse.Namespace) -> int:
    name, version = _split(args.ref)
    print(registry.export_bundle(name, version, args.dest))
    return 0


def _pin(registry: Any, args: argparse.Namespace) -> int:
    name, version = _split(args.ref)
    if version is None and not args.latest:
        print("error: give NAME@VERSION to pin, or NAME --latest to unpin", file=sys.stderr)
        return 2
    row = registry.pin(name, None if args.latest else version)
    print(f"{row.name} now uses {row.version}" + ("" if args.latest else " (pinned)"))
    return 0


def _trust(registry: Any, args: argparse.Namespace) -> int:
    skill = registry.set_trusted(args.name, not args.revoke)
    state = "trusted" if skill.trusted else "untrusted (its text reaches the model fenced, as data)"
    print(f"{args.name} is now {state}; built-in versions are always trusted")
    return 0


def _diff(registry: Any, args: argparse.Namespace) -> int:
    sys.stdout.write(registry.diff(args.name, args.a, args.b) or "No differences.\n")
    return 0


_ACTIONS = {
    "list": _list,
    "search": _search,
    "show": _show,
    "install": _install,
    "export": _export,
    "pin": _pin,
    "diff": _diff,
    "trust": _trust,
}
