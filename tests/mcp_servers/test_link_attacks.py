"""Sandboxed code plants symlinks in its workspace (to a 0700 directory outside, to a root-only file, to another
conversation's workspace, into the venv's site-packages, and at the folders the servers write to), then every tool of
every built-in server is called with them, each path argument in turn, the tools found from list_tools' schemas.
Nothing outside may be created, changed or read."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from agents.hub.config import BUILTIN_SERVERS
from mcp_servers.pdf_reader.ingest import ingest_pdf
from storage import documents
from storage.db import Database
from storage.models import Conversation
from tests.helpers import requires_chromium
from tests.mcp_servers.conftest import ToolCaller, connect
from tests.mcp_servers.link_attack_support import attacks, leaked, plant
from tests.mcp_servers.pdf_support import text_pdf
from tests.mcp_servers.sandbox_support import requires_sandbox

VICTIM = "victim"
NEEDS = {"browser": [requires_chromium], "sandbox": [requires_sandbox], "cobol": [requires_sandbox]}


@asynccontextmanager
async def started(name: str, module: str, root: Path, db_url: str) -> AsyncIterator[tuple[ToolCaller, list[str]]]:
    """The server connected in memory, after the set-up that lets its writing tools get as far as writing."""
    create = importlib.import_module(f"{module}.server").create_server
    params = inspect.signature(create).parameters
    kwargs: dict[str, Any] = {"root": root}
    if "database_url" in params:
        kwargs["database_url"] = db_url
    if "env" in params:
        kwargs["env"] = None
    async with AsyncExitStack() as stack:
        if name == "browser":
            from mcp_servers.browser.guard import Guard, parse_rules
            from mcp_servers.browser.session import BrowserPool
            from tests.mcp_servers.browser_support import serve_site

            site = stack.enter_context(serve_site())
            pool = BrowserPool(Guard(parse_rules(f"127.0.0.1:{site.port}")), env={})
            stack.push_async_callback(pool.close)
            kwargs.update(env={}, pool=pool)
        call = await stack.enter_async_context(connect(create(**kwargs)))
        texts = [r.text for r in await _prepare(name, call, db_url, locals().get("site"))]
        yield call, texts


async def _prepare(name: str, call: ToolCaller, db_url: str, site: Any) -> list[Any]:
    """Analysis needs a ledger row before report writes files; the browser needs a page to save things from."""
    if name == "analysis":
        db = Database(db_url)
        try:
            with db.session() as s:
                s.merge(Conversation(id=VICTIM, title="victim"))
            pdf = Path(db_url.removeprefix("sqlite:///")).parent / "report.pdf"
            pdf.write_bytes(text_pdf(["Revenue 1,234"]))
            doc = ingest_pdf(db, pdf).document
            documents.attach(db, VICTIM, doc.id)
        finally:
            db.close()
        return [await call("record_kpi", VICTIM, company="X", fiscal_period="FY2022", metric="revenue", value="1,234",
                           scale="millions", currency="USD", document=doc.id, page=1, quote="Revenue 1,234")]
    if name == "browser":
        return [await call("open", VICTIM, url=f"{site.base}/long"), await call("snapshot", VICTIM, page=2),
                await call("download", VICTIM, url_or_ref=f"{site.base}/report.pdf")]
    return []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "module"), [pytest.param(n, m, marks=NEEDS.get(n, []), id=n) for n, m in BUILTIN_SERVERS]
)
async def test_planted_links_let_no_tool_reach_outside_the_workspace(
    name: str, module: str, tmp_path: Path, _isolated_home: Path
) -> None:
    root = tmp_path / "workspaces"
    targets, values = plant(tmp_path, root, VICTIM)
    before = targets.state()
    texts: list[str] = []
    calls = 0
    try:
        async with started(name, module, root, f"sqlite:///{_isolated_home}/k2hub.db") as (call, prepared):
            texts += prepared
            listed = await call.client.list_tools()
            assert listed.tools, name
            for tool in listed.tools:
                for args in attacks(tool.input_schema, values):
                    texts.append((await call(tool.name, VICTIM, **args)).text)
                    calls += 1
    finally:
        after = targets.state()
    assert after == before, f"{name}: something outside the workspace changed"
    assert not [t for t in texts if leaked(t)], f"{name}: a tool returned text from outside the workspace"
    assert calls >= len(listed.tools)
    refused = [t for t in texts if "refused" in t or "no such" in t.lower() or "symlink" in t]
    assert refused, f"{name}: no call met a planted link, so this attack tested nothing"
