"""The honest run badge and errors in the user's words: a made-up figure is never shown as a success."""

from __future__ import annotations

from agents.events import RunFinished, RunStarted, TextDelta
from app.ui.plain_error import in_user_words
from app.ui.render import RunView
from app.ui.run_badge import badge, documents_attached, uncited_numbers

MADE_UP = "3M's FY2018 capital expenditure was $1,000,000,000."
CITED = "3M's FY2018 capital expenditure was $1,577 million (3M 2018 10-K, p. 58)."


def _finished_view(answer: str, *, documents: bool, **finish: object) -> RunView:
    view = RunView(documents=documents)
    view.apply(RunStarted(run_id="r", conversation_id="c", provider="local", model="qwen2.5-coder-0.5b"))
    view.apply(TextDelta(text=answer))
    view.apply(RunFinished(answer=answer, steps=1, tokens=10, cost_usd=0.0, **finish))  # type: ignore[arg-type]
    return view


def test_the_3m_case_with_a_scripted_model_gets_the_uncited_numbers_badge() -> None:
    view = _finished_view(MADE_UP, documents=True)
    assert view.status.startswith("⚠ uncited numbers · qwen2.5-coder-0.5b")
    assert "✓" not in view.status


def test_a_cited_answer_or_no_documents_is_answered() -> None:
    assert _finished_view(CITED, documents=True).status.startswith("✓ answered")
    assert _finished_view(MADE_UP, documents=False).status.startswith("✓ answered")


def test_failed_and_stopped_runs_have_their_own_marks() -> None:
    assert _finished_view("", documents=False, reason="error", error="x").status.startswith("✗ failed")
    assert _finished_view("Part", documents=False, reason="stopped", error="Stopped by the user.").status.startswith(
        "■ stopped")


def test_the_tool_not_called_hook_turns_a_success_into_a_warning() -> None:
    assert badge("done", "Paris.", tool_not_called=True) == "⚠ no tool call"
    assert badge("done", "Paris.") == "✓ answered"


def test_figures_need_a_page_and_years_alone_are_not_figures() -> None:
    assert uncited_numbers("Revenue grew 12% in 2018.")
    assert uncited_numbers("It was 32,765 million.")
    assert not uncited_numbers("The filing is from 2018.")
    assert not uncited_numbers("Revenue grew 12% (10-K, p. 23).")
    assert not uncited_numbers("Revenue grew 12%, see page 23.")


def test_documents_attached_reads_the_runs_context_plan() -> None:
    class Run:
        meta = {"context": {"mode": "retrieval", "documents": [{"id": "d"}]}}

    class Bare:
        meta: dict = {}

    assert documents_attached(Run()) and not documents_attached(Bare()) and not documents_attached(None)


def test_foreign_errors_read_as_a_sentence_with_the_next_action() -> None:
    raw = ("BadRequestError: litellm.BadRequestError: OpenAIException - This model's maximum context length is "
           "8192 tokens. However, the prompt is 31011 tokens. Start a new chat")
    words = in_user_words(raw)
    assert "litellm" not in words and "BadRequestError" not in words
    assert "31,011 tokens" in words and "bigger window" in words
    assert in_user_words("RuntimeError: boom\nTraceback ...") == "boom. The details are in the server log."
    assert "Settings" in in_user_words("APIConnectionError: 401 Unauthorized")
    # Our own messages are written for the user already: they stay as they are.
    assert in_user_words("AuthError: Key missing or wrong for Groq (401).") == "Key missing or wrong for Groq (401)."
    assert in_user_words("Stopped by the user.") == "Stopped by the user."
