"""Workspace server: each tool, bounded views, per-conversation isolation, escape attempts, both transports."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from mcp_servers.common import paths as _paths
from mcp_servers.workspace import server as workspace
from mcp_servers.workspace.files import MAX_READ_BYTES
from mcp_servers.workspace.server import create_server
from tests.mcp_servers.conftest import REPO, ToolCaller, connect

SECRET = "top secret outside the workspace"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspaces"


@pytest.fixture
def ws(root: Path) -> Path:
    """The default conversation's workspace, created so tests can plant files and links in it."""
    path = root / "default"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the workspaces holding a file no tool may reach."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text(SECRET)
    return path


@pytest.fixture
async def call(root: Path):
    async with connect(create_server(root)) as caller:
        yield caller


# --- happy paths -------------------------------------------------------------------------------------------


async def test_tools_are_annotated(call: ToolCaller) -> None:
    tools = {t.name: t for t in (await call.client.list_tools()).tools}
    assert set(tools) == {"list_files", "read_file", "write_file", "delete_path", "make_directory", "grep"}
    for name in ("list_files", "read_file", "grep"):
        assert tools[name].annotations.read_only_hint is True
    for name in ("write_file", "delete_path"):
        assert tools[name].annotations.destructive_hint is True
    assert "ctx" not in tools["read_file"].input_schema["properties"]
    assert tools["read_file"].input_schema["properties"]["path"]["description"]


async def test_write_creates_workspace_and_parents_then_reads_back(call: ToolCaller, root: Path) -> None:
    assert not root.exists()
    out = await call.ok("write_file", path="src/pkg/main.go", content="package main\n")
    assert "13 bytes" in out
    assert (root / "default/src/pkg/main.go").read_text() == "package main\n"
    assert await call.ok("read_file", path="src/pkg/main.go") == "package main\n"


async def test_append_and_overwrite_keep_permissions_and_leave_no_temp_files(call: ToolCaller, ws: Path) -> None:
    (ws / "run.sh").write_text("echo a\n")
    (ws / "run.sh").chmod(0o750)
    await call.ok("write_file", path="run.sh", content="echo b\n", append=True)
    assert (ws / "run.sh").read_text() == "echo a\necho b\n"
    await call.ok("write_file", path="run.sh", content="echo c\n")
    assert (ws / "run.sh").read_text() == "echo c\n"
    assert (ws / "run.sh").stat().st_mode & 0o777 == 0o750
    assert os.listdir(ws) == ["run.sh"]


async def test_write_refuses_a_directory_and_the_root(call: ToolCaller, ws: Path) -> None:
    (ws / "d").mkdir()
    assert "is a directory" in await call.error("write_file", path="d", content="x")
    assert "workspace directory" in await call.error("write_file", path=".", content="x")


async def test_read_is_bounded_and_says_how_to_continue(call: ToolCaller, ws: Path) -> None:
    (ws / "big.txt").write_text("".join(f"line {i}\n" for i in range(1, 1201)))
    first = await call.ok("read_file", path="big.txt")
    assert first.startswith("line 1\n") and "line 500\n" in first and "line 501\n" not in first
    assert first.endswith("[lines 1-500 of 1200; use start_line=501 to continue]")
    last = await call.ok("read_file", path="big.txt", start_line=1101, max_lines=500)
    assert last.startswith("line 1101\n") and last.endswith("[lines 1101-1200 of 1200]")
    assert "past the end" in await call.error("read_file", path="big.txt", start_line=5000)


async def test_read_caps_bytes_and_cuts_a_single_huge_line(call: ToolCaller, ws: Path) -> None:
    (ws / "wide.txt").write_text(("x" * 1000 + "\n") * 200)
    text = await call.ok("read_file", path="wide.txt", max_lines=5000)
    assert len(text.encode()) <= MAX_READ_BYTES + 200
    assert "[lines 1-65 of 200; use start_line=66 to continue]" in text
    (ws / "min.js").write_text("y" * (MAX_READ_BYTES * 3))
    cut = await call.ok("read_file", path="min.js")
    assert len(cut) < MAX_READ_BYTES + 200 and "was cut" in cut


