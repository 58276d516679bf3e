"""Overhead of the code sandbox, each figure against the bare command measured in the same run.

- run_python("pass") through the MCP tool (a stdio server, as the hub runs it) vs bare `python3 -c pass`;
  target: at most 50 ms added.
- a second `go test ./...` of an unchanged module through the `go` tool vs a bare `go test ./...` with its own warm
  cache; target: ratio <= 1.5. Also with -count=1 (packages cached, tests rerun).

Run: python benchmarks/bench_sandbox.py   (prints `name: value` lines)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

from mcp_servers.sandbox import golang  # noqa: E402

PYTHON_RUNS = 60
GO_RUNS = 7
BLOCK = 10  # alternate sandboxed and bare blocks so machine noise hits both alike
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
# Warm caches that outlive a run (the first Go build compiles the standard library, ~30-40 s on 2 cores).
CACHE = Path(os.environ.get("K2HUB_BENCH_CACHE") or Path(tempfile.gettempdir()) / "k2hub-bench-cache")
GO_MOD = "module example.com/bench\n\ngo 1.22\n"
GO_SRC = 'package bench\n\nimport "strings"\n\nfunc Shout(s string) string { return strings.ToUpper(s) + "!" }\n'
GO_TEST = ('package bench\n\nimport "testing"\n\nfunc TestShout(t *testing.T) {\n'
           '\tif Shout("k2") != "K2!" {\n\t\tt.Fatal(Shout("k2"))\n\t}\n}\n')
META = {"k2hub/conversation": "bench"}


async def bare(argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*argv, env=env, cwd=cwd, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return time.perf_counter() - started


async def tool(session: ClientSession, name: str, args: dict) -> float:
    started = time.perf_counter()
    result = await session.call_tool(name, args, meta=META)
    elapsed = time.perf_counter() - started
    text = result.content[0].text
    assert not result.is_error and "exit code 0" in text, text
    return elapsed


async def measure(home: Path) -> dict[str, float]:
    """Median wall times of each sandboxed command and its bare twin, in alternating blocks."""
    module = home / "workspaces" / "bench" / "mod"
    module.mkdir(parents=True)
    for name, text in (("go.mod", GO_MOD), ("bench.go", GO_SRC), ("bench_test.go", GO_TEST)):
        (module / name).write_text(text)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "K2HUB_HOME": str(home),
           "K2HUB_GO_CACHE": str(CACHE / "sandbox-go")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_servers.sandbox"], cwd=str(ROOT), env=env)
    results: dict[str, float] = {}
    with open(os.devnull, "w") as devnull:
        async with stdio_client(params, errlog=devnull) as (r, w), ClientSession(r, w) as session:
            await session.initialize()
            # Python: the sandbox's whole per-run cost (MCP round trip, workspace scans, bwrap, setpriv, prlimit).
            sandboxed, plain = [], []
            for _ in range(3):
                await tool(session, "run_python", {"code": "pass"})
                await bare([PYTHON, "-c", "pass"])
            for _ in range(PYTHON_RUNS // BLOCK):
                sandboxed += [await tool(session, "run_python", {"code": "pass"}) for _ in range(BLOCK)]
                plain += [await bare([PYTHON, "-c", "pass"]) for _ in range(BLOCK)]
            py_tool, py_bare = statistics.median(sandboxed) * 1000, statistics.median(plain) * 1000
            results |= {"python_tool_p50_ms": py_tool, "python_bare_p50_ms": py_bare,
                        "python_added_ms": py_tool - py_bare, "python_ratio": py_tool / py_bare}
            # Go: a first build fills each side's cache; then the second (and later) runs are compared.
            root = golang.goroot()
            go_env = {"PATH": f"{root}/bin:/usr/bin:/bin", "HOME": str(home), "GOROOT": str(root),
                      "GOCACHE": str(CACHE / "bare-go"), "GOPATH": str(home / "gopath"), "GOFLAGS": "-mod=mod",
                      "GOPROXY": "off", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
            go_bin = str(root / "bin" / "go")
            started = time.perf_counter()
            await tool(session, "go", {"args": ["test", "./..."], "dir": "mod"})
            results["go_first_tool_s"] = time.perf_counter() - started
            results["go_first_bare_s"] = await bare([go_bin, "test", "./..."], go_env, str(module))
            for label, args in (("go_test", ["test", "./..."]), ("go_test_count1", ["test", "-count=1", "./..."])):
                sandboxed, plain = [], []
                for _ in range(GO_RUNS):
                    sandboxed.append(await tool(session, "go", {"args": args, "dir": "mod"}))
                    plain.append(await bare([go_bin, *args], go_env, str(module)))
                t, b = statistics.median(sandboxed) * 1000, statistics.median(plain) * 1000
                results |= {f"{label}_tool_p50_ms": t, f"{label}_bare_p50_ms": b, f"{label}_ratio": t / b}
    return results


def main() -> None:
    started = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="k2hub-bench-"))
    try:
        results = asyncio.run(measure(home))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for name, value in results.items():
        print(f"{name}: {value:.3f}")
    print(f"wall_s: {time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
