"""The redaction layer's parts: streaming restore, tool arguments, known values, policy, the key file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from agents.privacy.kinds import DEFAULT_KINDS, parse_kinds
from agents.privacy.redactor import Redactor, StreamRestorer
from agents.privacy.session import decide
from agents.privacy.vault import Vault
from storage import redaction, repo
from storage.db import Database
from storage.secret_box import KeyFileError, SecretBox, secret_box


@pytest.fixture
def redactor(_isolated_home: Path) -> Redactor:
    db = Database(f"sqlite:///{_isolated_home}/k2hub.db")
    conversation = repo.create_conversation(db, "t")
    return Redactor(Vault(db, _isolated_home, conversation.id), DEFAULT_KINDS)


def test_a_placeholder_cut_anywhere_in_the_stream_is_restored(redactor: Redactor):
    redacted = redactor.redact("Write to jane.doe@example.com, card 4111 1111 1111 1111.")
    assert redacted == "Write to <EMAIL_1>, card <CARD_1>."
    answer = "Sent <EMAIL_1> a < b note; <CARD_1> and <UNKNOWN_9> stay>"
    expected = "Sent jane.doe@example.com a < b note; 4111 1111 1111 1111 and <UNKNOWN_9> stay>"
    for i in range(len(answer) + 1):
        for j in range(i, len(answer) + 1):
            stream = StreamRestorer(redactor.restore)
            shown = stream.feed(answer[:i]) + stream.feed(answer[i:j]) + stream.feed(answer[j:]) + stream.flush()
            assert shown == expected, (i, j)


def test_tool_arguments_get_real_values_with_json_escapes(redactor: Redactor):
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\"IBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    sent = redactor.redact_message({"role": "tool", "content": f"key:\n{pem}\n"})
    assert pem not in sent["content"] and "<PRIVATE_KEY_1>" in sent["content"]
    call = {"id": "functions.workspace__write_file:0", "type": "function",
            "function": {"name": "workspace__write_file", "arguments": '{"path": "k.pem", "content": "<PRIVATE_KEY_1>"}'}}
    restored = redactor.restore_message({"role": "assistant", "content": "", "tool_calls": [call]})
    assert json.loads(restored["tool_calls"][0]["function"]["arguments"]) == {"path": "k.pem", "content": pem}
    # The same call replayed to the model later goes out with the placeholder again.
    again = redactor.redact_message(restored)
    assert json.loads(again["tool_calls"][0]["function"]["arguments"])["content"] == "<PRIVATE_KEY_1>"


def test_a_known_value_is_replaced_where_the_detector_would_miss_it(redactor: Redactor):
    assert redactor.redact("Meeting with Mr. John Smith.") == "Meeting with Mr. <PERSON_1>."
    assert redactor.redact("John Smith agreed; John Smithson did not.") == "<PERSON_1> agreed; John Smithson did not."
    # A text cached before the name was learnt is brought up to date.
    redactor2 = Redactor(redactor.vault, redactor.kinds)
    assert redactor2.redact("Ask Ann Lee.") == "Ask Ann Lee."
    assert redactor2.redact("Dear Ann Lee,") == "Dear <PERSON_2>,"
    assert redactor2.redact("Ask Ann Lee.") == "Ask <PERSON_2>."


def test_one_value_two_spellings_one_placeholder_stable_across_sessions(redactor: Redactor, _isolated_home: Path):
    assert redactor.redact("card 4111 1111 1111 1111") == "card <CARD_1>"
    assert redactor.redact("card 4111-1111-1111-1111") == "card <CARD_1>"
    assert redactor.redact("other 5500 0055 5555 5559") == "other <CARD_2>"
    reopened = Redactor(Vault(redactor.vault.db, _isolated_home, redactor.vault.conversation_id), DEFAULT_KINDS)
    assert reopened.redact("again 5500 0055 5555 5559") == "again <CARD_2>"
    assert reopened.restore("<CARD_1>") == "4111 1111 1111 1111"


def test_an_exempt_value_goes_as_is(redactor: Redactor):
    assert redactor.redact("mail jane.doe@example.com") == "mail <EMAIL_1>"
    assert redaction.set_exempt(redactor.vault.db, redactor.vault.conversation_id, "<EMAIL_1>", True)
    assert not redaction.set_exempt(redactor.vault.db, redactor.vault.conversation_id, "<EMAIL_9>", True)
    redactor.vault.reload()
    redactor.forget_cache()
    assert redactor.redact("mail jane.doe@example.com") == "mail jane.doe@example.com"


@pytest.mark.parametrize(("mode", "provider", "base", "active"), [
    ("auto", "groq", None, True),
    ("auto", "moonshot", "https://api.moonshot.ai/v1", True),
    ("auto", "local", "http://127.0.0.1:41234/v1", False),
    ("auto", "vllm", "http://localhost:8000/v1", False),
    ("auto", "vllm", "http://[::1]:8000/v1", False),
    ("auto", "vllm", "http://gpu-box.lan:8000/v1", True),
    # An OpenAI-compatible URL on loopback is often a proxy to a cloud: redacted.
    ("auto", "openai-compatible", "http://127.0.0.1:4000/v1", True),
    ("off", "groq", None, False),
    ("on", "local", None, True),
])  # fmt: skip
def test_policy(mode: str, provider: str, base: str | None, active: bool):
    assert decide(mode, provider, base)[0] is active


def test_kinds_are_named_or_refused():
    assert parse_kinds("") == DEFAULT_KINDS and "IP" not in DEFAULT_KINDS
    assert parse_kinds("email, card") == {"EMAIL", "CARD"}
    with pytest.raises(ValueError, match="BOGUS"):
        parse_kinds("EMAIL,BOGUS")


def test_the_key_file_is_private_and_needed(tmp_path: Path):
    box = secret_box(tmp_path)
    key = tmp_path / "redaction.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    token = box.seal("4111 1111 1111 1111")
    assert b"4111" not in token and box.open(token) == "4111 1111 1111 1111"
    with pytest.raises(KeyFileError, match="cannot be decrypted"):
        SecretBox(os.urandom(32)).open(token)
    other = tmp_path / "other"
    other.mkdir()
    (other / "redaction.key").write_text("short")
    os.chmod(other / "redaction.key", 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        secret_box(other)
