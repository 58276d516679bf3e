"""`python run.py cobol analyze DIR [--json]`: the deterministic COBOL project analysis, no model involved."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the `cobol` verb and its actions."""
    p = sub.add_parser("cobol", help="COBOL project tools: analyze a folder (programs, copybooks, layouts, JCL)")
    actions = p.add_subparsers(dest="cobol_action", required=True)
    a = actions.add_parser("analyze", help="map programs, paragraphs, copybooks, files and record layouts")
    a.add_argument("dir", type=Path, help="folder holding the COBOL sources, copybooks, JCL and sample data")
    a.add_argument("--json", action="store_true", help="print the whole analysis as one JSON object")
    a.add_argument(
        "--copybooks",
        type=Path,
        action="append",
        default=[],
        help="extra copybook directory (repeatable; folders holding .cpy files are found by themselves)",
    )
    a.add_argument(
        "--binary-size",
        choices=["2-4-8", "1-2-4-8"],
        default="2-4-8",
        help="bytes of COMP items by digits: IBM 2-4-8 (default) or GnuCOBOL's default 1-2-4-8",
    )


def cobol_verb(args: argparse.Namespace) -> int:
    """Run the chosen action; exit code 2 when the folder does not exist."""
    from mcp_servers.cobol.project import analyze_project
    from mcp_servers.cobol.report import project_text

    root: Path = args.dir
    if not root.is_dir():
        print(f"error: {root} is not a directory", file=sys.stderr)
        return 2
    project = analyze_project(root, list(args.copybooks), binary_size=args.binary_size)
    if args.json:
        json.dump(project.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(project_text(project))
    return 0 if project.programs else 1
