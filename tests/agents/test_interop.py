"""Servers nobody here wrote, from npm through mcp.json, the way a user adds them: vetted, enabled, then used.

The versions are pinned (.ci/run puts them in npx's cache); a machine without them and without the npm registry
skips with the reason.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.hub import admin
from agents.hub.assembly import app_hub
from agents.hub.config import ServerConfig
from agents.hub.elicitation import Answer, Question
from agents.hub.hooks import CallHooks
from agents.hub.hub import Hub
from agents.policy.untrusted import is_untrusted_server

EVERYTHING = "@modelcontextprotocol/server-everything@2026.8.31"
PLAYWRIGHT = "@playwright/mcp@0.0.86"
SERVERS = Path(__file__).resolve().parent / "hub_servers"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("npx") is None, reason="Node.js/npx is not installed; .ci/run installs it"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed; .ci/run installs it"),
]


async def vet_and_enable(home: Path, name: str, args: list[str], cwd: Path | None = None) -> None:
    admin.add(home, name, command="npx", args=args)
    if cwd is not None:
        from agents.hub import mcp_file

        mcp_file.update(admin.mcp_json(home), name, cwd=str(cwd))
    report = await admin.vet_server(home, name)
    if not report.ok and any(w in (report.error or "") for w in ("npm could not download", "ENOTFOUND", "EAI_AGAIN")):
        pytest.skip(f"{args[1]} is not in npx's cache and the registry is unreachable: {report.error}")
    assert report.ok and report.errors == 0, (report.error, report.findings, report.stderr_tail)
    assert not [f for f in report.findings if f["kind"] == "poisoning"], report.findings
    record = await admin.enable(home, name)
    assert len(record.pins) == len(report.tools)


def fill(question: Question) -> Answer:
    """A user filling in every field of a form with something valid."""
    sample = {"string": "Ada", "integer": 7, "number": 2.5, "boolean": True}
    values = {}
    for f in question.fields:
        if f.default is not None:
            values[f.name] = f.default
        elif f.kind in ("choice", "multi"):
            values[f.name] = f.options[0][0] if f.kind == "choice" else [f.options[0][0]]
        elif f.fmt == "email":
            values[f.name] = "ada@example.org"
        elif f.fmt == "uri":
            values[f.name] = "https://example.org"
        elif f.fmt == "date":
            values[f.name] = "1815-12-10"
        else:
            values[f.name] = sample.get(f.kind, "x")
    return Answer("accept", values)


async def test_server_everything_elicitation_progress_resources_roots(_isolated_home: Path) -> None:
    await vet_and_enable(_isolated_home, "everything", ["-y", EVERYTHING])
    async with app_hub(_isolated_home, [], tool_timeout_s=60) as hub:
        assert hub.status()[0].state == "ready", hub.status()[0].error
        asked: list[Question] = []

        async def answer(question: Question) -> Answer:
            asked.append(question)
            return fill(question)

        form = await hub.call("everything__trigger-elicitation-request", {}, hooks=CallHooks(on_elicit=answer))
        assert not form.is_error and '"action": "accept"' in form.text and '"name": "Ada"' in form.text, form.text
        kinds = {f.kind for f in asked[0].fields}
        assert {"string", "boolean", "integer", "number", "choice", "multi"} <= kinds
        progress: list[float] = []
        done = await hub.call("everything__trigger-long-running-operation", {"duration": 1, "steps": 2},
                              hooks=CallHooks(on_progress=lambda p, _t, _m: progress.append(p)))
        assert not done.is_error and progress == [1, 2]
        links = await hub.call("everything__get-resource-links", {"count": 2})
        assert "[resource link demo://resource/" in links.text
        ref = await hub.call("everything__get-resource-reference", {"resourceType": "Text", "resourceId": 1})
        assert "Resource 1: This is a plaintext resource" in ref.text
        roots = await hub.call("everything__get-roots-list", {}, hooks=CallHooks(conversation="c42"))
        assert "workspaces/c42" in roots.text
        config, tool = hub.tool_info("everything__echo") or (None, None)
        # Its own readOnlyHint reaches the approval policy, which believes it only for trusted servers (issue 13).
        assert tool is not None and tool.annotations is not None and tool.annotations.read_only_hint is True
        assert config is not None and is_untrusted_server(config) and not config.trusted


async def test_tools_list_pagination_is_followed() -> None:
    async with Hub([ServerConfig(name="paged", command=sys.executable, args=[str(SERVERS / "paged.py")])], default_timeout_s=20) as hub:
        assert [t["function"]["name"] for t in hub.tools()] == [f"paged__t{i}" for i in range(7)]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<title>Interop page</title><h1>Served on loopback</h1>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium is not installed; .ci/run installs it")
async def test_playwright_mcp_as_an_alternative_browser(_isolated_home: Path, site: str, tmp_path: Path) -> None:
    args = ["-y", PLAYWRIGHT, "--executable-path", "/usr/bin/chromium", "--headless", "--isolated", "--no-sandbox"]
    (tmp_path / "pw").mkdir()
    await vet_and_enable(_isolated_home, "playwright", args, cwd=tmp_path / "pw")
    async with app_hub(_isolated_home, [], tool_timeout_s=90) as hub:
        assert hub.status()[0].state == "ready", hub.status()[0].error
        opened = await hub.call("playwright__browser_navigate", {"url": site})
        assert not opened.is_error and "Page Title: Interop page" in opened.text, opened.text
        snapshot = await hub.call("playwright__browser_snapshot", {})
        assert "Served on loopback" in snapshot.text or "Served on loopback" in str(snapshot.content)
        config = hub.tool_info("playwright__browser_navigate")
        assert config is not None and is_untrusted_server(config[0])  # its pages are untrusted content, like ours
