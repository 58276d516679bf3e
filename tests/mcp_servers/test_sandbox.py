"""Sandbox server: running code in the shared workspace, results, bounded output, settings, refusals, transports."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from mcp_servers.sandbox import bwrap as _bwrap, runner
from mcp_servers.common import limits as _limits
from mcp_servers.sandbox.bwrap import Isolation, Job
from mcp_servers.workspace.server import create_server as create_workspace
from tests.mcp_servers.conftest import REPO, ToolCaller, connect
from tests.mcp_servers.sandbox_support import processes_of, requires_sandbox, sandbox_client, sandbox_env, uid_of


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspaces"


@pytest.fixture
async def sandbox(root: Path):
    async with sandbox_client(root) as caller:
        yield caller


@pytest.fixture
async def files(root: Path):
    async with connect(create_workspace(root)) as caller:
        yield caller


async def test_tools_are_listed_with_described_parameters(sandbox: ToolCaller) -> None:
    tools = {t.name: t for t in (await sandbox.client.list_tools()).tools}
    assert set(tools) == {"run_python", "run_shell", "go", "cobol"}
    for tool in tools.values():
        assert tool.annotations.destructive_hint is True and tool.annotations.open_world_hint is False
        assert all(p.get("description") for p in tool.input_schema["properties"].values()), tool.name
        assert "ctx" not in tool.input_schema["properties"]


@requires_sandbox
async def test_python_and_shell_share_the_workspace_with_the_workspace_server(
    sandbox: ToolCaller, files: ToolCaller, root: Path
) -> None:
    await files.ok("write_file", "conv", path="data/in.txt", content="3\n4\n")
    text = await sandbox.ok(
        "run_python", "conv",
        code="nums = [int(x) for x in open('data/in.txt')]\nprint('sum', sum(nums))\n"
             "open('data/in.txt', 'a').write('5\\n')\nopen('out.txt', 'w').write('done')\n",
    )
    assert text.startswith("run_python: exit code 0 · ")
    assert "--- stdout (6 bytes) ---\nsum 7" in text and "--- stderr: (empty) ---" in text
    assert "files created: out.txt (4 B)" in text and "files changed: data/in.txt (6 B)" in text
    # The next tool sees what the code wrote, including its edit of a file the workspace server created.
    assert await files.ok("read_file", "conv", path="data/in.txt") == "3\n4\n5\n"
    shell = await sandbox.ok("run_shell", "conv", command="cat out.txt; rm out.txt; echo oops >&2; exit 3")
    assert shell.startswith("run_shell: exit code 3 · ") and "sandbox limits: " in shell
    assert "--- stdout (4 bytes) ---\ndone" in shell and "--- stderr (5 bytes) ---\noops" in shell
    assert "files deleted: out.txt" in shell
    assert sorted(os.listdir(root / "conv")) == ["data"]


@requires_sandbox
async def test_hello_world_and_a_traceback_with_line_numbers(sandbox: ToolCaller) -> None:
    assert "--- stdout (14 bytes) ---\nHello, world!" in await sandbox.ok("run_python", code="print('Hello, world!')")
    text = await sandbox.ok("run_python", code="x = 1\nraise ValueError('bad value')\n")
    assert text.startswith("run_python: exit code 1")
    assert 'main.py", line 2' in text and "ValueError: bad value" in text


@requires_sandbox
async def test_long_output_is_cut_in_the_middle_and_saved_whole(sandbox: ToolCaller, root: Path) -> None:
    text = await sandbox.ok("run_python", "big", code="for i in range(100_000): print(f'line {i}')")
    assert len(text) < 12_000  # the hub's bounded view keeps all of it, stderr included
    assert "line 0\nline 1\n" in text and text.rstrip().endswith("--- stderr: (empty) ---")
    assert "line 99999" in text  # the tail survives the cut
    assert "bytes of stdout cut here" in text
    total = sum(len(f"line {i}\n") for i in range(100_000))
    assert f"--- stdout ({total:,} bytes, cut to 6,000 characters; the whole stdout is in the workspace file " in text
    saved = text.split("the whole stdout is in the workspace file ")[1].split(")")[0]
    assert (root / "big" / saved).stat().st_size == total
    assert "files created" not in text  # the server's own saved output is not reported as the code's doing


@requires_sandbox
async def test_views_shrink_with_the_hubs_result_size(root: Path) -> None:
    async with sandbox_client(root, K2HUB_TOOL_RESULT_CHARS="3000") as sandbox:
        text = await sandbox.ok("run_shell", command="seq 1 100000; seq 1 5000 >&2; exit 1")
    assert len(text) < 3000 and "cut to 1,500 characters" in text and "cut to 750 characters" in text
    assert text.rstrip().endswith("5000")  # the end of stderr, the part that usually explains a failure, is kept


@requires_sandbox
async def test_timeout_request_is_bounded_by_the_hub_limit(root: Path) -> None:
    async with sandbox_client(root, K2HUB_TOOL_TIMEOUT_S="5") as sandbox:
        text = await sandbox.ok("run_python", code="print('ok')", timeout_s=100)
    assert "timeout lowered from 100 s to 2 s" in text and "exit code 0" in text


async def test_invalid_mode_is_explained_on_every_call(root: Path) -> None:
    async with sandbox_client(root, K2HUB_SANDBOX="yolo") as sandbox:
        error = await sandbox.error("run_python", code="print(1)")
    assert "K2HUB_SANDBOX='yolo' is not understood" in error and "unsafe-local" in error


async def test_no_namespaces_means_no_code_runs(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A bwrap that fails the way it does in a container without user namespaces.
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(_bwrap, "find_bwrap", lambda: str(fake))
    async with sandbox_client(root) as sandbox:
        error = await sandbox.error("run_shell", command="touch /tmp/should-not-run")
    assert "Code was not run" in error and "No permissions to create new namespace" in error
    assert "K2HUB_SANDBOX=unsafe-local" in error
    assert not (root / "default").exists()


async def test_missing_bubblewrap_says_what_to_install(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_bwrap, "find_bwrap", lambda: None)
    async with sandbox_client(root) as sandbox:
        error = await sandbox.error("run_python", code="print(1)")
    assert "apt-get install bubblewrap" in error


async def test_unsafe_local_runs_unisolated_and_says_so_in_every_result(root: Path) -> None:
    async with sandbox_client(root, K2HUB_SANDBOX="unsafe-local") as sandbox:
        text = await sandbox.ok("run_python", "u",
                                code="import os; print(os.getcwd()); print(os.path.exists('/etc/shadow'))")
        shell = await sandbox.ok("run_shell", "u", command="exit 2")
    for result in (text, shell):
        assert result.startswith("⚠ UNSAFE: this code ran WITHOUT isolation (K2HUB_SANDBOX=unsafe-local)")
    assert f"{root / 'u'}\nTrue" in text  # the real file system: exactly what the other mode prevents
    assert "exit code 2" in shell


@requires_sandbox
async def test_rlimits_and_identity_inside(sandbox: ToolCaller) -> None:
    text = await sandbox.ok("run_python", "ids", timeout_s=20, code=(
        "import os, resource as r\n"
        "for name in ('AS', 'NPROC', 'FSIZE', 'CPU', 'CORE'):\n"
        "    print(name, r.getrlimit(getattr(r, 'RLIMIT_' + name))[0])\n"
        "print('uid', os.getuid(), 'session_inside', os.getsid(0) > 0)\n"
    ))
    limits = _limits.Limits()
    assert f"AS {limits.memory_mb * 1024 * 1024}" in text and f"NPROC {limits.procs}" in text
    assert f"FSIZE {limits.file_mb * 1024 * 1024}" in text and "CPU 21" in text and "CORE 0" in text
    # The session leader is inside the sandbox (outside it getsid says 0): a new session, no terminal to inject into.
    assert f"uid {uid_of('ids')} session_inside True" in text
    if os.geteuid() == 0:
        assert uid_of("ids") != 0 and uid_of("ids") != uid_of("other")


@requires_sandbox
async def test_cancelled_run_kills_the_code(root: Path) -> None:
    iso, _ = _bwrap.choose("bwrap", _limits.Limits())
    assert iso is not None
    job = Job(lambda _layout: (["/bin/sh", "-c", "sleep 60 & sleep 60"], {}))
    task = asyncio.create_task(runner.execute(iso, root / "cancel", "cancel", job, 60))
    uid = uid_of("cancel")
    for _ in range(100):
        await asyncio.sleep(0.05)
        if len(processes_of(uid)) >= 2:
            break
    assert processes_of(uid), "the code never started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.2)
    assert processes_of(uid) == []


DIES_WITH_PARENT = """
import os, subprocess, sys, time
from pathlib import Path
from mcp_servers.sandbox import bwrap as _bwrap
from mcp_servers.common import limits as _limits
iso, why = _bwrap.choose("bwrap", _limits.Limits())
ws = Path(sys.argv[1])
ws.mkdir(parents=True)
if iso.uid_for("orphan") is not None:
    os.chown(ws, iso.uid_for("orphan"), iso.uid_for("orphan"))
