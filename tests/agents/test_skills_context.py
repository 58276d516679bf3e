"""Progressive disclosure: relevant skills in the system prompt, load_skill through the hub, versions recorded."""

from __future__ import annotations

from pathlib import Path

from agents.workflows import skills_context
from agents.planner.runner import Agent, RunRequest
from skills.registry import Registry
from storage import repo
from storage.db import Database
from tests.agents.conftest import collect, of_type
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn
from tests.skills.test_builtin import EXPECTED

GREETER = """\
---
name: greeting-cards
description: Write greeting cards for birthdays and anniversaries in a warm tone.
license: Apache-2.0
metadata:
  version: "2.1.0"
---
# Greeting cards

Always sign the card with "Warmly". SECRET-MARKER-7 proves this body reached the model.
"""


def _db(home: Path) -> Database:
    return Database(f"sqlite:///{home}/k2hub.db")


def test_built_ins_are_installed_once_and_cheaply(_isolated_home: Path) -> None:
    db = _db(_isolated_home)
    skills_context.ensure_builtin(db)
    names = {v.name for v in Registry(db).list()}
    assert EXPECTED <= names
    skills_context.ensure_builtin(db)  # the second start installs nothing new
    assert all(len(Registry(db).versions(n)) == 1 for n in names)


def test_relevant_skills_match_the_request_by_name_or_description(_isolated_home: Path) -> None:
    db = _db(_isolated_home)
    skills_context.ensure_builtin(db)
    assert [h.name for h in skills_context.relevant(db, "Port this COBOL batch program to Go")] == [
        "cobol-to-go-migration"
    ]
    assert skills_context.relevant(db, "Review this Flask app for SQL injection")[0].name == "secure-code-review"
    # Words every skill body shares ('write', 'file') list nothing: no noise in everyday prompts.
    assert skills_context.relevant(db, "write and read a note") == []
    assert skills_context.relevant(db, "hello") == [] and skills_context.relevant(db, "   ") == []


def test_prompt_section_is_short_and_names_the_load_tool(_isolated_home: Path) -> None:
    db = _db(_isolated_home)
    skills_context.ensure_builtin(db)
    for i in range(8):
        text = GREETER.replace("greeting-cards", f"greeting-cards-{i}").replace("2.1.0", "1.0.0")
        Registry(db).save(f"greeting-cards-{i}", text)
    assert skills_context.relevant(db, "a birthday greeting card please") == []  # third-party: never in the prompt
    for i in range(8):
        Registry(db).set_trusted(f"greeting-cards-{i}")  # the user vouches for them
    hits = skills_context.relevant(db, "a birthday greeting card please")
    assert len(hits) == skills_context.MAX_LISTED
    section = skills_context.prompt_section(hits)
    assert "`skills_hub__load_skill`" in section and section.count("\n- greeting-cards-") == 5
    assert len(section) < 1500
    assert skills_context.prompt_section([]) == ""


def test_loaded_ref_reads_the_version_from_the_result_or_the_registry(_isolated_home: Path) -> None:
    db = _db(_isolated_home)
    Registry(db).save("greeting-cards", GREETER)
    load = skills_context.LOAD_TOOL
    assert skills_context.loaded_ref(
        db, load, {"name": "greeting-cards"}, "skill: greeting-cards@2.1.0\n\n# G", False
    ) == ("greeting-cards@2.1.0")
    assert skills_context.loaded_ref(db, load, {"name": "greeting-cards"}, "no header", False) == "greeting-cards@2.1.0"
    assert skills_context.loaded_ref(db, load, {"name": "greeting-cards"}, "unknown skill", True) is None
    assert skills_context.loaded_ref(db, load, {"name": "nope"}, "", False) is None
    assert skills_context.loaded_ref(db, "workspace__read_file", {"name": "greeting-cards"}, "", False) is None


async def test_run_lists_loads_and_records_a_skill(agent: Agent, fake_k2: FakeK2Server) -> None:
    Registry(agent.db).save("greeting-cards", GREETER)
    Registry(agent.db).set_trusted("greeting-cards")
    fake_k2.enqueue(
        Turn(reasoning="A skill fits.", tool_calls=[ToolCall("skills_hub__load_skill", {"name": "greeting-cards"})]),
        Turn(
            reasoning="Load it again (no duplicate record).",
            tool_calls=[ToolCall("skills_hub__load_skill", {"name": "greeting-cards"})],
        ),
        Turn(content="Happy birthday! Warmly, K2"),
    )
    events = await collect(agent.run(RunRequest(prompt="Write a birthday greeting card for Ana")))
    finished = events[-1]
    assert finished.reason == "done", finished
    system = fake_k2.requests[0]["messages"][0]
    assert system["role"] == "system" and "## Skills" in system["content"]
    assert "- greeting-cards (2.1.0): Write greeting cards for birthdays" in system["content"]
    assert "cobol-to-go-migration" not in system["content"]  # only the relevant few
    # The body reached the model as the tool result, with the version on its first line.
    tool_result = next(m for m in fake_k2.requests[1]["messages"] if m["role"] == "tool")
    assert (
        tool_result["content"].startswith("skill: greeting-cards@2.1.0") and "SECRET-MARKER-7" in tool_result["content"]
    )
    assert finished.skills_used == ["greeting-cards@2.1.0"]
    assert repo.get_run(agent.db, finished.run_id).skills_used == ["greeting-cards@2.1.0"]
    assert [e.name for e in of_type(events, "tool_call_finished")] == ["skills_hub__load_skill"] * 2


async def test_a_failed_load_records_nothing_and_no_skills_means_no_section(
    agent: Agent, fake_k2: FakeK2Server
) -> None:
    fake_k2.enqueue(
        Turn(reasoning="Try.", tool_calls=[ToolCall("skills_hub__load_skill", {"name": "no-such-skill"})]),
        Turn(content="Hi!"),
    )
    finished = (await collect(agent.run(RunRequest(prompt="hello there"))))[-1]
    assert finished.reason == "done" and finished.skills_used == []
    assert "## Skills" not in fake_k2.requests[0]["messages"][0]["content"]
    assert repo.get_run(agent.db, finished.run_id).skills_used in (None, [])


async def test_an_untrusted_skill_body_is_fenced_and_taints_the_conversation(
    agent: Agent, fake_k2: FakeK2Server
) -> None:
    # Installed from outside and not marked trusted: its text is data, like a web page, and risky calls then ask.
    Registry(agent.db).save("greeting-cards", GREETER)
    fake_k2.enqueue(
        Turn(reasoning="Load it.", tool_calls=[ToolCall("skills_hub__load_skill", {"name": "greeting-cards"})]),
        Turn(reasoning="It says to write.", tool_calls=[ToolCall("workspace__write_file",
                                                                 {"path": "card.txt", "content": "hi"})]),
        Turn(content="Done."),
    )
    events = await collect(agent.run(RunRequest(prompt="Write a birthday greeting card for Ana")))
    assert "greeting-cards (2.1.0)" not in fake_k2.requests[0]["messages"][0]["content"]
    tool_result = next(m for m in fake_k2.requests[1]["messages"] if m["role"] == "tool")["content"]
    assert tool_result.startswith('<untrusted-data source="skill greeting-cards@2.1.0 (not marked trusted)"')
    asked = of_type(events, "approval_requested")
    assert [a.name for a in asked] == ["workspace__write_file"] and "greeting-cards@2.1.0" in asked[0].reason
    assert events[-1].reason == "waiting"
