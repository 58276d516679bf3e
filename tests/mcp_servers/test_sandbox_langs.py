"""Go and GnuCOBOL in the sandbox: hello world, passing and failing tests, build caching, a course program's triple."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mcp_servers.sandbox import golang as _golang
from mcp_servers.sandbox.server import create_server
from tests.mcp_servers.conftest import ToolCaller, connect
from tests.helpers import requires
from tests.mcp_servers.sandbox_support import GO_CACHE, requires_cobc, requires_go, requires_sandbox, sandbox_env

pytestmark = requires_sandbox
COURSE = Path(__file__).resolve().parents[3] / "shared" / "data" / "cobol" / "omp-course"


requires_course = requires(COURSE.is_dir(), f"{COURSE} is absent (../shared/data)")

GO_MOD = "module example.com/greet\n\ngo 1.22\n"
GO_SRC = 'package greet\n\nimport "fmt"\n\nfunc Hello(name string) string { return fmt.Sprintf("Hello, %s!", name) }\n'
GO_TEST = ('package greet\n\nimport "testing"\n\nfunc TestHello(t *testing.T) {\n'
           '\tif got := Hello("K2"); got != "Hello, K2!" {\n\t\tt.Fatalf("got %q", got)\n\t}\n}\n')
GO_FAILING = 'package greet\n\nimport "testing"\n\nfunc TestGoodbye(t *testing.T) { t.Errorf("want %q", "Goodbye") }\n'
GO_POISON = """package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	tried := 0
	filepath.WalkDir(os.Getenv("GOCACHE"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "-d") || tried >= 20 {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Sys().(*syscall.Stat_t).Uid != 0 {
			return nil // the conversation's own entries are its to change; shared ones (root's) are not
		}
		tried++
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			fmt.Println("refused:", err.(*fs.PathError).Err)
			return nil
		}
		f.WriteString("poison")
		f.Close()
		fmt.Println("WRITTEN", path)
		return nil
	})
	fmt.Println("tried", tried)
}
"""
GO_MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("Hello from Go") }\n'


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspaces"


@pytest.fixture
async def sandbox(root: Path):
    async with connect(create_server(root, env=sandbox_env())) as caller:
        yield caller


def plant(root: Path, conversation: str, files: dict[str, str | bytes]) -> Path:
    ws = root / conversation
    for name, content in files.items():
        path = ws / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return ws


@requires_go
async def test_go_tests_pass_then_fail_and_the_second_build_is_cached(sandbox: ToolCaller, root: Path) -> None:
    plant(root, "g", {"svc/go.mod": GO_MOD, "svc/greet.go": GO_SRC, "svc/greet_test.go": GO_TEST})
    passed = await sandbox.ok("go", "g", args=["test", "./..."], dir="svc")  # warms the shared cache on first use
    assert passed.startswith("go: exit code 0") and "go test: 1 package(s) passed, 0 failed" in passed
    assert "ok  \texample.com/greet" in passed
    started = time.monotonic()
    again = await sandbox.ok("go", "g", args=["test", "-count=1", "./..."], dir="svc")
    assert "exit code 0" in again and time.monotonic() - started < 10  # compiled packages come from the cache
    plant(root, "g", {"svc/goodbye_test.go": GO_FAILING})
    failed = await sandbox.ok("go", "g", args=["test", "./..."], dir="svc")
    assert failed.startswith("go: exit code 1")
    assert "go test: 0 package(s) passed, 1 failed; failed tests: TestGoodbye" in failed
    assert 'goodbye_test.go:5: want "Goodbye"' in failed
    # The conversation's cache is outside the workspace, and the shared one is read-only for sandboxed code.
    assert not any(p.name == "go-build" for p in (root / "g").rglob("*"))
    assert (GO_CACHE / "conversations" / "g").is_dir()
    if os.geteuid() == 0:
        sample = next(p for p in (GO_CACHE / "shared").rglob("*-d") if p.is_file())
        assert sample.stat().st_uid == 0 and not sample.stat().st_mode & 0o222
        # Code that tries to poison cached objects (hard links to the shared entries) is refused.
        before = sample.read_bytes()
        plant(root, "g", {"poison/go.mod": "module example.com/poison\n\ngo 1.22\n", "poison/main.go": GO_POISON})
        poisoned = await sandbox.ok("go", "g", args=["run", "."], dir="poison")
        assert "exit code 0" in poisoned and "tried 20" in poisoned and "WRITTEN" not in poisoned
        assert poisoned.count("refused: permission denied") == 20
        assert sample.read_bytes() == before


@requires_go
async def test_a_shell_has_go_with_the_go_tools_caches(sandbox: ToolCaller, root: Path) -> None:
    # The COBOL -> Go workflow runs `go test ./... && go vet ./...` from a shell: go must be on its PATH.
    plant(root, "sh", {"svc/go.mod": GO_MOD, "svc/greet.go": GO_SRC, "svc/greet_test.go": GO_TEST})
    text = await sandbox.ok("run_shell", "sh", command="cd svc && go test ./... && go vet ./... && go env GOCACHE GOFLAGS")
    assert text.startswith("run_shell: exit code 0") and "ok  \texample.com/greet" in text, text
    assert "/opt/gocache" in text  # the conversation's own cache, seeded from the shared one, as for the go tool
    assert not any(p.name == "go-build" for p in (root / "sh").rglob("*"))
    plain = await sandbox.ok("run_shell", "sh", command="command -v go")
    assert "/opt/go/bin/go" in plain


@requires_go
async def test_go_hello_world_build_errors_and_offline_modules(sandbox: ToolCaller, root: Path) -> None:
    plant(root, "h", {"go.mod": "module example.com/hello\n\ngo 1.22\n", "main.go": GO_MAIN})
    ran = await sandbox.ok("go", "h", args=["run", "."])
    assert "exit code 0" in ran and "Hello from Go" in ran
    built = await sandbox.ok("go", "h", args=["build", "-o", "hello", "."])
    assert "files created: hello (" in built and (root / "h" / "hello").is_file()
    plant(root, "h", {"main.go": GO_MAIN.replace('fmt.Println("Hello from Go")', "fmt.Println(undefinedName)")})
    broken = await sandbox.ok("go", "h", args=["build", "."])
    assert "exit code 1" in broken and "main.go:5:" in broken and "undefined: undefinedName" in broken
    # Modules cannot be downloaded: the error says the proxy is off instead of hanging on the network.
    plant(root, "m", {"go.mod": "module example.com/m\n\ngo 1.22\n\nrequire golang.org/x/text v0.14.0\n",
                      "main.go": 'package main\n\nimport _ "golang.org/x/text/language"\n\nfunc main() {}\n'})
    offline = await sandbox.ok("go", "m", args=["build", "."])
    assert "exit code 1" in offline and "GOPROXY=off" in offline
    # Vendored modules are used as they are.
    plant(root, "v", {
        "go.mod": "module example.com/v\n\ngo 1.22\n\nrequire example.com/dep v1.0.0\n",
        "vendor/modules.txt": "# example.com/dep v1.0.0\n## explicit; go 1.22\nexample.com/dep\n",
        "vendor/example.com/dep/dep.go": 'package dep\n\nfunc Name() string { return "vendored dep" }\n',
        "main.go": 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/dep"\n)\n\nfunc main() { fmt.Println(dep.Name()) }\n',
    })
    vendored = await sandbox.ok("go", "v", args=["run", "."])
    assert "exit code 0" in vendored and "vendored dep" in vendored


@requires_go
async def test_go_refuses_a_directory_outside_the_workspace(sandbox: ToolCaller) -> None:
    assert "refused" in await sandbox.error("go", "x", args=["version"], dir="../other")
    assert "no such directory" in await sandbox.error("go", "x", args=["version"], dir="missing")


@requires_cobc
async def test_cobol_hello_and_diagnostics_with_file_and_line(sandbox: ToolCaller, root: Path) -> None:
    hello = ("       IDENTIFICATION DIVISION.\n       PROGRAM-ID. HELLO.\n       PROCEDURE DIVISION.\n"
             "           DISPLAY 'HELLO, K2'.\n           STOP RUN.\n")
    plant(root, "c", {"src/hello.cob": hello, "src/bad.cob": hello.replace("'HELLO, K2'", "MISSING-NAME")})
    ok = await sandbox.ok("cobol", "c", sources=["src/hello.cob"])
    assert ok.startswith("cobol: exit code 0") and "compiled src/hello.cob with cobc" in ok and "HELLO, K2" in ok
    bad = await sandbox.ok("cobol", "c", sources=["src/bad.cob"])
    assert bad.startswith("cobol: compilation failed") and "the program was not run" in bad
    assert "src/bad.cob:4: error: 'MISSING-NAME' is not defined" in bad
    # Dialect options pass through to cobc: free format compiles only when asked for.
    plant(root, "c", {"src/free.cob": "IDENTIFICATION DIVISION.\nPROGRAM-ID. FREEHELLO.\nPROCEDURE DIVISION.\n"
                                      "DISPLAY 'FREE FORMAT'.\nSTOP RUN.\n"})
    assert "FREE FORMAT" in await sandbox.ok("cobol", "c", sources=["src/free.cob"], flags=["-free"])
    assert "compilation failed" in await sandbox.ok("cobol", "c", sources=["src/free.cob"], flags=["-fixed"])
    assert "refused" in await sandbox.error("cobol", "c", sources=["src/hello.cob"], flags=["-o/etc/x"])
    assert "refused" in await sandbox.error("cobol", "c", sources=["../c/src/hello.cob"])
    assert "no such file" in await sandbox.error("cobol", "c", sources=["src/none.cob"])


@requires_cobc
@requires_course
async def test_course_program_reproduces_its_triple(sandbox: ToolCaller, root: Path) -> None:
    """CBL0001 reads ACCTREC and writes PRTLINE (files assigned through DD_ variables, as its JCL does)."""
    triple = COURSE / "triples" / "CBL0001"
    ws = plant(root, "t", {"CBL0001.cobol": (COURSE / "cbl-gnucobol" / "CBL0001.cobol").read_bytes(),
                           "data/ACCTREC.in": (triple / "ACCTREC.in").read_bytes()})
    (ws / "out").mkdir()
    text = await sandbox.ok("cobol", "t", sources=["CBL0001.cobol"],
                            env={"DD_ACCTREC": "data/ACCTREC.in", "DD_PRTLINE": "out/PRTLINE.out"})
    assert f"exit code {(triple / 'rc.txt').read_text().strip()}" in text
    assert "files created: out/PRTLINE.out" in text
    assert (ws / "out" / "PRTLINE.out").read_bytes() == (triple / "PRTLINE.out").read_bytes()
    expected_stdout = (triple / "stdout.txt").read_text()
    assert (f"--- stdout ({len(expected_stdout.encode()):,} bytes) ---\n{expected_stdout.rstrip()}" in text
            if expected_stdout else "--- stdout: (empty) ---" in text)


@requires_cobc
@requires_course
async def test_course_program_reads_stdin(sandbox: ToolCaller, root: Path) -> None:
    """ADDAMT ACCEPTs customer names and amounts from stdin and DISPLAYs totals."""
    triple = COURSE / "triples" / "ADDAMT"
    plant(root, "a", {"ADDAMT.cobol": (COURSE / "cbl-gnucobol" / "ADDAMT.cobol").read_bytes()})
    text = await sandbox.ok("cobol", "a", sources=["ADDAMT.cobol"], stdin=(triple / "stdin.txt").read_text())
    expected = (triple / "stdout.txt").read_text()
    assert f"--- stdout ({len(expected.encode()):,} bytes) ---\n{expected.rstrip()}\n--- stderr" in text


@pytest.mark.skipif(os.geteuid() != 0, reason="hands directories to another uid, which needs root")
def test_conversation_cache_is_seeded_with_read_only_links_or_private_copies(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "ab").mkdir(parents=True)
    (shared / "ab" / "abc-d").write_bytes(b"object")
    (shared / "ab" / "abc-d").chmod(0o444)
    (shared / "trim.txt").write_text("1")
    (shared / _golang.MARKER).write_text("go1")
    _golang._seed(shared, tmp_path / "linked", owner=1_234_567)
    linked = tmp_path / "linked" / "ab" / "abc-d"
    assert linked.stat().st_ino == (shared / "ab" / "abc-d").stat().st_ino and linked.stat().st_uid == 0
    assert (tmp_path / "linked" / "ab").stat().st_uid == 1_234_567  # new entries can be written beside them
    assert sorted(os.listdir(tmp_path / "linked")) == ["ab"]  # Go's trim.txt and our marker stay behind
    _golang._seed(shared, tmp_path / "copied", owner=None)
    copied = tmp_path / "copied" / "ab" / "abc-d"
    assert copied.stat().st_ino != linked.stat().st_ino and copied.read_bytes() == b"object"