launch = iso.launch(_bwrap.Job(lambda _l: (["/bin/sh", "-c", "sleep 60 & sleep 60"], {})), ws, "orphan", 60)
subprocess.Popen(launch.argv, env=launch.env, pass_fds=launch.pass_fds, start_new_session=True)
launch.close()
time.sleep(60)
"""


@requires_sandbox
async def test_code_dies_with_a_killed_server(tmp_path: Path) -> None:
    """kill -9 of the server (the hub does that to a hung one) must not leave sandboxed code running."""
    server = subprocess.Popen([sys.executable, "-c", DIES_WITH_PARENT, str(tmp_path / "ws")], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    uid = uid_of("orphan")
    try:
        for _ in range(200):
            if len(processes_of(uid)) >= 2:
                break
            await asyncio.sleep(0.05)
        assert len(processes_of(uid)) >= 2, "the sandboxed code never started"
    finally:
        server.kill()
        server.wait()
    for _ in range(100):
        if not processes_of(uid):
            break
        await asyncio.sleep(0.05)
    assert processes_of(uid) == []


@requires_sandbox
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start bwrap as another, unprivileged user")
def test_unprivileged_mode_command_line_works_for_a_normal_user(tmp_path: Path) -> None:
    """The command line used when the app runs as a normal user: a user namespace instead of setpriv."""
    ws = Path(tempfile.mkdtemp(prefix="k2hub-userns-"))
    try:
        os.chown(ws, 65534, 65534)
        iso = Isolation("user", _limits.Limits(), "/usr/bin/bwrap")
        code = ("import os, resource; open('made', 'w').write('x'); "
                "print(os.getuid(), resource.getrlimit(resource.RLIMIT_NPROC)[0])")
        launch = iso.launch(Job(lambda layout: (["/usr/bin/python3", "-c", code], {})), ws, "c", 10)
        try:
            as_nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *launch.argv]
            done = subprocess.run(as_nobody, env=launch.env, pass_fds=launch.pass_fds, capture_output=True, timeout=30)
        finally:
            launch.close()
        if b"No permissions to create new namespace" in done.stderr or b"setting up uid map" in done.stderr:
            pytest.skip(f"unprivileged user namespaces are disabled here: {done.stderr.decode().strip()}")
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.decode().split() == ["65534", str(_limits.Limits().procs)]
        assert (ws / "made").stat().st_uid == 65534
    finally:
        subprocess.run(["rm", "-rf", str(ws)], check=False)


@requires_sandbox
async def test_stdio_subprocess(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_servers.sandbox", "--root", str(tmp_path)], cwd=REPO,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("run_python", {"code": "open('a.txt', 'w').write('stdio')"},
                                         meta={"k2hub/conversation": "s1"})
        assert not result.is_error and "files created: a.txt" in result.content[0].text
    assert (tmp_path / "s1" / "a.txt").read_text() == "stdio"


@requires_sandbox
async def test_streamable_http_subprocess(tmp_path: Path, http_server) -> None:
    url = http_server("mcp_servers.sandbox", env={"K2HUB_WORKSPACE_ROOT": str(tmp_path)})
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("run_shell", {"command": "echo over http > h.txt; cat h.txt"},
                                         meta={"k2hub/conversation": "web"})
        assert not result.is_error and "over http" in result.content[0].text
    info = (tmp_path / "web" / "h.txt").stat()
    assert stat.S_ISREG(info.st_mode) and (tmp_path / "web" / "h.txt").read_text() == "over http\n"


def test_sandbox_is_a_builtin_server_without_keys() -> None:
    from agents.hub.config import builtin_servers

    servers = {s.name: s for s in builtin_servers({"PATH": "/usr/bin", "GROQ_API_KEY": "k", "K2HUB_API_KEY": "k",
                                                   "K2HUB_SANDBOX": "bwrap"})}
    assert servers["sandbox"].args == ["-m", "mcp_servers.sandbox"]
    assert servers["sandbox"].env["K2HUB_SANDBOX"] == "bwrap"
    assert "GROQ_API_KEY" not in servers["sandbox"].env and "K2HUB_API_KEY" not in servers["sandbox"].env
    assert sandbox_env()["K2HUB_GO_CACHE"]
