"""Event -> chat message mapping, and stored messages -> restored chat (pure, no server)."""

from __future__ import annotations

import json
from itertools import count

from agents.events import (
    ContextUsage,
    Notice,
    ReasoningDelta,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)
from app.ui.render import (
    THINKING,
    RunView,
    budget_html,
    format_usage,
    history_from_messages,
    summarize_arguments,
)


def _view() -> RunView:
    ticks = count()
    # Each clock read advances one second, so durations are predictable.
    return RunView(clock=lambda: float(next(ticks)))


def _started(view: RunView) -> None:
    view.apply(RunStarted(run_id="r1", conversation_id="c1", provider="groq", model="kimi-k2"))


def test_reasoning_streams_into_one_block_then_collapses_when_text_starts() -> None:
    view = _view()
    _started(view)
    view.apply(ReasoningDelta(text="Let me "))
    view.apply(ReasoningDelta(text="think."))
    assert len(view.messages) == 1
    block = view.messages[0]
    assert block.metadata["title"] == THINKING
    assert block.metadata["status"] == "pending"
    assert block.content == "Let me think."

    view.apply(TextDelta(text="Hello"))
    assert block.metadata["status"] == "done"  # collapsed once the answer starts
    assert block.metadata["duration"] == 1.0
    assert len(view.messages) == 2


def test_text_deltas_accumulate_in_one_answer_bubble() -> None:
    view = _view()
    _started(view)
    for piece in ["The ", "answer ", "is 42."]:
        view.apply(TextDelta(text=piece))
    assert [m.content for m in view.messages] == ["The answer is 42."]
    assert view.messages[0].metadata == {}  # a plain bubble, not a collapsible block


def test_tool_card_shows_args_then_result_and_duration() -> None:
    view = _view()
    _started(view)
    view.apply(ReasoningDelta(text="I should write the file."))
    view.apply(ToolCallStarted(call_id="functions.write_file:0", name="workspace__write_file",
                               arguments={"path": "notes.txt", "content": "hi"}))
    card = view.messages[-1]
    assert view.messages[0].metadata["status"] == "done"
    assert card.metadata["title"] == "⚙ workspace__write_file"
    assert card.metadata["status"] == "pending"
    assert 'path="notes.txt"' in card.metadata["log"]
    assert '"content": "hi"' in card.content

    view.apply(ToolCallFinished(call_id="functions.write_file:0", name="workspace__write_file",
                                preview="wrote 2 bytes", duration_s=0.0123))
    assert card.metadata["status"] == "done"
    assert card.metadata["duration"] == 0.01
    assert "wrote 2 bytes" in card.content and "**Result**" in card.content
    assert "k2-tool-error" not in card.content


def test_tool_error_is_marked_failed_and_red() -> None:
    view = _view()
    _started(view)
    view.apply(ToolCallStarted(call_id="c0", name="workspace__read_file", arguments='{"path": "../etc/passwd"}'))
    view.apply(ToolCallFinished(call_id="c0", name="workspace__read_file", preview="",
                                duration_s=0.2, error="path escapes the workspace <root>"))
    card = view.messages[-1]
    assert card.metadata["title"] == "✗ workspace__read_file — failed"
    assert '<div class="k2-tool-error">✗ path escapes the workspace &lt;root&gt;</div>' in card.content
    assert "**Result**" not in card.content


def test_text_after_a_tool_call_starts_a_new_bubble() -> None:
    view = _view()
    _started(view)
    view.apply(TextDelta(text="Let me check."))
    view.apply(ToolCallStarted(call_id="c0", name="t", arguments={}))
    view.apply(ToolCallFinished(call_id="c0", name="t", preview="ok", duration_s=0.1))
    view.apply(TextDelta(text="Done."))
    assert [m.content for m in view.messages if not m.metadata] == ["Let me check.", "Done."]


def test_usage_updates_the_status_line_and_finish_summarizes() -> None:
    view = _view()
    _started(view)
    assert view.status == "● kimi-k2 · thinking…"
    view.apply(Usage(prompt_tokens=1000, completion_tokens=234, cached_tokens=0, cost_usd=0.0021))
    assert view.status == "● kimi-k2 · thinking… · 1,234 tokens · $0.0021"
    view.apply(ToolCallStarted(call_id="c0", name="workspace__grep", arguments={}))
    assert view.status == "● kimi-k2 · step 1 · running workspace__grep… · 1,234 tokens · $0.0021"
    view.apply(ToolCallFinished(call_id="c0", name="workspace__grep", preview="ok", duration_s=0.1))
    view.apply(TextDelta(text="ok"))
    assert view.status == "● kimi-k2 · after step 1 · writing… · 1,234 tokens · $0.0021"
    view.apply(RunFinished(answer="ok", steps=3, tokens=1234, cost_usd=0.0021))
    assert view.status == "✓ answered · kimi-k2 · 3 steps · 1,234 tokens · $0.0021"
    assert [m.content for m in view.messages if not m.metadata] == ["ok"]  # the streamed answer is not repeated


