"""Differential verification: compile the COBOL with cobc and build the Go, run both in the sandbox on the same inputs
(same DD_ environment, same fixed clock), then compare exit codes, stdout and every output file record by record.

Everything runs under the code sandbox (mcp_servers/sandbox/bwrap.py, runner.py): inputs are copied in by the sandboxed
shell itself, and outputs are read back from a private run directory with O_NOFOLLOW, so code under test can neither
make the server read a file it should not nor write outside its directories.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers.sandbox import golang, runner
from mcp_servers.sandbox.bwrap import Isolation, Job, Layout, Mount
from mcp_servers.cobol.compare import Comparison, compare_exit, compare_lines, compare_records
from mcp_servers.cobol.program import Program, analyze_program
from mcp_servers.cobol.sources import copied
from mcp_servers.common import safe_files
from mcp_servers.common.paths import Workspace

DEFAULT_DATE = "2024/01/15 10:30:00"
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
RUN = "/opt/run"


@dataclass
class Verification:
    """The outcome of one differential run."""

    program: str
    go_dir: str
    comparison: Comparison = field(default_factory=Comparison)
    problem: str = ""  # a build failure: nothing was compared
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return not self.problem and self.comparison.equal

    def render(self) -> str:
        head = f"verify {self.program} vs Go in {self.go_dir}: "
        if self.problem:
            return head + "NOT COMPARED\n" + self.problem
        verdict = "EQUAL" if self.equal else "DIFFERING"
        times = ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items())
        return f"{head}{verdict}\n{self.comparison.render()}\n({times})"


@dataclass
class Request:
    """What to verify; paths are relative to the workspace."""

    sources: list[str]
    go_dir: str
    inputs: dict[str, str]  # DD name -> workspace file
    outputs: list[str]  # DD names the programs write
    stdin: str | None = None
    date: str | None = DEFAULT_DATE
    copybook_dirs: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    timeout_s: float = 60.0


def _dd(name: str) -> str:
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ToolError(f"DD name {name!r} refused: use the ASSIGN name of the file, letters, digits, '-' and '_'")
    return name.upper().replace("-", "_")


async def verify(
    iso: Isolation, ws: Workspace, conversation: str, req: Request, go_cache: Path, warm: golang.WarmUp
) -> Verification:
    """Run the differential verification described by req in the conversation's workspace."""
    sources = [_file(ws, s) for s in req.sources]
    go_parts = ws.parts(req.go_dir)
    if not any(safe_files.is_file(ws, "/".join([*go_parts[:i], "go.mod"])) for i in range(len(go_parts) + 1)):
        raise ToolError(
            f"{req.go_dir}: no go.mod there; create the Go module first (and copy the runtime in with "
            "cobol__add_runtime)"
        )
    vendored = safe_files.is_file(ws, "/".join([*go_parts, "vendor", "modules.txt"]))
    inputs = {_dd(dd): _file(ws, path) for dd, path in req.inputs.items()}
    outputs = [_dd(dd) for dd in req.outputs]
    main_dir = str(PurePosixPath(sources[0]).parent)
    # The record layouts are read from a private copy: the analyzer opens files by name, following links.
    with copied(ws, [main_dir, *req.copybook_dirs]) as copy:
        program = analyze_program(copy.local(ws, sources[0]), [copy.local(ws, d) for d in req.copybook_dirs])
    result = Verification(program=program.program_id, go_dir=req.go_dir or ".")
    run_dir = Path(tempfile.mkdtemp(prefix="k2hub-verify-"))
    try:
        owner = iso.uid_for(conversation)
        for sub in ("build", "cobol", "go"):
            (run_dir / sub).mkdir()
        if owner is not None:
            for d in (run_dir, run_dir / "build", run_dir / "cobol", run_dir / "go"):
                os.chown(d, owner, owner)
        mount = Mount("run", run_dir, writable=True)
        cobc = [
            "cobc",
            "-x",
            "-o",
            f"{RUN}/build/cobol-program",
            *req.flags,
            *sources,
            *(f"-I{'/'.join(ws.parts(d)) or '.'}" for d in req.copybook_dirs),
        ]
        built = await runner.execute(
            iso, ws.root, conversation, Job(lambda _l: (cobc, {}), mounts=[mount]), req.timeout_s
        )
        result.seconds["cobc"] = built.duration_s
        problem = _failure("cobc", built, run_dir / "build" / "cobol-program")
        if problem:
            result.problem = problem
            return result
        root = golang.goroot()
        cache, _note = await warm.cache_for(iso, go_cache, conversation, root)

        def go_build(layout: Layout) -> tuple[list[str], dict[str, str]]:
            return (
                [f"{layout.mounts['go']}/bin/go", "build", "-o", f"{RUN}/build/go-program", "."],
                golang.environment(layout, vendored),
            )

        job = Job(
            go_build, cwd="/".join(go_parts), mounts=[Mount("go", root), Mount("gocache", cache, writable=True), mount]
        )
        built = await runner.execute(iso, ws.root, conversation, job, max(req.timeout_s, 120.0))
        result.seconds["go build"] = built.duration_s
        problem = _failure("go build", built, run_dir / "build" / "go-program")
        if problem:
            result.problem = problem
            return result
        runs = {}
        for side in ("cobol", "go"):
            job = _run_job(side, inputs, outputs, req, mount)
            runs[side] = await runner.execute(iso, ws.root, conversation, job, req.timeout_s)
            result.seconds[f"{side} run"] = runs[side].duration_s
        try:
            result.comparison = _compare(program, runs, outputs, run_dir)
        finally:
            for outcome in runs.values():
                outcome.close()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return result


