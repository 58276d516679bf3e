"""Tools per chat: a conversation offers the model only the tools it has on (its choice, else its kind's default),
and a call of a switched-off tool is refused, not run (the attack: a model calling a tool the user switched off)."""

from __future__ import annotations

from agents.planner.runner import Agent, RunRequest
from agents.policy import tool_choice
from storage import chat_tools, repo
from tests.agents.conftest import collect, of_type
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn


def _offered(request: dict) -> set[str]:
    return {t["function"]["name"] for t in request.get("tools") or []}


def test_defaults_follow_the_kind_and_the_planner_context_tools_stay_on() -> None:
    assert "cobol" in tool_choice.DEFAULT_OFF["chat"] and "browser" in tool_choice.DEFAULT_OFF["cobol"]
    assert tool_choice.is_on("workspace__read_file", {"browser"})
    assert not tool_choice.is_on("browser__open", {"browser"})
    assert not tool_choice.is_on("workspace__delete_path", {"workspace__delete_path"})
    assert tool_choice.is_on("context__read_artifact", {"context", "context__read_artifact"})


async def test_switched_off_tools_are_not_offered_and_a_call_of_one_is_refused(
    agent: Agent, fake_k2: FakeK2Server
) -> None:
    cid = repo.create_conversation(agent.db, "tools per chat").id
    fake_k2.enqueue(Turn(content="first"))
    await collect(agent.run(RunRequest(prompt="hi", conversation_id=cid)))
    everything = _offered(fake_k2.requests[-1])
    assert "workspace__write_file" in everything and "toolbox__echo" in everything
    assert not any(n.startswith("cobol__") for n in everything)  # a chat's default set has no COBOL tools

    chat_tools.set_switched_off(agent.db, cid, ["toolbox", "workspace__write_file"])
    fake_k2.enqueue(
        Turn(reasoning="Write it anyway.", tool_calls=[ToolCall("workspace__write_file", {"path": "x.txt",
                                                                                        "content": "x"})]),
        Turn(content="done"),
    )
    events = await collect(agent.run(RunRequest(prompt="write x.txt", conversation_id=cid)))
    offered = _offered(fake_k2.requests[-2])
    assert "workspace__read_file" in offered
    assert "workspace__write_file" not in offered and not any(n.startswith("toolbox__") for n in offered)
    (finished,) = of_type(events, "tool_call_finished")
    assert finished.error and "workspace__write_file" in finished.error
    assert not (agent.config.workspace_root / cid / "x.txt").exists()