async def test_read_describes_binary_files_and_empty_files(call: ToolCaller, ws: Path) -> None:
    (ws / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    text = await call.ok("read_file", path="logo.png")
    assert "binary file" in text and "image/png" in text and "116 B" in text and "IHDR" not in text
    (ws / "empty").write_text("")
    assert "empty file" in await call.ok("read_file", path="empty")
    assert "no such file" in await call.error("read_file", path="missing.txt")


async def test_read_refuses_a_fifo_without_hanging(call: ToolCaller, ws: Path) -> None:
    os.mkfifo(ws / "pipe")
    assert "not a regular file" in await call.error("read_file", path="pipe")


async def test_list_shows_kinds_sizes_and_links(call: ToolCaller, ws: Path) -> None:
    assert "workspace is empty" in await call.ok("list_files", conversation="fresh")
    (ws / "src/sub").mkdir(parents=True)
    (ws / "src/a.py").write_text("a" * 2048)
    (ws / "src/sub/b.py").write_text("b")
    (ws / "ln").symlink_to("src/a.py")
    top = await call.ok("list_files")
    assert top.splitlines() == [". (2 entries)", "ln -> src/a.py", "src/"]
    deep = await call.ok("list_files", path="src", recursive=True)
    assert deep.splitlines()[1:] == ["a.py (2.0 KB)", "sub/", "sub/b.py (1 B)"]
    assert "is a file" in await call.error("list_files", path="src/a.py")


async def test_list_caps_entries_and_counts_the_rest(call: ToolCaller, ws: Path) -> None:
    for i in range(30):
        (ws / f"f{i:02}").write_text("")
    text = await call.ok("list_files", max_entries=10)
    assert text.splitlines()[1] == "f00 (0 B)" and len(text.splitlines()) == 12
    assert text.endswith("[20 more entries omitted; list a subdirectory or raise max_entries]")


async def test_delete_files_empty_dirs_but_not_full_dirs_or_the_root(call: ToolCaller, ws: Path) -> None:
    (ws / "d/e").mkdir(parents=True)
    (ws / "d/f.txt").write_text("x")
    assert "not empty" in await call.error("delete_path", path="d")
    assert await call.ok("delete_path", path="d/f.txt") == "deleted d/f.txt"
    assert "empty directory" in await call.ok("delete_path", path="d/e")
    assert not (ws / "d/e").exists() and (ws / "d").exists()
    assert "cannot be deleted" in await call.error("delete_path", path=".")
    assert "cannot be deleted" in await call.error("delete_path", path="./")
    assert "no such file" in await call.error("delete_path", path="nope")
    assert ws.is_dir()


async def test_delete_removes_an_inside_symlink_not_its_target(call: ToolCaller, ws: Path) -> None:
    (ws / "real.txt").write_text("keep")
    (ws / "alias").symlink_to("real.txt")
    assert "target was not touched" in await call.ok("delete_path", path="alias")
    assert (ws / "real.txt").read_text() == "keep" and not (ws / "alias").is_symlink()


async def test_make_directory(call: ToolCaller, ws: Path) -> None:
    await call.ok("make_directory", path="a/b/c")
    assert (ws / "a/b/c").is_dir()
    await call.ok("make_directory", path="a/b/c")
    (ws / "file").write_text("")
    assert "is a file" in await call.error("make_directory", path="file/x")


async def test_grep_reports_file_and_line(call: ToolCaller, ws: Path) -> None:
    (ws / "src").mkdir()
    (ws / "src/a.go").write_text("package main\nfunc Main() {}\n")
    (ws / "src/b.py").write_text("def main():\n    pass\n")
    (ws / "blob.bin").write_bytes(b"main\x00main")
    text = await call.ok("grep", pattern=r"main")
    assert text.splitlines()[:2] == ["src/a.go:1: package main", "src/b.py:1: def main():"]
    assert "1 binary files" in text
    assert (await call.ok("grep", pattern="MAIN", ignore_case=True, glob="*.go")).splitlines()[:2] == [
        "src/a.go:1: package main",
        "src/a.go:2: func Main() {}",
    ]
    assert (await call.ok("grep", pattern="pass", path="src/b.py")).startswith("src/b.py:2:     pass")
    assert (await call.ok("grep", pattern="def", path="src")).startswith("src/b.py:1: def main():")
    assert "no matches" in await call.ok("grep", pattern="zebra")
    assert "no such file" in await call.error("grep", pattern="x", path="src/missing")
    assert "invalid regular expression" in await call.error("grep", pattern="(unclosed")


async def test_grep_caps_results_and_counts_the_rest(call: ToolCaller, ws: Path) -> None:
    (ws / "log.txt").write_text("hit\n" * 50)
    text = await call.ok("grep", pattern="hit", max_results=5)
    assert text.count("log.txt:") == 5
    assert "[50 matching line(s) in 1 file(s) searched]" in text
    assert "[45 more matches omitted; narrow the pattern, path or glob]" in text


# --- conversations -----------------------------------------------------------------------------------------


async def test_meta_selects_a_separate_workspace_per_conversation(call: ToolCaller, root: Path) -> None:
    await call.ok("write_file", conversation="conv-a", path="note.txt", content="from a")
    await call.ok("write_file", conversation="conv_b", path="note.txt", content="from b")
    await call.ok("write_file", path="note.txt", content="no meta")
    assert await call.ok("read_file", conversation="conv-a", path="note.txt") == "from a"
    assert await call.ok("read_file", conversation="conv_b", path="note.txt") == "from b"
    assert (root / "default/note.txt").read_text() == "no meta"
    assert "no such file" in await call.error("read_file", conversation="conv-c", path="note.txt")


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", "x" * 65, "dot.ted"])
async def test_invalid_conversation_ids_are_refused(call: ToolCaller, root: Path, bad: str) -> None:
    assert "invalid conversation id" in await call.error("write_file", conversation=bad, path="f", content="x")
    assert not any(root.parent.rglob("f"))


# --- attacks -----------------------------------------------------------------------------------------------

LEXICAL_ATTACKS = {
    "../outside/secret.txt": "'..' is not allowed",
    "a/../../outside/secret.txt": "'..' is not allowed",
    "/etc/passwd": "absolute paths are not allowed",
    "//etc/passwd": "absolute paths are not allowed",
    "secret\x00.txt": "NUL byte",
    "a/" * 600: "longer than 1024 characters",
    "a/" + "b" * 256: "longer than 255 bytes",
}
TOOLS_WITH_PATH = {
    "read_file": {},
    "write_file": {"content": "pwned"},
    "delete_path": {},
    "list_files": {},
    "grep": {"pattern": "secret"},
    "make_directory": {},
}


@pytest.mark.parametrize("tool", TOOLS_WITH_PATH)
@pytest.mark.parametrize("path", LEXICAL_ATTACKS)
async def test_lexical_attacks_are_refused(call: ToolCaller, ws: Path, outside: Path, tool: str, path: str) -> None:
    message = await call.error(tool, path=path, **TOOLS_WITH_PATH[tool])
    assert LEXICAL_ATTACKS[path] in message and SECRET not in message
    assert (outside / "secret.txt").read_text() == SECRET and os.listdir(outside) == ["secret.txt"]


@pytest.mark.parametrize("tool", TOOLS_WITH_PATH)
@pytest.mark.parametrize("path", ["out", "out/secret.txt", "out/new/file.txt", "secret_link", "deep/link/secret.txt"])
async def test_symlink_escapes_are_refused(
    call: ToolCaller, ws: Path, outside: Path, tool: str, path: str
) -> None:
    (ws / "out").symlink_to(outside)
    (ws / "secret_link").symlink_to(outside / "secret.txt")
    (ws / "deep").mkdir()
    (ws / "deep/link").symlink_to("../out")  # a chain of links: inside, then out
    message = await call.error(tool, path=path, **TOOLS_WITH_PATH[tool])
    assert "outside the workspace through a symlink" in message and SECRET not in message
    assert (outside / "secret.txt").read_text() == SECRET and os.listdir(outside) == ["secret.txt"]
    assert (ws / "out").is_symlink() and (ws / "secret_link").is_symlink()


async def test_walks_never_follow_links_out(call: ToolCaller, ws: Path, outside: Path) -> None:
    (ws / "out").symlink_to(outside)
    (ws / "secret_link").symlink_to(outside / "secret.txt")
    (ws / "mine.txt").write_text("my secret")
    text = await call.ok("grep", pattern="secret")
    assert text.splitlines()[0] == "mine.txt:1: my secret" and SECRET not in text
    assert "1 symlinks or unreadable files" in text
    listing = await call.ok("list_files", recursive=True)
    assert "secret.txt" not in listing.replace(f"{outside}/secret.txt", "")


async def test_inside_symlinks_still_work(call: ToolCaller, ws: Path) -> None:
    (ws / "real/sub").mkdir(parents=True)
    (ws / "real/sub/f.txt").write_text("inside")
    (ws / "alias").symlink_to("real")
    assert await call.ok("read_file", path="alias/sub/f.txt") == "inside"
    await call.ok("write_file", path="alias/sub/g.txt", content="via link")
    assert (ws / "real/sub/g.txt").read_text() == "via link"


async def test_a_link_swapped_in_after_the_check_is_refused(
    call: ToolCaller, ws: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulate the race: containment was checked, then a component became a symlink before open.

    Paths go through an inside link ("in" -> the workspace itself), so they take the resolving path (parts), which
    this test replaces by one that returns the planted links, as if they had been swapped in after the check.
    """
    (ws / "evil_file").symlink_to(outside / "secret.txt")
    (ws / "evil_dir").symlink_to(outside)
    (ws / "in").symlink_to(".")
    planted = {"in/f": ("evil_file",), "in/d/secret.txt": ("evil_dir", "secret.txt"), "in/d/x": ("evil_dir", "x")}
    monkeypatch.setattr(_paths.Workspace, "parts", lambda self, path, follow_last=True: planted[path])
    assert "symlink appeared" in await call.error("read_file", path="in/f")
    assert "symlink appeared" in await call.error("read_file", path="in/d/secret.txt")
    assert "symlink appeared" in await call.error("write_file", path="in/d/x", content="pwned")
    assert "symlink appeared" in await call.error("list_files", path="in/d/secret.txt")
    assert "symlink appeared" in await call.error("write_file", path="in/f", content="pwned")
    assert "symlink appeared" in await call.error("write_file", path="in/f", content="pwned", append=True)
    assert (outside / "secret.txt").read_text() == SECRET and os.listdir(outside) == ["secret.txt"]


# --- real transports ---------------------------------------------------------------------------------------


async def test_stdio_subprocess(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_servers.workspace", "--root", str(tmp_path)],
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        meta = {"k2hub/conversation": "stdio-1"}
        result = await session.call_tool("write_file", {"path": "hello.txt", "content": "hi"}, meta=meta)
        assert not result.is_error, result.content
        result = await session.call_tool("read_file", {"path": "hello.txt"}, meta=meta)
        assert result.content[0].text == "hi"
    assert (tmp_path / "stdio-1/hello.txt").read_text() == "hi"


async def test_streamable_http_subprocess(tmp_path: Path, http_server) -> None:
    url = http_server("mcp_servers.workspace", env={"K2HUB_WORKSPACE_ROOT": str(tmp_path)})
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool(
            "write_file", {"path": "web.txt", "content": "over http"}, meta={"k2hub/conversation": "web"}
        )
        assert not result.is_error, result.content
        listing = await session.call_tool("list_files", {}, meta={"k2hub/conversation": "web"})
        assert "web.txt (9 B)" in listing.content[0].text
    assert (tmp_path / "web/web.txt").read_text() == "over http"


def test_workspace_root_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("K2HUB_WORKSPACE_ROOT", raising=False)
    monkeypatch.setenv("K2HUB_HOME", str(tmp_path / "home"))
    assert _paths.workspace_root() == tmp_path / "home/workspaces"
    monkeypatch.setenv("K2HUB_WORKSPACE_ROOT", str(tmp_path / "ws"))
    assert _paths.workspace_root() == tmp_path / "ws"
    assert _paths.workspace_root(tmp_path / "cli") == tmp_path / "cli"
    assert workspace.create_server(tmp_path).name == "workspace"
