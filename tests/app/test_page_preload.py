"""The app's page names Gradio's first scripts in a Link header (app/ui/page_preload.py), and only the page does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.ui.page_preload import FRONTEND, PagePreload, preload_header


def test_the_header_names_the_entry_script_and_what_it_imports_first() -> None:
    header = preload_header()
    entry = re.search(r'src="\./assets/([^"]+\.js)"', (FRONTEND / "index.html").read_text(encoding="utf-8"))
    assert entry and header.startswith(f"<./assets/{entry.group(1)}>; rel=modulepreload")
    named = re.findall(r"<\./assets/([^>]+\.js)>; rel=modulepreload", header)
    assert len(named) > 5
    assert all((FRONTEND / "assets" / name).is_file() for name in named)  # each file exists in this Gradio


def test_a_gradio_laid_out_otherwise_gets_no_header(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html><script src='app.js'></script></html>")
    assert preload_header(tmp_path) == ""
    assert preload_header(tmp_path / "missing") == ""


@pytest.mark.parametrize(("path", "kind", "linked"), [("/", "text/html; charset=utf-8", True),
                                                       ("/config", "application/json", False),
                                                       ("/assets/x.js", "text/javascript", False),
                                                       ("/", "application/json", False)])
async def test_only_the_html_page_gets_the_header(path: str, kind: str, linked: bool) -> None:
    async def app(scope: dict, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", kind.encode())]})
        await send({"type": "http.response.body", "body": b"x"})

    sent: list[dict] = []

    async def record(message: dict) -> None:
        sent.append(message)

    await PagePreload(app, header="<./assets/a.js>; rel=modulepreload")(
        {"type": "http", "method": "GET", "path": path}, None, record)
    assert ((b"link", b"<./assets/a.js>; rel=modulepreload") in sent[0]["headers"]) is linked
    assert sent[1]["body"] == b"x"
