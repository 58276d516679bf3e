"""skills_hub server: every tool in memory, install from the workspace, errors as tool errors, real stdio and HTTP."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from mcp_servers.skills_hub.server import SKILL_META_KEY, create_server
from skills.registry import Registry
from storage.db import Database
from tests.mcp_servers.conftest import REPO, ToolCaller, connect

DATA = REPO / "tests/skills/data"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = tmp_path / "workspaces/conv-1"
    ws.mkdir(parents=True)
    shutil.copytree(DATA / "pdf-form-filler", ws / "pdf-form-filler")
    return tmp_path / "workspaces"


@pytest.fixture
async def call(db_url: str, root: Path):
    async with connect(create_server(db_url, root)) as caller:
        yield caller


async def test_tools_and_annotations(call: ToolCaller) -> None:
    tools = {t.name: t for t in (await call.client.list_tools()).tools}
    assert set(tools) == {"search_skills", "list_skills", "get_skill", "install_skill", "load_skill", "read_skill_file"}
    for name in set(tools) - {"install_skill"}:
        assert tools[name].annotations.read_only_hint is True, name
    assert tools["install_skill"].annotations.read_only_hint is False
    assert "ctx" not in tools["install_skill"].input_schema["properties"]


async def test_builtins_are_listed_and_searchable(call: ToolCaller) -> None:
    listing = await call.ok("list_skills")
    assert "financial-kpi-extraction@" in listing and "cobol-to-go-migration@" in listing
    found = await call.ok("search_skills", query="migrate this COBOL program to Go", limit=3)
    assert found.splitlines()[0].startswith("cobol-to-go-migration@")
    assert "no skill matches" in await call.ok("search_skills", query="zzzqqq")


async def test_install_from_workspace_then_load_and_read(call: ToolCaller) -> None:
    installed = await call.ok("install_skill", conversation="conv-1", path="pdf-form-filler")
    assert installed.startswith("installed pdf-form-filler@1.2.0 (4 files, sha256 ")
    again = await call.ok("install_skill", conversation="conv-1", path="pdf-form-filler")
    assert "already installed" in again
    result = await call.client.call_tool("load_skill", {"name": "pdf-form-filler"})
    text = result.content[0].text
    assert text.startswith("skill: pdf-form-filler@1.2.0\n\n# PDF form filler")
    assert "read with read_skill_file: references/FIELDS.md, scripts/fill_form.py" in text
    assert result.meta[SKILL_META_KEY]["version"] == "1.2.0"
    fields = await call.ok("read_skill_file", name="pdf-form-filler", path="references/FIELDS.md")
    assert fields == (DATA / "pdf-form-filler/references/FIELDS.md").read_text()
    details = await call.ok("get_skill", name="pdf-form-filler")
    assert "license: Apache-2.0" in details and "allowed-tools: Bash(python:*) Read Write" in details
    assert "  scripts/list_fields.py (" in details and "  1.2.0 (latest) — folder" in details


async def test_install_absolute_bundle(call: ToolCaller, db_url: str, tmp_path: Path) -> None:
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        reg = Registry(other, builtin_dir=tmp_path / "none")
        reg.install_folder(DATA / "brand-guidelines")
        path = reg.export_bundle("brand-guidelines", None, tmp_path)
    finally:
        other.close()
    assert "installed brand-guidelines@1.0.0" in await call.ok("install_skill", path=str(path))
    logo = await call.ok("read_skill_file", name="brand-guidelines", path="assets/logo.svg")
    assert logo.startswith("<svg")


async def test_errors_are_actionable(call: ToolCaller, root: Path) -> None:
    assert "no skill named 'nope'" in await call.error("load_skill", name="nope")
    assert "has no file 'x.md'" in await call.error("read_skill_file", name="web-research", path="x.md")
    assert "installed versions: " in await call.error("get_skill", name="web-research", version="77.0.0")
    assert "'..' is not allowed" in await call.error("install_skill", conversation="conv-1", path="../x")
    assert "no such file or folder" in await call.error("install_skill", conversation="conv-1", path="absent")
    bad = root / "conv-1/bad-skill"
    bad.mkdir()
    (bad / "SKILL.md").write_text("---\nname: bad-skill\n---\n")
    assert "missing 'description'" in await call.error("install_skill", conversation="conv-1", path="bad-skill")


async def test_stdio_subprocess(tmp_path: Path, root: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_servers.skills_hub", "--root", str(root)],
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "K2HUB_HOME": str(tmp_path / "home")},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        meta = {"k2hub/conversation": "conv-1"}
        result = await session.call_tool("install_skill", {"path": "pdf-form-filler"}, meta=meta)
        assert not result.is_error, result.content
        loaded = await session.call_tool("load_skill", {"name": "pdf-form-filler"})
        assert loaded.content[0].text.startswith("skill: pdf-form-filler@1.2.0\n")
        assert loaded.meta[SKILL_META_KEY]["name"] == "pdf-form-filler"
    # The server used the app's database in the data home: the app sees what it installed.
    db = Database(f"sqlite:///{tmp_path / 'home/k2hub.db'}")
    try:
        assert Registry(db).get("pdf-form-filler").version == "1.2.0"
    finally:
        db.close()


async def test_streamable_http_subprocess(tmp_path: Path, http_server) -> None:
    url = http_server("mcp_servers.skills_hub", "--database-url", f"sqlite:///{tmp_path / 'web.db'}")
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        found = await session.call_tool("search_skills", {"query": "secure code review"})
        assert found.content[0].text.startswith("secure-code-review@")
