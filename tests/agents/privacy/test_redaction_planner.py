"""Privacy end to end: the fake K2 server never receives the seeded values; the user sees them; tools get them."""

from __future__ import annotations

import json
import logging
import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.planner.runner import Agent, RunRequest
from agents.privacy.session import PrivacyConfig
from storage import documents as store
from storage import redaction, repo
from tests.agents.conftest import agent_config, collect, of_type, run_approving
from tests.agents.privacy.seeded import CONFIG_FILE, PDF, RAW_VALUES, USER, digits_only
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn
from tests.mcp_servers.pdf_support import text_pdf

PROMPT = (f"Customer Jane: e-mail {USER['email']}, cards {USER['card']} and {USER['card2']}, phone {USER['phone_us']}, "
          f"SSN {USER['ssn']}. Read config.env and write her e-mail to out.txt.")


async def _open(home: Path, url: str, mode: str, builtin: list[str]) -> Agent:
    # The PDF is ingested with the reader's library and reaches the model as the run's lead: no pdf_reader process.
    config = agent_config(home, url, builtin=builtin, privacy=PrivacyConfig(mode=mode))
    return await Agent.open(config, database_url=f"sqlite:///{home}/k2hub.db")


@pytest.fixture
async def private_agent(_isolated_home: Path, fake_k2: FakeK2Server) -> AsyncIterator[Agent]:
    """An Agent whose requests to the fake K2 (a remote OpenAI-compatible server as far as it knows) are redacted."""
    agent = await _open(_isolated_home, fake_k2.url, "auto", ["workspace"])
    try:
        yield agent
    finally:
        await agent.aclose()


def _conversation_with_pdf_and_file(agent: Agent, home: Path) -> str:
    from mcp_servers.pdf_reader.ingest import ingest_pdf

    conversation = repo.create_conversation(agent.db, "customer file", "openai-compatible", "kimi-k2-thinking")
    pdf = home / "contract.pdf"
    pdf.write_bytes(text_pdf([f"Bank details: IBAN {PDF['iban_fr']}\nSecond account {PDF['iban_gb']}\n"
                              f"Mobile {PDF['phone_fr']}, mail {PDF['email2']}"]))
    store.attach(agent.db, conversation.id, ingest_pdf(agent.db, pdf).document.id)
    workspace = home / "workspaces" / conversation.id
    workspace.mkdir(parents=True)
    (workspace / "config.env").write_text(CONFIG_FILE)
    return conversation.id


def _leaks(body: object) -> list[str]:
    text = json.dumps(body, ensure_ascii=False)
    compact = digits_only(text)
    return [v for v in RAW_VALUES if v in text or (any(c.isdigit() for c in v) and digits_only(v) in compact)]