def _run_job(side: str, inputs: dict[str, str], outputs: list[str], req: Request, mount: Mount) -> Job:
    """A shell that copies the inputs in (as the sandbox uid) and runs the program with DD_ names and the clock."""
    env: dict[str, str] = {}
    copies = []
    for dd, path in inputs.items():
        copies.append(f"cp -- {shlex.quote('/workspace/' + path)} {shlex.quote(dd + '.in')}")
        env[f"DD_{dd}"] = f"{dd}.in"
    for dd in outputs:
        env[f"DD_{dd}"] = f"{dd}.out"
    if req.date:
        env["COB_CURRENT_DATE"] = req.date
    script = " && ".join([f"cd {RUN}/{side}", *copies, f"exec {RUN}/build/{side}-program"])
    return Job(
        lambda _l: (["/bin/sh", "-c", script], env),
        mounts=[mount],
        stdin=None if req.stdin is None else req.stdin.encode(),
    )


def _compare(program: Program, runs: dict[str, runner.Outcome], outputs: list[str], run_dir: Path) -> Comparison:
    cmp = Comparison()
    a, b = runs["cobol"], runs["go"]
    cmp.streams.append(compare_exit(a.exit_code, b.exit_code))
    cmp.streams.append(compare_lines("stdout", _captured(a), _captured(b)))
    for dd in outputs:
        x, y = _read(run_dir / "cobol" / f"{dd}.out"), _read(run_dir / "go" / f"{dd}.out")
        f = program.file(dd) or program.file(dd.replace("_", "-"))
        if x is None or y is None:
            from mcp_servers.cobol.compare import Difference, StreamResult

            missing = "COBOL" if x is None else "Go"
            cmp.streams.append(
                StreamResult(
                    dd,
                    x is None and y is None,
                    note=f"{missing} wrote no file {dd}",
                    first=None
                    if x is None and y is None
                    else Difference(
                        0, "file", 0, 0, "(none)" if x is None else "written", "(none)" if y is None else "written"
                    ),
                )
            )
            continue
        if f is not None and "LINE" not in f.organization:
            record = max(f.records, key=lambda r: r.total_size) if f.records else None
            cmp.streams.append(compare_records(dd, x, y, f.record_length, record))
        else:
            cmp.streams.append(compare_lines(dd, x, y))
    return cmp


def _captured(outcome: runner.Outcome) -> bytes:
    spool = outcome.stdout.spool
    spool.seek(0)
    return spool.read(MAX_OUTPUT_BYTES)


def _read(path: Path) -> bytes | None:
    """An output file, refused when the code replaced it with a symlink or something other than a file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ToolError(f"output {path.name} could not be read safely: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ToolError(f"output {path.name} is not a regular file")
        return f.read(MAX_OUTPUT_BYTES)


def _failure(step: str, outcome: runner.Outcome, artifact: Path) -> str:
    try:
        if not outcome.failed and artifact.is_file():
            return ""
        text = (outcome.stdout.view(2000)[0] + "\n" + outcome.stderr.view(4000)[0]).strip()
        return f"{step} failed ({outcome.status()}):\n{text or '(no output)'}"
    finally:
        outcome.close()


def _file(ws: Workspace, path: str) -> str:
    parts = ws.parts(path)
    if not parts or not safe_files.is_file(ws, path):
        raise ToolError(f"{path}: no such file in the workspace")
    return "/".join(parts)
