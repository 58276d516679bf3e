"""The approval policy: which servers are untrusted, which calls are risky, what an approval says."""

from __future__ import annotations

from datetime import timedelta

import mcp_types as types
import pytest

from agents.policy.approval import code_of, denial_text, explain, is_untrusted_server, risk_of, source_of
from agents.hub.config import ServerConfig, builtin_servers, parse_mcp_servers
from storage import approvals, repo
from storage.approvals import UntrustedRead
from storage.db import Database
from storage.models import utcnow


def builtin(name: str) -> ServerConfig:
    return ServerConfig(name=name, command="python", builtin=True)


def external(name: str = "ext", trusted: bool = False) -> ServerConfig:
    return ServerConfig(name=name, command="npx", trusted=trusted)


def tool(name: str, **hints: bool) -> types.Tool:
    annotations = types.ToolAnnotations(**hints) if hints else None
    return types.Tool(name=name, input_schema={"type": "object"}, annotations=annotations)


def test_untrusted_servers_are_browser_pdf_reader_and_externals_unless_trusted() -> None:
    assert is_untrusted_server(builtin("browser")) and is_untrusted_server(builtin("pdf_reader"))
    assert not is_untrusted_server(builtin("workspace")) and not is_untrusted_server(builtin("sandbox"))
    assert is_untrusted_server(external()) and not is_untrusted_server(external(trusted=True))
    # The mcp.json field, and built-ins never carry it.
    configs, errors = parse_mcp_servers(
        {"mcpServers": {"mine": {"command": "x", "trusted": True}, "theirs": {"url": "http://h/mcp"}}}
    )
    assert errors == [] and [c.trusted for c in configs] == [True, False]
    assert not any(c.trusted for c in builtin_servers({}))


@pytest.mark.parametrize(
    ("name", "args", "risk"),
    [
        ("sandbox__run_python", {"code": "print(1)"}, "runs code in the sandbox"),
        ("sandbox__go", {"args": ["test"]}, "runs code in the sandbox"),
        ("workspace__write_file", {"path": "a"}, "writes a file in the workspace"),
        ("workspace__delete_path", {"path": "a"}, "deletes files in the workspace"),
        ("browser__download", {"url_or_ref": "3"}, "downloads a file from the web into the workspace"),
        ("browser__click", {"ref": 4}, "clicks an element on a web page (may submit a form or trigger an action)"),
        ("browser__type", {"ref": 2, "text": "x", "submit": True}, "types into a web page and submits the form"),
        ("skills_hub__install_skill", {"source": "x"}, "installs a skill into the registry"),
        ("browser__type", {"ref": 2, "text": "x"}, None),
        ("browser__open", {"url": "https://example.org"}, None),
        ("browser__snapshot", {}, None),
        ("workspace__read_file", {"path": "a"}, None),
        ("workspace__make_directory", {"path": "a"}, None),
        ("pdf_reader__read_pages", {"document": "a"}, None),
    ],
)
def test_builtin_risky_tools(name: str, args: dict, risk: str | None) -> None:
    server = name.split("__")[0]
    assert risk_of(name, args, builtin(server), tool(name.split("__")[1])) == risk


def test_annotations_decide_for_external_tools_and_can_only_add_risk_to_builtins() -> None:
    ext = external("crm")
    assert risk_of("crm__find", {}, ext, tool("find", read_only_hint=True)) is None
    assert risk_of("crm__send", {}, ext, tool("send")) == "is a tool of the external server crm, not marked read-only"
    assert risk_of("crm__send", {}, ext, tool("send", read_only_hint=False, open_world_hint=True)) is not None
    assert (
        risk_of("crm__drop", {}, ext, tool("drop", destructive_hint=True)) == "is marked destructive by the crm server"
    )
    # A trusted server's tools are judged the same way: trust is about what it returns, not what it does.
    assert risk_of("crm__send", {}, external("crm", trusted=True), tool("send")) is not None
    # Built-ins: the list above, plus anything a built-in marks destructive; openWorld alone is not enough.
    assert risk_of("cobol__migrate", {}, builtin("cobol"), tool("migrate", destructive_hint=True)) is not None
    assert risk_of("browser__open", {}, builtin("browser"), tool("open", open_world_hint=True)) is None


