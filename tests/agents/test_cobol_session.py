"""A COBOL→Go refactoring session end to end through the real planner and the fake K2 server: analysis, a drafted plan
the user edits, a crash between stages, then generation and differential verification of CBL0001 (the scripted model
writes the hand-written fixture translation); the per-program row ends 'equal' with go test passing."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.workflows import cobol_session
from agents.planner.runner import Agent
from storage import cobol_sessions, repo
from tests.agents.conftest import agent_config, collect, fake_k2  # noqa: F401 - fixture used by name
from tests.fakes.k2_server import FakeK2Server, Turn
from tests.mcp_servers.cobol_support import COURSE, requires_cobc, requires_data, requires_go, translation_turns
from tests.mcp_servers.sandbox_support import GO_CACHE, requires_sandbox

pytestmark = [pytest.mark.slow, requires_sandbox, requires_cobc, requires_go, requires_data]

PLAN = """# Migration plan

## Go packages
- `go/cbl0001`, module `example.com/cbl0001`: CBL0001, prints one line per account.

## Paragraph → function mapping
| Program | Paragraph / section | Go function | Notes |
|---|---|---|---|
| CBL0001 | WRITE-RECORD | writeRecord | |

## Data structures
### CBL0001 ACCT-FIELDS
| Field | PIC / usage | Offset | Length | Go type / cobolrt |
|---|---|---|---|---|
| ACCT-LIMIT | S9(7)V99 COMP-3 | 8 | 5 | cobolrt.Dec |

## File I/O
| Program | File (ASSIGN) | Organisation | Record length | Go I/O |
|---|---|---|---|---|
| CBL0001 | ACCTREC | sequential | 170 | cobolrt.OpenRecords |