def test_the_status_line_names_the_current_step() -> None:
    view = _view()
    _started(view)
    for n in range(3):
        view.apply(ToolCallStarted(call_id=f"c{n}", name="workspace__read_file", arguments={}))
        assert view.status == f"● kimi-k2 · step {n + 1} · running workspace__read_file…"
        view.apply(ToolCallFinished(call_id=f"c{n}", name="workspace__read_file", preview="ok", duration_s=0.1))
        view.apply(ReasoningDelta(text="next"))
        assert view.status == f"● kimi-k2 · after step {n + 1} · thinking…"


def test_a_run_that_needed_a_tool_but_got_prose_is_not_a_check_mark() -> None:
    view = _view()
    _started(view)
    view.apply(RunFinished(answer="def sandbox__run_python(code): ...", steps=1, tokens=9, cost_usd=0.0,
                           tool_not_called=True))
    assert view.status.startswith("⚠ no tool call · kimi-k2 · no tool was called") and "✓" not in view.status


def test_format_usage_shows_cached_tokens_and_large_costs() -> None:
    assert format_usage(5_000, 1.5, cached=4_000) == "5,000 tokens (4,000 cached) · $1.50"
    assert format_usage(10, 0.0) == "10 tokens · $0"


def test_answer_without_streaming_is_added_at_finish() -> None:
    view = _view()
    _started(view)
    view.apply(RunFinished(answer="Paris.", steps=1, tokens=10, cost_usd=0.0))
    assert [m.content for m in view.messages] == ["Paris."]


def test_no_key_error_reads_as_a_message_once() -> None:
    message = "No model configured: set GROQ_API_KEY or MOONSHOT_API_KEY, or choose vLLM / an OpenAI-compatible URL."
    view = _view()  # the runner fails before RunStarted: nothing was resolved or stored
    view.apply(Notice(level="error", message=message))
    view.apply(RunFinished(answer="", steps=0, tokens=0, cost_usd=0.0, reason="error", error=message))
    texts = [str(m.content) for m in view.messages]
    assert sum(message in t for t in texts) == 1
    assert "Traceback" not in "".join(texts)
    assert view.status == "✗ failed"  # no model was resolved, nothing was spent


def test_error_without_notice_is_shown_with_its_reason() -> None:
    view = _view()
    _started(view)
    view.apply(RunFinished(answer="", steps=1, tokens=0, cost_usd=0.0, reason="error",
                           error="Key missing or wrong for groq (401)."))
    assert view.messages[-1].content == (
        '<div class="k2-notice k2-notice-error"><b>The run failed.</b> Key missing or wrong for groq (401).</div>'
    )
    assert view.status == "✗ failed · kimi-k2 · 1 step"


def test_budget_finish_shows_answer_and_reason() -> None:
    view = _view()
    _started(view)
    view.apply(ReasoningDelta(text="hmm"))
    view.apply(RunFinished(answer="I ran out of steps before finishing.", steps=300, tokens=9, cost_usd=0.1,
                           reason="budget", error="max steps (300) reached"))
    contents = [m.content for m in view.messages]
    assert view.messages[0].metadata["status"] == "done"
    assert "I ran out of steps before finishing." in contents
    assert contents[-1] == '<div class="k2-notice k2-notice-error"><b>Budget reached.</b> max steps (300) reached</div>'
    assert view.status == "■ budget reached · kimi-k2 · 300 steps · 9 tokens · $0.1000"


def test_stop_closes_pending_cards_and_says_stopped() -> None:
    view = _view()
    _started(view)
    view.apply(ToolCallStarted(call_id="c0", name="slow", arguments={}))
    view.apply(RunFinished(answer="", steps=1, tokens=0, cost_usd=0.0, reason="stopped"))
    assert view.messages[0].metadata["status"] == "done"
    assert view.messages[-1].content == '<div class="k2-notice k2-notice-info"><b>Stopped.</b> </div>'


def test_stop_with_reason_does_not_say_stopped_twice() -> None:
    view = _view()
    _started(view)
    view.apply(TextDelta(text="Partial"))
    view.apply(RunFinished(answer="Partial", steps=1, tokens=5, cost_usd=0.0, reason="stopped", error="Stopped by the user."))
    assert [m.content for m in view.messages] == [
        "Partial", '<div class="k2-notice k2-notice-info">Stopped by the user.</div>'
    ]
    assert view.status == "■ stopped · kimi-k2 · 1 step · 5 tokens · $0"


def test_summarize_arguments_is_short() -> None:
    line = summarize_arguments({"path": "a.txt", "content": "x" * 500})
    assert line.startswith('path="a.txt", content="xxx') and len(line) == 60 and line.endswith("…")
    assert summarize_arguments("not json {") == "not json {"