def test_source_of_prefers_the_url_then_a_url_in_the_result_then_a_document() -> None:
    browser = builtin("browser")
    assert source_of(browser, {"url": "http://127.0.0.1:8000/a"}, "") == "http://127.0.0.1:8000/a"
    fenced = "<<<untrusted content from https://example.org/page?x=1>>>\nhello"
    assert source_of(browser, {"ref": 3}, fenced) == "https://example.org/page?x=1"
    assert source_of(builtin("pdf_reader"), {"document": "annual-2023.pdf", "first": 1}, "text") == "annual-2023.pdf"
    assert source_of(external("toolbox"), {"text": "hi"}, "hi") == "the toolbox server"


def test_explain_names_the_sources_most_recent_first_without_repeats() -> None:
    def read(source: str, tool: str = "browser__open") -> UntrustedRead:
        return UntrustedRead(conversation_id="c", run_id="r", call_id=source, tool=tool, source=source)

    text = explain([read("https://b"), read("https://a"), read("https://b"), read("x.pdf", "pdf_reader__read"),
                    read("https://c"), read("https://d")])  # fmt: skip
    assert text.startswith("This conversation has read untrusted content: https://b (via browser__open); https://a")
    assert "x.pdf (via pdf_reader__read); and 2 more." in text and text.count("https://b") == 1


def test_code_of_shows_code_commands_and_file_content() -> None:
    assert code_of("sandbox__run_python", {"code": "print(1)", "timeout_s": 5}) == (
        "python",
        "print(1)",
        {"timeout_s": 5},
    )
    assert code_of("sandbox__run_shell", '{"command": "rm -rf x"}') == ("bash", "rm -rf x", {})
    assert code_of("sandbox__go", {"args": ["test", "./..."], "dir": "m"}) == ("bash", "go test ./...", {"dir": "m"})
    assert code_of("workspace__write_file", {"path": "a", "content": "hi"}) == ("", "hi", {"path": "a"})
    assert code_of("browser__click", {"ref": 3}) is None


def test_denial_text_tells_the_model_it_did_not_run() -> None:
    assert denial_text("sandbox__run_shell", "") == (
        "The user denied this call to sandbox__run_shell; it did not run. Do not try to get the same effect another "
        "way; continue without it or ask the user."
    )
    assert "The user said: not now" in denial_text("x", " not now ")


def test_storage_records_reads_and_decisions_once(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path}/a.db")
    try:
        conv = repo.create_conversation(db)
        run = repo.create_run(db, conv.id)
        other = repo.create_run(db, conv.id)
        for _ in range(2):  # a resumed run records the same read again: kept once
            approvals.record_untrusted_read(db, conv.id, run.id, "c1", "browser__open", "https://a")
        approvals.record_untrusted_read(db, conv.id, other.id, "c1", "browser__open", "https://b")
        assert [r.source for r in approvals.untrusted_reads(db, conv.id)] == ["https://b", "https://a"]
        # Content read alongside the asking call (same run, same message) does not count.
        left = approvals.untrusted_reads(db, conv.id, exclude_run=other.id, exclude_calls=["c1"])
        assert [r.source for r in left] == ["https://a"]
        first = approvals.request_approval(
            db, run.id, "c2", "sandbox__run_shell", {"command": "ls"}, "runs code", "why"
        )
        again = approvals.request_approval(db, run.id, "c2", "sandbox__run_shell", {"command": "other"}, "x", "y")
        assert again.id == first.id and again.arguments == {"command": "ls"} and again.decision == "pending"
        decided = approvals.decide(db, run.id, "c2", False, "no")
        assert decided.decision == "denied" and decided.note == "no"
        assert abs(decided.decided_at - utcnow()) < timedelta(seconds=5)
        assert approvals.decide(db, run.id, "c2", False).note == "no"  # the same decision twice is a no-op
        with pytest.raises(ValueError, match="already denied"):
            approvals.decide(db, run.id, "c2", True)
        with pytest.raises(LookupError):
            approvals.decide(db, run.id, "nope", True)
        assert approvals.approvals_for_run(db, run.id, pending_only=True) == []
    finally:
        db.close()