async def test_seeded_values_never_reach_the_provider_and_come_back_locally(
    private_agent: Agent, fake_k2: FakeK2Server, _isolated_home: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    conversation_id = _conversation_with_pdf_and_file(private_agent, _isolated_home)
    fake_k2.enqueue(
        Turn(reasoning="Read the config.", tool_calls=[ToolCall("workspace__read_file", {"path": "config.env"})]),
        Turn(reasoning="Write the address.", tool_calls=[ToolCall("workspace__write_file",
                                                                  {"path": "out.txt", "content": "<EMAIL_1>"})]),
        # Placeholders cut across stream chunks, as a provider's tokenizer may cut them.
        Turn(content_chunks=["Done: wrote <EMA", "IL_1> for card <CARD", "_1> (IBAN <IB", "AN_1>)."]),
    )
    # The attached document taints the conversation (issue 13): the write asks, and the user approves.
    events = await run_approving(private_agent, private_agent.run(RunRequest(prompt=PROMPT, conversation_id=conversation_id)))
    assert events[-1].reason == "done", events[-1]
    assert [e.name for e in of_type(events, "approval_requested")] == ["workspace__write_file"]

    # 1. No request carried a seeded value, in any spelling; placeholders went instead.
    assert len(fake_k2.requests) == 3
    for body in fake_k2.requests:
        assert _leaks(body) == []
    first = json.dumps(fake_k2.requests[0], ensure_ascii=False)
    assert "<EMAIL_1>" in first and "<CARD_1>" in first and "<IBAN_1>" in first and "<SSN_1>" in first
    tool_result = fake_k2.requests[1]["messages"][-1]
    assert tool_result["role"] == "tool" and "<SECRET_1>" in tool_result["content"]
    assert "<PASSWORD_1>" in tool_result["content"] and "<PRIVATE_KEY_1>" in tool_result["content"]

    # 2. The user sees the real values: streamed deltas and the final answer, placeholders split or not.
    entries = {e.placeholder: e.value for e in redaction.load_map(private_agent.db, _isolated_home, conversation_id)}
    # The attached document leads the request, so its values are numbered first.
    assert (entries["<EMAIL_1>"], entries["<EMAIL_2>"]) == (PDF["email2"], USER["email"])
    assert (entries["<CARD_1>"], entries["<IBAN_1>"]) == (USER["card"], PDF["iban_fr"])
    expected = f"Done: wrote {PDF['email2']} for card {USER['card']} (IBAN {PDF['iban_fr']})."
    assert events[-1].answer == expected
    assert "".join(e.text for e in of_type(events, "text_delta")) == expected
    assert repo.messages_as_openai(private_agent.db, conversation_id)[-1]["content"] == expected

    # 3. The tool got the real address, and the tool card shows it.
    assert (_isolated_home / "workspaces" / conversation_id / "out.txt").read_text() == PDF["email2"]
    started = [e for e in of_type(events, "tool_call_started") if e.name == "workspace__write_file"]
    assert started[0].arguments == {"path": "out.txt", "content": PDF["email2"]}

    # 4. Each model call said what it replaced (placeholders only).
    reports = of_type(events, "redaction")
    assert len(reports) == 3 and all(r.active for r in reports)
    assert {"<EMAIL_1>", "<CARD_1>", "<SECRET_1>"} <= set(reports[-1].placeholders)
    assert not any(v in json.dumps([r.model_dump() for r in reports]) for v in RAW_VALUES)

    # 5. The map is sealed in the database; its key file is the owner's only; nothing reached the logs.
    key = _isolated_home / "redaction.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with sqlite3.connect(_isolated_home / "k2hub.db") as conn:
        rows = conn.execute("SELECT placeholder, kind, value_digest, value_sealed FROM redaction_entries").fetchall()
        dump = "\n".join(conn.iterdump())
    assert len(rows) >= 10
    for placeholder, _kind, digest, sealed in rows:
        value = entries[placeholder]
        assert value.encode() not in sealed and value not in digest
    # Placeholders live only in the map's own column: no stored message, step or preview pairs them with values.
    outside_map = "\n".join(line for line in dump.splitlines() if "redaction_entries" not in line)
    assert "<EMAIL_1>" not in outside_map and "<CARD_1>" not in outside_map
    # Libraries log what they write at DEBUG (the checkpointer logs messages, which hold the user's own text);
    # no record may pair a placeholder with its value, and our own code logs no value at all.
    for record in caplog.records:
        message = record.getMessage()
        assert not [p for p, v in entries.items() if p in message and v in message], record.name
        if record.name.split(".")[0] in ("agents", "storage", "app"):
            assert not [v for v in RAW_VALUES if v in message], record.name


async def test_redaction_off_sends_the_raw_text_and_says_so(_isolated_home: Path, fake_k2: FakeK2Server):
    agent = await _open(_isolated_home, fake_k2.url, "off", [])
    try:
        fake_k2.enqueue(Turn(content="Noted."))
        events = await collect(agent.run(RunRequest(prompt=PROMPT)))
    finally:
        await agent.aclose()
    assert events[-1].reason == "done"
    sent = json.dumps(fake_k2.requests[0], ensure_ascii=False)
    assert USER["email"] in sent and USER["card"] in sent and "<EMAIL_1>" not in sent
    (report,) = of_type(events, "redaction")
    assert not report.active and report.placeholders == [] and "redaction off" in report.reason


async def test_a_conversation_override_and_an_exempt_value(private_agent: Agent, fake_k2: FakeK2Server,
                                                          _isolated_home: Path):
    fake_k2.enqueue(Turn(content="First."), Turn(content="Second."), Turn(content="Third."))
    first = await collect(private_agent.run(RunRequest(prompt=PROMPT)))
    conversation_id = first[0].conversation_id
    assert USER["email"] not in json.dumps(fake_k2.requests[0])
    # The user exempts the e-mail address: it goes as is from the next run on; the card stays hidden.
    assert redaction.set_exempt(private_agent.db, conversation_id, "<EMAIL_1>", True)
    await collect(private_agent.run(RunRequest(prompt="again", conversation_id=conversation_id)))
    second = json.dumps(fake_k2.requests[1], ensure_ascii=False)
    assert USER["email"] in second and USER["card"] not in second and "<CARD_1>" in second
    # This conversation switched off: everything goes as is, and the report says whose setting it was.
    redaction.set_mode(private_agent.db, conversation_id, "off")
    third = await collect(private_agent.run(RunRequest(prompt="once more", conversation_id=conversation_id)))
    assert USER["card"] in json.dumps(fake_k2.requests[2], ensure_ascii=False)
    (report,) = of_type(third, "redaction")
    assert not report.active and "this conversation's setting" in report.reason


async def test_a_secret_the_model_invents_is_masked_with_a_warning(private_agent: Agent, fake_k2: FakeK2Server):
    leaked = "AKIAZ7QWERTYUIOP4XYZ"
    fake_k2.enqueue(Turn(content=f"Use the key {leaked} for <EMAIL_1>."))
    events = await collect(private_agent.run(RunRequest(prompt=f"Whose address is {USER['email']}?")))
    answer = events[-1].answer
    assert leaked not in answer and "[hidden SECRET]" in answer and USER["email"] in answer
    assert any("SECRET" in n.message and n.level == "warning" for n in of_type(events, "notice"))
    (report,) = of_type(events, "redaction")
    assert report.masked == ["SECRET"] and report.answer == answer
    stored = repo.messages_as_openai(private_agent.db, events[0].conversation_id)[-1]["content"]
    assert leaked not in stored
