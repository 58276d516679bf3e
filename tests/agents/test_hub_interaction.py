"""What servers say to the hub mid-call: questions for the user (elicitation), progress, logs, roots; and who the
hub says it is."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from agents.events import ElicitationRequested
from agents.hub.config import ServerConfig
from agents.hub.connection import Services
from agents.hub.elicitation import Answer, Question
from agents.hub.hooks import CallHooks, client_info
from agents.hub.hub import Hub
from agents.planner.runner import Agent, RunRequest
from tests.agents.conftest import agent_config, of_type, toolbox_server, write_mcp_json
from tests.fakes.k2_server import FakeK2Server
from tests.fakes.k2_wire import ToolCall, Turn

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    toolbox = ServerConfig(name="tb", command=sys.executable, args=["-m", "tests.agents.hub_servers.toolbox"],
                           cwd=str(ROOT))
    root = tmp_path_factory.mktemp("workspaces")
    async with Hub([toolbox], default_timeout_s=20, services=Services(workspace_root=root)) as h:
        yield h


@pytest.mark.asyncio(loop_scope="module")
async def test_the_hub_introduces_itself_as_k2hub(hub: Hub) -> None:
    result = await hub.call("tb__client", {})
    assert result.text == f"k2hub/{client_info().version}" and client_info().version


@pytest.mark.asyncio(loop_scope="module")
async def test_elicitation_is_answered_by_the_calls_hook_and_declined_without_one(hub: Hub) -> None:
    asked: list[Question] = []

    async def answer(question: Question) -> Answer:
        asked.append(question)
        return Answer("accept", {"name": "Ada", "seats": 3, "cabin": "business", "window": False})

    booked = await hub.call("tb__book", {}, hooks=CallHooks(on_elicit=answer))
    assert booked.text == "booked 3 business seat(s) for Ada, window=False"
    assert asked[0].server == "tb" and asked[0].message == "Who is travelling?"
    assert {f.name: f.default for f in asked[0].fields} == {"name": None, "seats": 2, "cabin": "economy", "window": True}
    assert (await hub.call("tb__book", {})).text == "not booked: decline"


@pytest.mark.asyncio(loop_scope="module")
async def test_the_calls_timeout_stops_while_the_user_answers(hub: Hub) -> None:
    async def slow_user(question: Question) -> Answer:
        await asyncio.sleep(1.5)  # longer than the call's whole timeout
        return Answer("decline")

    result = await hub.call("tb__book", {}, timeout_s=1.0, hooks=CallHooks(on_elicit=slow_user))
    assert not result.is_error and result.text == "not booked: decline"


@pytest.mark.asyncio(loop_scope="module")
async def test_progress_and_log_messages_reach_the_call(hub: Hub) -> None:
    progress: list[tuple[float, float | None, str | None]] = []
    logs: list[tuple[str, object]] = []
    hooks = CallHooks(on_progress=lambda *p: progress.append(p), on_log=lambda lvl, _l, data: logs.append((lvl, data)))
    assert (await hub.call("tb__steps", {"count": 2}, hooks=hooks)).text == "2 steps done"
    assert progress == [(1, 2, "step 1 of 2"), (2, 2, "step 2 of 2")]
    assert logs == [("info", "finished step 1"), ("info", "finished step 2")]
    assert any("finished step 2" in line for line in hub.status()[0].log_tail)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_conversation_workspace_is_offered_as_root(hub: Hub) -> None:
    result = await hub.call("tb__roots", {}, hooks=CallHooks(conversation="conv1"))
    root = hub.services.workspace_root
    assert root is not None and result.structured == {"result": [(root / "conv1").resolve().as_uri()]}


@pytest_asyncio.fixture
async def agent(_isolated_home: Path, fake_k2: FakeK2Server) -> AsyncIterator[Agent]:
    """An agent with the toolbox, trusted (its results do not taint: no approvals in between)."""
    write_mcp_json(_isolated_home, {"toolbox": {**toolbox_server(), "trusted": True}})
    opened = await Agent.open(agent_config(_isolated_home, fake_k2.url, builtin=[]),
                              database_url=f"sqlite:///{_isolated_home}/k2hub.db")
    yield opened
    await opened.aclose()


async def test_planner_turns_a_question_into_an_event_and_the_answer_into_the_result(
        agent: Agent, fake_k2: FakeK2Server) -> None:
    fake_k2.enqueue(Turn(reasoning="b", tool_calls=[ToolCall("toolbox__book", {})]),
                    Turn(reasoning="s", tool_calls=[ToolCall("toolbox__steps", {"count": 2})]), Turn(content="done"))
    events = []
    async for event in agent.run(RunRequest(prompt="book me a seat")):
        events.append(event)
        if isinstance(event, ElicitationRequested):
            assert event.form["properties"]["seats"]["default"] == 2
            agent.answer(event.question_id, "accept", {"name": "Grace", "seats": "1", "cabin": "economy",
                                                       "window": "yes"})
    assert events[-1].reason == "done"
    [asked] = of_type(events, "elicitation_requested")
    assert asked.name == "toolbox__book" and asked.server == "toolbox"
    finished = of_type(events, "tool_call_finished")
    assert finished[0].preview == "booked 1 economy seat(s) for Grace, window=True"
    assert [(p.progress, p.total) for p in of_type(events, "tool_call_progress")] == [(1, 2), (2, 2)]
    assert [log.text for log in of_type(events, "tool_call_log")] == ["finished step 1", "finished step 2"]
