"""'Save as skill': the model drafts a SKILL.md from a stored conversation (fake K2 over HTTP, real SQLite)."""

from __future__ import annotations

from agents.workflows import skill_drafter
from agents.planner.runner import Agent, RunRequest
from skills import skillmd
from storage import repo
from tests.agents.conftest import collect
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn

DRAFT = """\
---
name: note-keeper
description: Save a short note in the workspace and read it back to confirm. Use when the user asks to remember text.
license: Apache-2.0
metadata:
  version: "1.0.0"
---
# Note keeper

## When to use
The user wants a note saved.

## Tools
- `workspace__write_file` — write the note.

## Steps
1. Write the note with `workspace__write_file`.

## Pitfalls
- `workspace__read_file` fails on a file that does not exist yet: write first.

## Output
One sentence naming the file.
"""


async def _noted_conversation(agent: Agent, fake_k2: FakeK2Server) -> str:
    fake_k2.enqueue(
        Turn(reasoning="Read first.", tool_calls=[ToolCall("workspace__read_file", {"path": "missing.txt"})]),
        Turn(
            reasoning="Write it.", tool_calls=[ToolCall("workspace__write_file", {"path": "n.txt", "content": "milk"})]
        ),
        Turn(content="Saved n.txt."),
    )
    events = await collect(agent.run(RunRequest(prompt="Remember to buy milk")))
    assert events[-1].reason == "done", events[-1]
    return events[0].conversation_id


async def test_draft_from_a_conversation_sends_steps_tools_and_pitfalls(agent: Agent, fake_k2: FakeK2Server) -> None:
    conversation = await _noted_conversation(agent, fake_k2)
    fake_k2.reset()
    fake_k2.enqueue(Turn(content=f"Here is the skill:\n\n```markdown\n{DRAFT}```"))

    draft = await skill_drafter.draft_for_conversation(agent, conversation)

    assert draft.error is None and draft.name == "note-keeper"
    assert skillmd.parse(draft.text).description.startswith("Save a short note")
    assert draft.text.startswith("---\nname: note-keeper") and "```" not in draft.text
    assert draft.model.endswith("kimi-k2-thinking") and draft.prompt_tokens > 0
    # One model call, no tools offered, the transcript inside it.
    assert len(fake_k2.requests) == 1 and not fake_k2.requests[0].get("tools")
    sent = fake_k2.requests[0]["messages"]
    assert "Agent Skills format" in sent[0]["content"]
    transcript = sent[1]["content"]
    assert "USER: Remember to buy milk" in transcript
    assert 'TOOL CALL workspace__write_file: {"path": "n.txt", "content": "milk"}' in transcript
    assert "FAILED TOOL RESULT workspace__read_file" in transcript  # the pitfall the model must mention
    assert "ASSISTANT: Saved n.txt." in transcript


async def test_an_invalid_draft_comes_back_with_the_reason(agent: Agent, fake_k2: FakeK2Server) -> None:
    conversation = await _noted_conversation(agent, fake_k2)
    fake_k2.enqueue(Turn(content=DRAFT.replace("name: note-keeper", "name: Note Keeper")))
    draft = await skill_drafter.draft_for_conversation(agent, conversation)
    assert draft.name == "Note" and draft.error and "skill name 'Note Keeper' is invalid" in draft.error
    assert "name: Note Keeper" in draft.text  # kept for the user to fix in the editor


async def test_an_empty_conversation_is_refused_without_a_model_call(agent: Agent, fake_k2: FakeK2Server) -> None:
    conversation = repo.create_conversation(agent.db, "empty")
    draft = await skill_drafter.draft_for_conversation(agent, conversation.id)
    assert draft.text == "" and "no messages yet" in (draft.error or "")
    assert fake_k2.requests == []


def test_clean_strips_fences_and_prose() -> None:
    assert skill_drafter.clean(f"```markdown\n{DRAFT}```") == DRAFT
    assert skill_drafter.clean(f"Sure! Here it is:\n{DRAFT}") == DRAFT
    assert skill_drafter.clean(DRAFT) == DRAFT
    # Code blocks inside the file survive; only the wrapping fence and the prose after it go.
    inner = DRAFT + "\n```python\nprint(1)\n```\n"
    assert skill_drafter.clean(f"Here:\n```md\n{inner}```\nHope this helps.") == inner


async def test_long_conversations_keep_start_and_end(agent: Agent) -> None:
    conversation = repo.create_conversation(agent.db, "long")
    run = repo.create_run(agent.db, conversation.id, "openai-compatible", "kimi-k2-thinking")
    rows = [{"role": "user", "content": "FIRST task"}]
    rows += [{"role": "assistant", "content": f"step {i} " + "x" * 1000} for i in range(60)]
    rows += [{"role": "assistant", "content": "LAST words"}]
    repo.append_messages(agent.db, conversation.id, run.id, rows)
    text = skill_drafter.transcript(agent.db, conversation.id, max_chars=8_000)
    assert len(text) < 8_200 and "FIRST task" in text and "LAST words" in text and "left out" in text
