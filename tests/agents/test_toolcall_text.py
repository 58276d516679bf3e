"""Text tool calls in the JSON forms small models write (outputs recorded from Qwen2.5-Coder-0.5B), parsed into
structured calls, hidden from the stream, and fed through the planner so a malformed call gets a retryable error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.events import TextDelta
from agents.models.providers import complete, resolve
from agents.planner.runner import Agent, RunRequest
from agents.models.toolcall_text import JSON_MARKERS, MARKERS, MarkerFilter, complete_call_end, parse_text_tool_calls
from tests.agents.conftest import FAST_RETRY, collect, of_type
from tests.fakes.k2_server import FakeK2Server, Turn

NAMES = {"workspace__write_file", "workspace__read_file", "workspace__list_files"}

# Verbatim model outputs (greedy decoding, the app's system prompt and workspace tools).
BARE = '{"name": "workspace__write_file", "arguments": {"path": "notes.txt", "content": "hello world", "append": false}}'
FENCED = ('```json\n{\n  "name": "workspace__read_file",\n  "arguments": {\n    "path": "config.yaml",\n'
          '    "start_line": 1,\n    "max_lines": 500\n  }\n}\n```')
# Our server stops generating once a call is complete, so the closing fence may never come.
FENCE_LEFT_OPEN = ('```json\n{\n  "name": "workspace__write_file",\n  "arguments": {\n    "path": "a.txt",\n'
                   '    "content": "hi",\n    "append": false\n  }\n}\n')
TAGGED = '<tool_call>\n{"name": "workspace__read_file", "arguments": {"path": "notes.txt"}}\n</tool_call>'
REPEATED = ('{"name": "workspace__read_file", "arguments": {"path": "notes.txt", "start_line": 1, "max_lines": 500}}\n'
            '{"name": "workspace__read_file", "arguments": {"path": "notes.txt", "start_line": 1, "max_lines": 500}}\n'
            '{"name": "workspace__read_file", "arguments": {"path": "notes.txt", "start_line": 1, "max_lines": 500}}')
# The model echoing a tool spec under an invented name: not a call, and the nested "name" is not one either.
ECHOED_SPEC = ('{"name": "server__tool", "function": {"name": "workspace__read_file", "description": "Read a text file",'
               ' "parameters": {"properties": {"path": {"type": "string"}}, "required": ["path"], "type": "object"}}}')


@pytest.mark.parametrize("text,name,args,visible", [
    (BARE, "workspace__write_file", {"path": "notes.txt", "content": "hello world", "append": False}, ""),
    ("I will read it.\n" + FENCED, "workspace__read_file", {"path": "config.yaml", "start_line": 1, "max_lines": 500},
     "I will read it."),
    (FENCE_LEFT_OPEN, "workspace__write_file", {"path": "a.txt", "content": "hi", "append": False}, ""),
    (TAGGED + "\nDone.", "workspace__read_file", {"path": "notes.txt"}, "Done."),
    ('<tool_call>\n{"name": "workspace__write_file", "arguments": {"path": "p.html", "content": "<b>hi</b>"}}',
     "workspace__write_file", {"path": "p.html", "content": "<b>hi</b>"}, ""),
    ('```json\n{"name": "workspace__list_files", "parameters": {"path": "."}}\n```', "workspace__list_files",
     {"path": "."}, ""),
])
def test_each_json_form_becomes_one_structured_call(text, name, args, visible):
    content, calls = parse_text_tool_calls(text, tool_names=NAMES)
    assert content == visible
    assert [c["function"]["name"] for c in calls] == [name]
    assert json.loads(calls[0]["function"]["arguments"]) == args
    assert calls[0]["id"] == f"functions.{name}:0" and calls[0]["type"] == "function"


def test_malformed_json_still_becomes_a_call_carrying_the_raw_text():
    text = ('<tool_call>\n{"name": "workspace__write_file", "arguments": {"path": "a.txt", "content": "hi",}}\n'
            "</tool_call>")
    content, calls = parse_text_tool_calls(text, tool_names=NAMES)
    assert content == "" and calls[0]["function"]["name"] == "workspace__write_file"
    raw = calls[0]["function"]["arguments"]
    assert raw == '{"path": "a.txt", "content": "hi",}'
    with pytest.raises(ValueError):
        json.loads(raw)  # the hub answers "Invalid arguments ... not valid JSON" and the model can retry
    _, bare = parse_text_tool_calls('{"name": "workspace__read_file", "arguments": {"path": "x.txt"', tool_names=NAMES)
    assert bare[0]["function"]["arguments"] == '{"path": "x.txt"'


def test_only_offered_names_and_only_when_tools_were_offered():
    assert parse_text_tool_calls(BARE) == (BARE, [])  # no tools offered
    assert parse_text_tool_calls(BARE, tool_names={"other__tool"}) == (BARE, [])
    assert parse_text_tool_calls(ECHOED_SPEC, tool_names=NAMES) == (ECHOED_SPEC, [])
    plain = 'A JSON example: {"name": "Bob", "age": 3}'
    assert parse_text_tool_calls(plain, tool_names=NAMES) == (plain, [])


def test_a_name_without_its_server_prefix_means_the_one_offered_tool_it_ends():
    # The 0.5B model drops "bfcl__" / "toolbox__" from a tool name the template showed it.
    text = '```json\n{"name": "math.factorial", "arguments": {"number": 5}}\n```'
    _, calls = parse_text_tool_calls(text, tool_names={"bfcl__math_factorial", "bfcl__math_gcd"})
    assert [c["function"]["name"] for c in calls] == ["bfcl__math_factorial"]
    wrong_server = '{"name": "workspace__run_python", "arguments": {"code": "print(1)"}}'
    assert parse_text_tool_calls(wrong_server, tool_names={"sandbox__run_python", "workspace__write_file"})[1][0][
        "function"]["name"] == "sandbox__run_python"
    ambiguous = '{"name": "read_file", "arguments": {"path": "a"}}'
    assert parse_text_tool_calls(ambiguous, tool_names={"a__read_file", "b__read_file"})[1] == []


def test_a_call_repeated_in_one_message_counts_once_and_ids_number_the_calls():
    _, calls = parse_text_tool_calls(REPEATED, tool_names=NAMES)
    assert len(calls) == 1
    two = BARE + "\n" + TAGGED
    _, calls = parse_text_tool_calls(two, first_index=3, tool_names=NAMES)
    assert [c["id"] for c in calls] == ["functions.workspace__write_file:3", "functions.workspace__read_file:4"]


def test_complete_call_end_waits_for_the_whole_call():
    assert complete_call_end(BARE[:-5], NAMES) is None
    assert complete_call_end(BARE + "\n{", NAMES) == len(BARE)
    assert complete_call_end("```json\n{", NAMES) is None
    assert complete_call_end(FENCE_LEFT_OPEN, NAMES) is not None
    assert complete_call_end(ECHOED_SPEC, NAMES) is None


def test_marker_filter_hides_json_calls_and_gives_back_what_was_no_call():
    shown = MarkerFilter(MARKERS + JSON_MARKERS)
    text = "I will write it.\n" + BARE
    out = "".join(shown.feed(text[i:i + 7]) for i in range(0, len(text), 7)) + shown.flush()
    assert out == "I will write it.\n" and "workspace__write_file" not in out
    visible, _ = parse_text_tool_calls(text, tool_names=NAMES)
    assert shown.rest_of(visible) == ""
    # A JSON block that is no call is held back while streaming, then shown whole.
    answer = 'Here:\n```json\n{"name": "Bob"}\n```'
    held = MarkerFilter(MARKERS + JSON_MARKERS)
    streamed = held.feed(answer) + held.flush()
    assert streamed == "Here:\n" and streamed + held.rest_of(answer) == answer


async def test_provider_turns_json_text_into_a_call_and_never_streams_it(fake_k2: FakeK2Server, _isolated_home: Path):
    fake_k2.enqueue(Turn(content="Let me look.\n" + FENCED))
    spec = resolve("openai-compatible", "kimi-k2-0905-preview", fake_k2.url, home=_isolated_home)
    tools = [{"type": "function", "function": {"name": n, "description": "x", "parameters": {"type": "object"}}}
             for n in sorted(NAMES)]
    events: list = []
    done = await complete([spec], [{"role": "user", "content": "read config.yaml"}], tools, emit=events.append,
                          retry=FAST_RETRY)
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert streamed.strip() == "Let me look." and "```" not in streamed
    assert done.message["content"] == "Let me look."
    assert done.message["tool_calls"][0]["function"]["name"] == "workspace__read_file"


async def test_malformed_text_call_gets_a_retryable_error_through_the_hub(agent: Agent, fake_k2: FakeK2Server):
    # The agent fixture speaks to a thinking model: reasoning keeps the fake's replay rule satisfied.
    fake_k2.enqueue(
        Turn(reasoning="Write it.", content='<tool_call>\n{"name": "workspace__write_file", "arguments": '
                                            '{"path": "a.txt", "content": }\n</tool_call>'),
        Turn(reasoning="Fix it.", content='<tool_call>\n{"name": "workspace__write_file", "arguments": '
                                          '{"path": "a.txt", "content": "ok"}}\n</tool_call>'),
        Turn(content="Written."),
    )
    events = await collect(agent.run(RunRequest(prompt="write a.txt")))
    finished = of_type(events, "tool_call_finished")
    assert "Invalid arguments for workspace__write_file" in finished[0].error and finished[1].error is None
    sent = fake_k2.requests[1]["messages"]
    assert sent[-1]["role"] == "tool" and "not valid JSON" in sent[-1]["content"]
    assert events[-1].reason == "done" and events[-1].answer == "Written."
    assert not any("<tool_call>" in e.text for e in of_type(events, "text_delta"))
