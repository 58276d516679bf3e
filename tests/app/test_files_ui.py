"""The Files panel end to end: a scripted run writes a CSV (workspace server) and draws a PNG (sandbox); the panel
lists both, downloads return the exact bytes, the chart shows inline in the chat, and nothing outside the
conversation's workspace is served."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn
from tests.mcp_servers.sandbox_support import requires_sandbox

pytestmark = [
    pytest.mark.slow,
    requires_chromium,
    requires_sandbox,
]

CSV = "company,year,revenue\nAcme,2023,120.5\nAcme,2024,131.0\nGlobex,2024,98.25\n"
# A 96x64 RGB gradient written with the standard library only (the sandbox has no Pillow).
PNG_CODE = """\
import struct, zlib
w, h = 96, 64
rows = b"".join(b"\\x00" + bytes(v for x in range(w) for v in (x * 255 // w, y * 255 // h, 160)) for y in range(h))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
open("chart.png", "wb").write(png)
print("drew chart.png", len(png), "bytes")
"""
ANSWER = "The table is in data/table.csv and the chart in chart.png."


def _get(url: str) -> tuple[int, bytes, dict[str, str]]:
    """GET a path exactly as written (no client-side '..' normalisation): status, body, headers."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def test_files_panel_lists_previews_and_downloads_workspace_files(
    fake_k2: FakeK2Server,
    app_url: str,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    from playwright.sync_api import expect

    fake_k2.enqueue(
        Turn(
            reasoning="Save the table first.",
            tool_calls=[ToolCall("workspace__write_file", {"path": "data/table.csv", "content": CSV})],
        ),
        Turn(
            reasoning="Now draw the chart.",
            tool_calls=[ToolCall("sandbox__run_python", {"code": PNG_CODE, "timeout_s": 30})],
        ),
        Turn(content=ANSWER),
    )
    with chromium_page(app_url, height=1000, accept_downloads=True) as page:
        chat = page.locator("#k2-chat")
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        page.locator("#k2-prompt textarea").fill("Tabulate the revenue and chart it")
        page.locator("#k2-send").click()
        expect(chat.get_by_text(ANSWER)).to_be_visible(timeout=90_000)
        expect(page.locator("#k2-send")).to_be_visible(timeout=30_000)

        # The chart the sandbox drew shows inline under its tool card, really decoded by the browser.
        inline = chat.locator("img.k2-ws-inline[alt='chart.png']")
        expect(inline).to_be_visible(timeout=10_000)
        page.wait_for_function(
            "() => document.querySelector(\"img.k2-ws-inline[alt='chart.png']\").naturalWidth === 96"
        )

        # The Files panel: both files, newest first, image preview decoded.
        panel = page.locator("#k2-files")
        expect(panel).to_contain_text("Files (2)", timeout=10_000)
        panel.get_by_text("Files (2)").click()
        table = page.locator("#k2-files-list table")
        expect(table).to_be_visible()
        paths = table.locator("tbody tr td:first-child").all_inner_texts()
        assert paths == ["chart.png", "data/table.csv"], paths
        thumb = page.locator("#k2-files-list .k2-ws-thumb img[alt='chart.png']")
        expect(thumb).to_be_visible()
        page.wait_for_function(
            '() => document.querySelector("#k2-files-list .k2-ws-thumb img").naturalHeight === 64'
        )
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts_dir / "ui_files_panel.png"), full_page=True)

        # Downloads return the exact bytes the tools wrote.
        href = {p: table.locator("tr", has_text=p).locator("a.k2-ws-download").get_attribute("href") for p in paths}
        cid = re.fullmatch(r"/k2hub/files/([\w-]+)/chart\.png\?v=\d+", href["chart.png"] or "").group(1)  # type: ignore[union-attr]
        workspace = tmp_path / "home" / "workspaces" / cid
        status, body, headers = _get(app_url.rstrip("/") + href["data/table.csv"])
        assert status == 200 and body == CSV.encode() == (workspace / "data/table.csv").read_bytes()
        assert headers["content-disposition"].startswith("attachment")
        assert headers["x-content-type-options"] == "nosniff"
        status, png, headers = _get(app_url.rstrip("/") + href["chart.png"])
        assert status == 200 and png == (workspace / "chart.png").read_bytes() and png.startswith(b"\x89PNG")
        assert headers["content-type"] == "image/png"
        with page.expect_download() as got:
            table.locator("tr", has_text="data/table.csv").locator("a.k2-ws-download").click()
        assert Path(got.value.path()).read_bytes() == CSV.encode()
        assert got.value.suggested_filename == "table.csv"

        # Nothing outside this conversation's workspace is served: traversal, absolute paths, escaping
        # symlinks, another id, the app's internals.
        secret = tmp_path / "secret.txt"
        secret.write_text("top secret")
        (workspace / "escape.txt").symlink_to(secret)
        (workspace / "data" / "up").symlink_to(tmp_path)
        (workspace / ".k2hub").mkdir(exist_ok=True)
        (workspace / ".k2hub" / "state.json").write_text("{}")
        base = app_url.rstrip("/") + "/k2hub/files"
        for crafted in (
            f"{base}/{cid}/../../../secret.txt",
            f"{base}/{cid}/%2e%2e/%2e%2e/%2e%2e/secret.txt",
            f"{base}/{cid}/..%2f..%2f..%2fsecret.txt",
            f"{base}/{cid}//etc/passwd",
            f"{base}/{cid}/%2Fetc%2Fpasswd",
            f"{base}/{cid}/escape.txt",
            f"{base}/{cid}/data/up/secret.txt",
            f"{base}/%2e%2e/secret.txt",
            f"{base}/..%2fsecret.txt/x",
            f"{base}/{cid}/.k2hub/state.json",
            f"{base}/nope/secret.txt",
            f"{base}/a%00b/x",
            f"{base}/{cid}/a%00b",
        ):
            status, body, _ = _get(crafted)
            assert status in (403, 404), (crafted, status, body[:200])
            assert b"top secret" not in body and b"root:" not in body, crafted
        # The symlinks and internals are not listed either.
        page.locator("#k2-files-refresh").click()
        page.wait_for_timeout(500)
        assert table.locator("tbody tr td:first-child").all_inner_texts() == ["chart.png", "data/table.csv"]

        # The panel follows the conversation: empty in a new chat, back when the old one reopens.
        page.locator("#k2-new-chat").click()
        expect(page.locator("#k2-files-list")).to_contain_text("No files yet", timeout=10_000)
        page.locator("#k2-conversations label", has_text="Tabulate the revenue").click()
        expect(page.locator("#k2-files-list table")).to_contain_text("data/table.csv", timeout=20_000)
        # The reopened chat shows the chart under its card again.
        expect(chat.locator("img.k2-ws-inline[alt='chart.png']")).to_be_visible(timeout=10_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts_dir / "ui_files_restored.png"), full_page=True)
