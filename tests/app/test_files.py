"""Workspace files for the UI: listing, the refusals of the file route's opener, and images under tool cards."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest
from gradio import ChatMessage

from agents.events import RunStarted, ToolCallFinished, ToolCallStarted
from app.ui import files
from app.ui.render import RunView

CID = "conv_1"


def _png(w: int = 4, h: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x10\x20\x30" * w for _ in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def ws(_isolated_home: Path) -> Path:
    root = _isolated_home / "workspaces" / CID
    (root / "browser").mkdir(parents=True)
    (root / "browser" / "screenshot-1.png").write_bytes(_png())
    (root / "notes.md").write_text("hello")
    os.utime(root / "notes.md", ns=(1_000_000_000, 1_000_000_000))  # the oldest
    (root / ".k2hub" / "output").mkdir(parents=True)
    (root / ".k2hub" / "output" / "stdout.txt").write_text("internal")
    (root / ".k2hub-abc.tmp").write_text("half written")
    (_isolated_home / "secret.txt").write_text("top secret")
    (root / "link.txt").symlink_to(_isolated_home / "secret.txt")
    (root / "outside").symlink_to(_isolated_home)
    return root


def test_list_files_newest_first_without_internals_or_symlinks(ws: Path) -> None:
    listed, total = files.list_files(CID)
    assert [f.path for f in listed] == ["browser/screenshot-1.png", "notes.md"]
    assert total == 2 and listed[1].size == 5
    assert files.list_files(CID, limit=1)[0][0].path == "browser/screenshot-1.png"
    assert files.list_files("no-such-conversation") == ([], 0)
    assert files.list_files("../etc") == ([], 0)
    assert files.list_files(None) == ([], 0)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../secret.txt", 403),
        ("browser/../../secret.txt", 403),
        ("/etc/passwd", 403),
        ("link.txt", 403),
        ("outside/secret.txt", 403),
        (".k2hub/output/stdout.txt", 403),
        ("missing.txt", 404),
        ("browser", 404),
        ("a\x00b", 403),
    ],
)
def test_open_file_refuses_anything_outside_the_workspace(ws: Path, path: str, status: int) -> None:
    with pytest.raises(files.Refused) as refused:
        files.open_file(CID, path)
    assert refused.value.status == status, str(refused.value)


def test_open_file_serves_a_workspace_file_and_other_ids_are_refused(ws: Path) -> None:
    fd, info = files.open_file(CID, "browser/screenshot-1.png")
    with os.fdopen(fd, "rb") as f:
        assert f.read() == _png() and info.st_size == len(_png())
    with pytest.raises(files.Refused) as refused:
        files.open_file("..", "secret.txt")
    assert refused.value.status == 404


def test_image_paths_found_in_tool_results() -> None:
    text = (
        "Screenshot of http://x/ saved in the workspace as browser/screenshot-20250101.png\n"
        "files created: chart.png (2.1 KB), /workspace/out/plot.JPG (1 KB), notes.md\n"
        "- analysis/dotplot_revenue.png (12 KB) http://example.com/logo.png chart.png"
    )
    assert files.image_paths(text) == [
        "browser/screenshot-20250101.png",
        "chart.png",
        "out/plot.JPG",
        "analysis/dotplot_revenue.png",
    ]  # a web address is not a workspace path


def test_show_images_adds_existing_images_under_their_card_only(ws: Path) -> None:
    view = RunView()
    view.apply(RunStarted(run_id="r", conversation_id=CID, provider="p", model="m"))
    for call in ("a", "b", "c"):
        view.apply(ToolCallStarted(call_id=call, name="browser__screenshot", arguments={}))
    view.apply(
        ToolCallFinished(
            call_id="b",
            name="browser__screenshot",
            duration_s=0.1,
            preview="saved in the workspace as browser/screenshot-1.png and missing.png",
        )
    )
    files.show_images(view.messages, view.conversation_id, "b")
    files.show_images(view.messages, view.conversation_id, "b")  # idempotent
    contents = [str(m.content) for m in view.messages]
    assert len(contents) == 4 and contents[2].startswith(files.IMAGES_MARK)
    assert "/k2hub/files/conv_1/browser/screenshot-1.png?v=" in contents[2] and "missing.png" not in contents[2]
    # A result naming only missing or fake images, or a link escaping the workspace, adds nothing and never raises.
    (ws / "fake.png").write_text("not a png")
    view.apply(ToolCallFinished(call_id="c", name="x", duration_s=0.1, preview="fake.png link.txt ../secret.png"))
    before = len(view.messages)
    files.show_images(view.messages, view.conversation_id, "c")
    files.show_images(view.messages, None)
    files.show_images([ChatMessage(content="x", metadata={"id": "z", "status": "done"})], "bad id!")
    assert len(view.messages) == before


def test_listing_html_escapes_names_and_links_each_file(ws: Path) -> None:
    (ws / "<b>odd & name>.txt").write_text("x")
    body, total = files.listing_html(CID)
    assert total == 3 and "&lt;b&gt;odd &amp; name&gt;.txt" in body and "<b>odd" not in body
    assert body.count("class='k2-ws-download'") == 3 and "k2-ws-thumb" in body
    assert "/k2hub/files/conv_1/%3Cb%3Eodd%20%26%20name%3E.txt?v=" in body
    assert files.listing_html(None) == (files.EMPTY, 0)
