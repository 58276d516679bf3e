"""COBOL migration MCP server: analyze a COBOL project, show record layouts, ship the Go decimal runtime, and prove a
Go translation equal to its COBOL original by differential runs in the code sandbox."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_servers.common import cli, safe_files
from mcp_servers.common.adapter import Tools, conversation, workspace
from mcp_servers.common.annotations import CHANGES, READ_ONLY, REPLACES
from mcp_servers.cobol.project import analyze_project as analyze
from mcp_servers.cobol.report import layout_text, project_text, record_text
from mcp_servers.cobol.sources import copied
from mcp_servers.cobol.verify import DEFAULT_DATE, Request
from mcp_servers.cobol.verify import verify as run_verification
from mcp_servers.sandbox.state import RunState

RUNTIME = Path(__file__).resolve().parents[2] / "assets" / "go" / "cobolrt"
MAX_JSON_CHARS = 400_000
MAX_GO_MOD_BYTES = 64 * 1024
# A Go module path: slash-separated elements of letters, digits and . _ ~ - (no spaces, newlines or quotes: it is
# written into go.mod, and a newline there would let a caller add directives of its own).
GO_MODULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*(?:/[A-Za-z0-9._~-]+)*")


tools = Tools()


def create_server(root: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> MCPServer:
    """Build the cobol server; root holds one workspace per conversation (the workspace server's)."""
    state = RunState.load(root, dict(os.environ if env is None else env))
    server = MCPServer(
        "cobol",
        instructions=(
            "COBOL to Go migration tools. analyze_project maps a COBOL project in the workspace (programs, "
            "paragraphs, PERFORM/CALL graphs, copybooks, files, record layouts, JCL); record_layout shows one file's "
            "fields with byte offsets; add_runtime copies the cobolrt Go package (COBOL decimal arithmetic, "
            "zoned/COMP-3 encodings, numeric editing, fixed-length records) into a Go module; verify compiles the "
            "COBOL with GnuCOBOL and builds the Go, runs both on the same inputs in the sandbox and compares outputs "
            "field by field."
        ),
        lifespan=state.lifespan(),
    )
    return tools.register(server)


@tools.tool(annotations=READ_ONLY)
def analyze_project(
    ctx: Context,
    path: Annotated[str, Field(description="Folder of the COBOL project, relative to the workspace")] = ".",
    copybook_dirs: Annotated[
        list[str], Field(description="Extra copybook folders (folders holding .cpy files are found anyway)")
    ] = [],  # noqa: B006 - pydantic copies defaults
    as_json: Annotated[bool, Field(description="Return the full analysis as JSON instead of the map")] = False,
) -> str:
    """Map a COBOL project: programs, paragraphs, PERFORM/CALL graphs, copybooks, files, layouts, JCL, sizes."""
    ws = workspace(ctx)
    with copied(ws, [path, *copybook_dirs]) as copy:
        project = analyze(copy.local(ws, path), [copy.local(ws, d) for d in copybook_dirs])
        project.root = path
        if as_json:
            text = json.dumps(project.to_dict(), separators=(",", ":"))
            if len(text) > MAX_JSON_CHARS:
                text = json.dumps(project.to_dict(layouts=False), separators=(",", ":"))
            return copy.shown(text)
        return copy.shown(project_text(project))


@tools.tool(annotations=READ_ONLY)
def record_layout(
    ctx: Context,
    program: Annotated[str, Field(description="PROGRAM-ID or source file name")],
    file: Annotated[
        str, Field(description="FD name or ASSIGN (DD) name; or a WORKING-STORAGE 01-level record name")
    ],
    path: Annotated[str, Field(description="Folder of the COBOL project, relative to the workspace")] = ".",
) -> str:
    """A record layout: every field with level, PIC, USAGE, byte offset and length (OCCURS, REDEFINES shown)."""
    ws = workspace(ctx)
    with copied(ws, [path]) as copy:
        project = analyze(copy.local(ws, path))
    prog = project.program(program)
    if prog is None:
        names = ", ".join(p.program_id for p in project.programs[:50])
        raise ToolError(f"no program {program!r} under {path}; programs: {names or '(none)'}")
    f = prog.file(file)
    if f is not None:
        return layout_text(prog, f)
    for rec in prog.working_storage + prog.linkage:
        if rec.name == file.upper():
            return f"{prog.program_id} record {rec.name} ({rec.total_size} bytes)\n" + record_text(rec)
    files = ", ".join(f"{x.name} ({x.assign})" for x in prog.files) or "(none)"
    raise ToolError(f"{prog.program_id} has no file or record {file!r}; files: {files}")


@tools.tool(annotations=REPLACES)
def add_runtime(
    ctx: Context,
    dir: Annotated[str, Field(description="Go module folder relative to the workspace (created if missing)")],
    module: Annotated[str, Field(description="Module path for a new go.mod, e.g. 'example.com/payroll'")] = "",
) -> str:
    """Copy the cobolrt Go package into a module (dir/cobolrt) and create go.mod if missing; import MODULE/cobolrt."""
    ws = workspace(ctx)
    parts = safe_files.make_dirs(ws, dir)
    folder = "/".join(parts) or "."
    if module and not _valid_module(module):
        raise ToolError(f"module {module!r} refused: a Go module path is letters, digits and . _ ~ - in elements "
                        "separated by '/', e.g. example.com/payroll (no spaces, newlines or quotes)")
    if safe_files.kind(ws, f"{folder}/go.mod") == "missing":
        name = module or f"example.com/{parts[-1] if parts else 'app'}".lower()
        name = name if _valid_module(name) else "example.com/app"
        safe_files.write_bytes(ws, f"{folder}/go.mod", f"module {name}\n\ngo 1.22\n".encode())
    else:
        text = safe_files.read_text(ws, f"{folder}/go.mod", limit=MAX_GO_MOD_BYTES)
        name = next((ln.split()[1] for ln in text.splitlines() if ln.startswith("module ") and len(ln.split()) > 1),
                    "")
        if not _valid_module(name.strip('"')):
            raise ToolError(f"{folder}/go.mod has no valid 'module' line; fix it or delete the file and retry")
        name = name.strip('"')
    copied_files = []
    for src in sorted(RUNTIME.glob("*.go")):
        safe_files.write_bytes(ws, f"{folder}/cobolrt/{src.name}", src.read_bytes())
        copied_files.append(src.name)
    return (
        f'cobolrt copied into {folder}/cobolrt ({", ".join(copied_files)}); import "{name}/cobolrt". '
        "API: Parse/New/Int, Dec.Add/Sub/Mul/Div(b, scale, rounded)/Round/Rescale/Cmp, "
        "P(digits, scale, signed).Store(v, rounded)/Move(v)/Compute(old, v, rounded, onSizeError), "
        'Edit(v, "$$,$$9.99"), EncodeDisplay/DecodeDisplay, EncodePacked/DecodePacked (COMP-3), '
        "EncodeBinary/DecodeBinary, OpenRecords/CreateRecords(DD name, length, lines)/OpenLines, "
        "Text/PutText/Blank/Pad, DDPath, Now/CurrentDate/AcceptDate (honour COB_CURRENT_DATE)."
    )


@tools.tool(annotations=CHANGES)
async def verify(
    ctx: Context,
    cobol: Annotated[
        list[str], Field(min_length=1, description="COBOL source file(s); the first is the main program")
    ],
    go_dir: Annotated[str, Field(description="Folder of the Go main package (built with go build)")],
    inputs: Annotated[
        dict[str, str], Field(description="Input files by DD/ASSIGN name, e.g. {'ACCTREC': 'data/ACCTREC.in'}")
    ] = {},  # noqa: B006
    outputs: Annotated[list[str], Field(description="DD/ASSIGN names of the files both programs write")] = [],  # noqa: B006
    stdin: Annotated[str | None, Field(description="Text both programs read with ACCEPT")] = None,
    date: Annotated[
        str, Field(description="Fixed clock 'YYYY/MM/DD HH:MM:SS' (COB_CURRENT_DATE) for both; '' = real clock")
    ] = DEFAULT_DATE,
    copybook_dirs: Annotated[list[str], Field(description="Copybook folders (cobc -I)")] = [],  # noqa: B006
    flags: Annotated[list[str], Field(description="Extra cobc options, e.g. ['-std=ibm']")] = [],  # noqa: B006
    timeout_s: Annotated[float | None, Field(gt=0, description="Seconds per run (default 60)")] = None,
) -> str:
    """Run COBOL (cobc) and its Go translation on the same inputs; compare exit code, stdout, files field by field."""
    state = RunState.of(ctx)
    iso = state.isolation()
    if shutil.which("cobc") is None and not os.path.exists("/usr/bin/cobc"):
        raise ToolError("GnuCOBOL is not installed: install it (Debian/Ubuntu: apt-get install gnucobol) and retry")
    for flag in flags:
        if not flag.startswith("-") or flag.startswith(("-o", "--output")) or "\x00" in flag:
            raise ToolError(f"flag {flag!r} refused: give cobc options starting with '-'")
    seconds, _note = state.limits.clamp_timeout(timeout_s)
    ws, cid = workspace(ctx), conversation(ctx)
    req = Request(
        sources=cobol,
        go_dir=go_dir,
        inputs=inputs,
        outputs=outputs,
        stdin=stdin,
        date=date or None,
        copybook_dirs=copybook_dirs,
        flags=flags,
        timeout_s=seconds,
    )
    result = await run_verification(iso, ws, cid, req, state.go_cache, state.go_warm_up)
    return result.render()


def _valid_module(name: str) -> bool:
    return len(name) <= 200 and bool(GO_MODULE.fullmatch(name)) and ".." not in name.split("/")


def main(argv: list[str] | None = None) -> None:
    """Run the cobol server on stdio, or on streamable HTTP with --http PORT."""
    cli.workspace_main("K2 Agent Hub COBOL migration MCP server", create_server, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