## Verification
| Program | COBOL source | Inputs (DD → workspace file) | Output DDs | stdin |
|---|---|---|---|---|
| CBL0001 | project/CBL0001.cobol | ACCTREC → project/data/ACCTREC.in | PRTLINE | |
"""
EDIT = "Reviewer note: keep the trailing spaces of every PRTLINE record."


def course_project(dest: Path) -> Path:
    """A small COBOL project folder: CBL0001 and its sample input."""
    (dest / "data").mkdir(parents=True)
    shutil.copyfile(COURSE / "cbl-gnucobol" / "CBL0001.cobol", dest / "CBL0001.cobol")
    shutil.copyfile(COURSE / "triples" / "CBL0001" / "ACCTREC.in", dest / "data" / "ACCTREC.in")
    return dest


def generation_turns() -> list[Turn]:
    """What the scripted model does with the plan: the fixture translation, its tests, go test, cobol__verify."""
    return [
        *translation_turns("project/CBL0001.cobol", {"ACCTREC": "project/data/ACCTREC.in"}),
        Turn(content="CBL0001: equal; go test passes; 52 lines translated."),
    ]


@pytest.fixture
async def open_agent(
    _isolated_home: Path,
    fake_k2: FakeK2Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator:
    """Opens Agents on the same home and database (a second one plays the restarted process); closes them all."""
    monkeypatch.setenv("K2HUB_GO_CACHE", str(GO_CACHE))
    opened: list[Agent] = []

    async def opener() -> Agent:
        agent = await Agent.open(
            agent_config(_isolated_home, fake_k2.url), database_url=f"sqlite:///{_isolated_home}/k2hub.db"
        )
        opened.append(agent)
        return agent

    try:
        yield opener
    finally:
        for agent in opened:
            await agent.aclose()


async def test_session_plans_edits_survives_a_restart_and_verifies_equal(
    open_agent,
    fake_k2: FakeK2Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    agent = await open_agent()
    session = await cobol_session.start(agent, course_project(tmp_path / "omp"))
    assert session.stage == "analyzed" and session.analysis["summary"]["programs"] == 1
    (row,) = cobol_sessions.programs(agent.db, session.id)
    assert (row.program, row.verify, row.lines) == ("CBL0001", "not-compared", row.lines) and row.lines > 40
    assert cobol_session.next_step(session) == "plan"

    # Stage 2: the plan is one planner run whose prompt carries the analysis; its answer becomes the session plan.
    fake_k2.enqueue(Turn(reasoning="The analysis shows one program.", content=PLAN))
    events = await collect(cobol_session.plan(agent, session.id))
    assert events[-1].type == "run_finished" and events[-1].reason == "done", events[-1]
    plan_prompt = fake_k2.requests[-1]["messages"][-1]["content"]
    assert "# Migration plan" in plan_prompt and "CBL0001 (CBL0001.cobol" in plan_prompt
    assert "file ACCT-REC assign ACCTREC" in plan_prompt
    stored = cobol_sessions.get_session(agent.db, session.id)
    assert stored.stage == "planned" and stored.plan.strip() == PLAN.strip()
    workspace = cobol_session.workspace(agent, session.conversation_id)
    assert (workspace / "migration" / "plan.md").read_text().strip() == PLAN.strip()

    # The process dies between stages; a new one finds the session where it was.
    await agent.aclose()
    agent = await open_agent()
    stored = cobol_sessions.get_session(agent.db, session.id)
    assert stored.stage == "planned" and cobol_session.next_step(stored) == "generate"

    edited = PLAN.replace("## File I/O", f"{EDIT}\n\n## File I/O")
    await cobol_session.save_plan(agent, session.id, edited)
    requests_before = len(fake_k2.requests)
    fake_k2.enqueue(*generation_turns())
    events = await collect(cobol_session.advance(agent, session.id))
    finished = events[-1]
    assert finished.type == "run_finished" and finished.reason == "done", finished
    errors = [(e.name, e.error) for e in events if e.type == "tool_call_finished" and e.error]
    assert not errors, errors

    # The generation run received the edited plan (and the skill's procedure), not the drafted one alone.
    generation = fake_k2.requests[requests_before]["messages"][-1]["content"]
    assert EDIT in generation and "<plan>" in generation and "cobol__verify" in generation
    assert "Differential verification" in generation or "## Loop" in generation

    stored = cobol_sessions.get_session(agent.db, session.id)
    assert stored.stage == "done" and stored.error is None and len(stored.run_ids) == 1
    (row,) = cobol_sessions.programs(agent.db, session.id)
    assert (row.verify, row.go_test_passed, row.go_dir, row.attempts) == ("equal", True, "go/cbl0001", 1)
    assert row.lines_translated == row.lines and row.go_lines > 20 and row.first_difference == ""
    assert row.tokens > 0
    report = cobol_session.report(agent, session.id)
    assert "**1 of 1 programs equal**" in report and "| CBL0001 | equal | passed |" in report

    # A session marked 'generating' whose run another process finished is closed from the stored steps, no model call.
    cobol_sessions.update_session(agent.db, session.id, stage="generating")
    cobol_sessions.save_programs(agent.db, session.id, {"CBL0001": {"verify": "not-compared", "attempts": 0}})
    calls = len(fake_k2.requests)
    assert await collect(cobol_session.advance(agent, session.id)) == []
    assert len(fake_k2.requests) == calls
    assert cobol_sessions.get_session(agent.db, session.id).stage == "done"
    (row,) = cobol_sessions.programs(agent.db, session.id)
    assert (row.verify, row.attempts) == ("equal", 1)
    assert repo.get_run(agent.db, stored.run_ids[0]).status == "done"


async def test_the_plan_file_is_never_written_through_a_planted_link(open_agent, tmp_path: Path) -> None:
    agent = await open_agent()
    conversation = repo.create_conversation(agent.db, "cobol").id
    session = cobol_sessions.create_session(agent.db, conversation, "project", str(tmp_path), {}, [])
    outside = tmp_path / "outside"
    outside.mkdir(mode=0o700)
    workspace = cobol_session.workspace(agent, conversation)
    workspace.mkdir(parents=True)
    (workspace / "migration").symlink_to(outside)  # what sandboxed code can do in its workspace
    with pytest.raises(cobol_session.ConfigError, match="could not be written"):
        await cobol_session.save_plan(agent, session.id, "# Plan\n")
    assert list(outside.iterdir()) == []
    assert cobol_sessions.get_session(agent.db, session.id).plan == "# Plan\n"  # the plan itself is kept
