"""A run's badge: what happened, in one mark and a few words, the same live and on reopen.

✓ answered · ⚠ answered with uncited numbers while documents were attached · ⚠ no tool call where one was expected ·
✗ failed · ■ stopped (or budget reached, loop). A made-up figure must never look like a success.
"""

from __future__ import annotations

import re
from typing import Any

# Figures worth a source: money, percentages, grouped or long numbers, scaled amounts. Bare years (2018) are not.
_FIGURE = re.compile(
    r"[$€£¥]\s?\d|\d+(?:\.\d+)?\s?%|\b\d{1,3}(?:,\d{3})+\b|\b\d{5,}\b"
    r"|\b\d+(?:\.\d+)?\s?(?:thousand|million|billion|trillion|bn|mn|m)\b",
    re.IGNORECASE,
)
# The citation the documents message asks for, "(title, p. N)", and the usual ways of writing a page.
_CITATION = re.compile(r"\bp{1,2}\.\s?\d+|\bpages?\s+\d+|\[page\s+\d+\]", re.IGNORECASE)

_ENDED = {"error": "✗ failed", "stopped": "■ stopped", "budget": "■ budget reached", "loop": "■ stopped (loop)",
          "waiting": "■ waiting for your approval", "interrupted": "■ interrupted"}
# Run.status (storage) -> RunFinished.reason (events): a reopened run gets the badge it had live.
REASON_OF_STATUS = {"done": "done", "failed": "error", "stopped": "stopped", "budget": "budget", "loop": "loop",
                    "waiting": "waiting", "interrupted": "interrupted", "running": "waiting"}


def uncited_numbers(answer: str) -> bool:
    """True when the answer states figures and cites no page."""
    return bool(_FIGURE.search(answer or "")) and not _CITATION.search(answer or "")


def badge(reason: str, answer: str = "", *, documents: bool = False, tool_not_called: bool = False) -> str:
    """The mark and words for a finished run (`reason` as in RunFinished; `documents`: documents were attached).

    `tool_not_called` is the hook for RunFinished.tool_not_called (issue 17): a run that was expected to use a tool
    and answered without one is not shown as a plain success.
    """
    if reason != "done":
        return _ENDED.get(reason, f"■ {reason}")
    if documents and uncited_numbers(answer):
        return "⚠ uncited numbers"
    if tool_not_called:
        return "⚠ no tool call"
    return "✓ answered"


def documents_attached(run: Any) -> bool:
    """Whether a stored run had documents attached (the context plan recorded in its meta)."""
    planned = ((getattr(run, "meta", None) or {}).get("context") or {}) if run is not None else {}
    return bool(planned.get("documents"))


def badge_title(mark: str) -> str:
    """A sentence for the badge's tooltip and for screen readers."""
    if mark.startswith("⚠ uncited"):
        return ("The answer states figures but cites no page of the attached documents: check them against the "
                "source before relying on them.")
    if mark.startswith("⚠ no tool"):
        return "The model answered without calling a tool where one was expected: the answer may be made up."
    if mark.startswith("✗"):
        return "The run failed; the reason is shown in the chat."
    if mark.startswith("■"):
        return "The run ended before it finished; what it wrote so far is kept."
    return "The run answered."
