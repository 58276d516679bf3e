"""Link headers on the app's page: the browser fetches Gradio's first scripts while it parses the page config.

Gradio's page carries its config as an inline script placed before the page's script tags, and the browser finds those
tags only after it has parsed and run that script (for this app ~160 KB; on the bare Gradio page 16 KB). Traced on the
loaded 2 cores, the app's first script was requested ~250 ms after its page arrived (the bare app's: at once), and
the scripts that one imports before anything paints came after it. A `Link: <…>; rel=modulepreload` header reaches
the browser with the response's first bytes: the entry script and the modules it imports first (the list Vite wrote
into it) load while the config is parsed. Nothing else changes: the page's own tags load the same cached files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gradio as gr

FRONTEND = Path(gr.__file__).parent / "templates" / "frontend"
ENTRY = re.compile(r'<script type="module" crossorigin src="\./assets/([^"]+\.js)"')
STYLE = re.compile(r'<link rel="stylesheet" crossorigin href="\./assets/([^"]+\.css)"')
FIRST_IMPORTS = re.compile(r"m\.f=\[([^\]]*)\]")  # Vite's __vite__mapDeps list, at the top of the entry script


def preload_header(frontend: Path = FRONTEND) -> str:
    """The Link header value for Gradio's page (empty if this Gradio's page is not laid out as expected)."""
    try:
        page = (frontend / "index.html").read_text(encoding="utf-8")
        entry = ENTRY.search(page)
        if entry is None:
            return ""
        links = [f"<./assets/{entry.group(1)}>; rel=modulepreload"]
        if (style := STYLE.search(page)) is not None:
            links.append(f"<./assets/{style.group(1)}>; rel=preload; as=style; crossorigin")
        head = (frontend / "assets" / entry.group(1)).read_text(encoding="utf-8")[:8000]
    except OSError:
        return ""
    if (first := FIRST_IMPORTS.search(head)) is not None:
        links += [f"<./assets/{name}>; rel=modulepreload" for name in re.findall(r'"\./([^"/]+\.js)"', first.group(1))]
    return ", ".join(links)


class PagePreload:
    """ASGI middleware: adds the Link header to the app's page (GET / answered with HTML)."""

    def __init__(self, app: Any, header: str | None = None) -> None:
        self.app = app
        self.header = (preload_header() if header is None else header).encode("latin-1")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or scope.get("path") != "/" or not self.header:
            return await self.app(scope, receive, send)

        async def with_links(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 200:
                headers = list(message.get("headers", []))
                if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    message = {**message, "headers": [*headers, (b"link", self.header)]}
            await send(message)

        await self.app(scope, receive, with_links)
