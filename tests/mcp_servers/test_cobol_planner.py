"""A scripted COBOL→Go session end to end through the real planner: the fake K2 server calls the cobol server's tools
(analyze, add the runtime), writes the Go files, runs go test, and verifies the translation: the module passes its
tests and the differential run says EQUAL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.planner.runner import Agent, RunRequest
from storage import chat_tools, repo
from tests.agents.conftest import agent_config, collect, fake_k2  # noqa: F401 - fixture used by name
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn
from tests.mcp_servers.cobol_support import (
    course_workspace,
    requires_cobc,
    requires_data,
    requires_go,
    translation_turns,
)
from tests.mcp_servers.sandbox_support import GO_CACHE, requires_sandbox

pytestmark = [requires_sandbox, requires_cobc, requires_go, requires_data]


@pytest.fixture
async def cobol_agent(
    _isolated_home: Path,
    fake_k2: FakeK2Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Agent]:
    monkeypatch.setenv("K2HUB_GO_CACHE", str(GO_CACHE))  # the warmed test cache, passed on to built-in servers
    opened = await Agent.open(
        agent_config(_isolated_home, fake_k2.url), database_url=f"sqlite:///{_isolated_home}/k2hub.db"
    )
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_scripted_session_generates_a_module_that_tests_and_verifies_equal(
    cobol_agent: Agent,
    fake_k2: FakeK2Server,  # noqa: F811
    _isolated_home: Path,
) -> None:
    conversation = repo.create_conversation(cobol_agent.db, "Migrate CBL0001").id
    chat_tools.set_switched_off(cobol_agent.db, conversation, [])  # a plain chat: the user switched COBOL tools on
    ws = _isolated_home / "workspaces" / conversation
    inputs = course_workspace(ws, "CBL0001")
    fake_k2.enqueue(
        Turn(reasoning="Map the project first.", tool_calls=[ToolCall("cobol__analyze_project", {"path": "."})]),
        *translation_turns("cobol/CBL0001.cobol", inputs),
        Turn(content="CBL0001: equal; tests pass."),
    )
    events = await collect(cobol_agent.run(RunRequest(prompt="Migrate CBL0001 to Go", conversation_id=conversation)))
    finished = events[-1]
    assert finished.type == "run_finished" and finished.reason == "done", finished
    results = {e.name: e for e in events if e.type == "tool_call_finished"}
    assert not any(e.error for e in results.values()), [(e.name, e.error) for e in results.values() if e.error]
    tool_texts = [m["content"] for m in fake_k2.requests[-1]["messages"] if m["role"] == "tool"]
    analysis, runtime, *_writes, go_test, verify = tool_texts
    assert "CBL0001 (cobol/CBL0001.cobol" in analysis and "file ACCT-REC assign ACCTREC" in analysis
    assert "cobolrt copied into go/cbl0001/cobolrt" in runtime
    assert "go test: 2 package(s) passed, 0 failed" in go_test or "1 package(s) passed, 0 failed" in go_test, go_test
    assert verify.startswith("verify CBL0001 vs Go in go/cbl0001: EQUAL"), verify
    assert (ws / "go" / "cbl0001" / "Dockerfile").is_file() and (ws / "go" / "cbl0001" / "cobolrt").is_dir()