def test_stored_conversation_restores_like_the_live_view() -> None:
    tool_calls = [{"id": "functions.workspace__write_file:0", "type": "function",
                   "function": {"name": "workspace__write_file", "arguments": json.dumps({"path": "a.txt"})}}]
    rows = [
        {"role": "system", "content": "You are K2."},
        {"role": "user", "content": "Write a file"},
        {"role": "assistant", "content": "", "reasoning_content": "Need a tool.", "tool_calls": json.dumps(tool_calls)},
        {"role": "tool", "tool_call_id": "functions.workspace__write_file:0", "name": "workspace__write_file",
         "content": "wrote 0 bytes"},
        {"role": "assistant", "content": "Done: a.txt", "reasoning_content": "It worked."},
    ]
    steps = [{"kind": "tool", "call_id": "functions.workspace__write_file:0", "duration_s": 0.5, "error": None}]
    history = history_from_messages(rows, steps)

    assert [m.role for m in history] == ["user", "assistant", "assistant", "assistant", "assistant"]
    assert history[0].content == "Write a file"
    assert history[1].metadata == {"title": THINKING, "status": "done"}
    card = history[2]
    assert card.metadata["title"] == "⚙ workspace__write_file"
    assert card.metadata["status"] == "done" and card.metadata["duration"] == 0.5
    assert '"path": "a.txt"' in card.content and "wrote 0 bytes" in card.content
    assert history[3].content == "It worked." and history[3].metadata["title"] == THINKING
    assert history[4].content == "Done: a.txt"


def test_stored_tool_error_from_steps_and_attribute_rows() -> None:
    class Row:  # storage may return SQLModel objects rather than dicts
        def __init__(self, **kw: object) -> None:
            self.__dict__.update(kw)

    rows = [
        Row(role="assistant", content=None, reasoning_content=None,
            tool_calls=[{"id": "c1", "function": {"name": "workspace__read_file", "arguments": "{}"}}]),
        Row(role="tool", tool_call_id="c1", name="workspace__read_file", content="Error: no such file"),
    ]
    history = history_from_messages(rows, [Row(call_id="c1", duration_s=0.1, error="no such file")])
    assert len(history) == 1
    assert history[0].metadata["title"] == "✗ workspace__read_file — failed"
    assert "k2-tool-error" in history[0].content


def test_own_error_class_names_are_not_shown() -> None:
    view = _view()
    _started(view)
    view.apply(RunFinished(answer="", steps=1, tokens=0, cost_usd=0.0, reason="error",
                           error="AuthError: Key missing or wrong for Groq (401)."))
    assert "<b>The run failed.</b> Key missing or wrong for Groq (401)." in view.messages[-1].content


def test_unsafe_sandbox_result_is_flagged_red() -> None:
    view = _view()
    _started(view)
    view.apply(ToolCallStarted(call_id="functions.sandbox__run_python:0", name="sandbox__run_python",
                               arguments={"code": "print(1)"}))
    card = view.messages[-1]
    view.apply(ToolCallFinished(call_id="functions.sandbox__run_python:0", name="sandbox__run_python",
                                preview="⚠ UNSAFE: ran without isolation (K2HUB_SANDBOX=unsafe-local)\nrun_python: exit code 0",
                                duration_s=0.1))
    assert card.metadata["title"].endswith("⚠ UNSAFE: no sandbox")
    assert 'k2-notice-error">⚠ UNSAFE: ran without isolation' in card.content


def test_the_context_gauge_follows_each_model_call_and_warns_past_the_fold_mark() -> None:
    view = _view()
    _started(view)
    view.apply(ContextUsage(tokens=52_000, window=262_144))
    assert 'style="width:20%"' in view.gauge and "context 20% of 262K" in view.gauge and "k2-gauge-ok" in view.gauge
    view.apply(ContextUsage(tokens=190_000, window=262_144, compacted_steps=0))
    assert "k2-gauge-high" in view.gauge and "context 72%" in view.gauge
    view.apply(Notice(level="info", message="Context 262,144 tokens: folded the older steps into compact records"))
    view.apply(ContextUsage(tokens=105_000, window=262_144, compacted_steps=51, compactions=1))
    assert "context 40%" in view.gauge and "51 steps folded" in view.gauge
    assert any("folded the older steps" in str(m.content) for m in view.messages)  # the notice is in the chat


def test_the_budget_line_names_dollars_tool_calls_and_time() -> None:
    line = budget_html(20.0, 300, 14_400)
    assert "Budget per run: <b>$20.00</b> · 300 tool calls · 4 h" in line and "K2HUB_MAX_COST_USD" in line


def test_notes_the_app_gave_the_model_are_restored_as_notices_not_as_the_users_words() -> None:
    rows = [{"role": "user", "content": "Audit it"},
            {"role": "user", "content": "[K2 Agent Hub] This run has used its 300 tool calls.", "_note": True},
            {"role": "assistant", "content": "Done."}]
    shown = history_from_messages(rows)
    assert shown[0].role == "user" and shown[1].role == "assistant" and "k2-notice" in shown[1].content
    assert "This run has used its 300 tool calls." in shown[1].content and "[K2 Agent Hub]" not in shown[1].content
