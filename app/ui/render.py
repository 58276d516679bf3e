"""Planner events and stored messages -> gr.ChatMessage lists. Pure: no I/O, the clock is injected.

The live view (RunView) and the restored view (history_from_messages) build the same shapes, so a
reopened conversation looks like it did while it streamed: a collapsed "Thinking" block, one card
per tool call, then the answer.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gradio import ChatMessage

from agents.events import (
    ApprovalRequested,
    ContextUsage,
    ElicitationRequested,
    Notice,
    ReasoningDelta,
    Redaction,
    RunFinished,
    RunStarted,
    SubagentUpdate,
    TextDelta,
    ToolCallFinished,
    ToolCallLog,
    ToolCallProgress,
    ToolCallStarted,
    Usage,
)
from app.ui.approval_card import approval_message
from app.ui.plain_error import in_user_words
from app.ui.run_badge import badge
from app.ui.evidence import subagent_card
from app.ui.images import message_images
from app.ui.swarm_tree import SwarmTree
from app.ui.tool_activity import Activity
from app.ui.markup import clip, escape, fence, shorten

THINKING = "Thinking"
# Marks from fonts every desktop has (DejaVu, Segoe UI Symbol): emoji fonts are missing on many Linux boxes.
TOOL_MARK = "⚙"
# A card must stay compact: the full result is an artifact in storage, the chat shows a preview.
PREVIEW_CHARS = 1_500
ARGS_CHARS = 1_200
SUMMARY_CHARS = 60

_FINISH_TITLES: dict[str, str] = {
    "error": "The run failed",
    "budget": "Budget reached",
    "loop": "Stopped: the agent kept repeating the same tool call",
    "stopped": "Stopped",
}


# The planner reports crashes as "AuthError: Key missing…"; our own error classes need no name in front.
_OWN_ERROR_PREFIX = re.compile(r"^(AppError|ConfigError|ProviderError|AuthError|ToolFailed|BudgetExceeded): ")


def readable(error: str) -> str:
    """An error message without the name of one of our own error classes in front."""
    return _OWN_ERROR_PREFIX.sub("", error.strip())


# The run needed a tool (write, run, read, search ...) and the model only wrote prose: not a ✓.
NO_CALL_NOTE = "no tool was called: nothing was run or written (try ▶ Run in sandbox on a code block, or ask again)"


def _parse_args(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def format_arguments(arguments: Any) -> str:
    """Tool arguments as a fenced JSON block (raw text when the model sent invalid JSON)."""
    value = _parse_args(arguments)
    if isinstance(value, str):
        return fence(clip(value, ARGS_CHARS))
    return fence(clip(json.dumps(value, indent=2, ensure_ascii=False), ARGS_CHARS), "json")


def summarize_arguments(arguments: Any) -> str:
    """One short line for the card header: `path="notes.txt", content="Hel…"`."""
    value = _parse_args(arguments)
    if isinstance(value, dict):
        text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in value.items())
    else:
        text = str(value or "")
    text = " ".join(text.split())
    return shorten(text, SUMMARY_CHARS)


def tool_card_content(arguments: Any, preview: str | None = None, error: str | None = None) -> str:
    """Body of a tool card: arguments, then the result preview or the error."""
    parts = [format_arguments(arguments)]
    if error:
        # The class survives Gradio's sanitizer; assets/ui.css paints it red.
        parts.append(f'<div class="k2-tool-error">✗ {escape(error)}</div>')
    elif preview is not None:
        parts.append("**Result**\n" + fence(clip(preview, PREVIEW_CHARS)))
    return "\n\n".join(parts)


def format_usage(tokens: int, cost_usd: float, cached: int = 0) -> str:
    """'1,234 tokens · $0.0021' — four decimals below a dollar, where K2's prices live."""
    if cost_usd == 0:
        cost = "$0"  # unpriced (self-hosted) or free: four zeros would suggest a measured figure
    else:
        cost = f"${cost_usd:.4f}" if cost_usd < 1 else f"${cost_usd:,.2f}"
    cached_part = f" ({cached:,} cached)" if cached else ""
    return f"{tokens:,} tokens{cached_part} · {cost}"


UNSAFE_MARK = "⚠ UNSAFE"
GAUGE_WARN = 0.7  # the share at which the planner folds older steps (agents.policy.compaction.HIGH_WATER)


def _kilo(tokens: int) -> str:
    return f"{tokens / 1000:.0f}K" if tokens >= 10_000 else f"{tokens:,}"


def context_gauge(tokens: int, window: int, compacted_steps: int = 0) -> str:
    """A small bar for the status line: how full the model's context window is, and how many steps are folded."""
    share = min(1.0, tokens / window) if window else 0.0
    level = "high" if share >= GAUGE_WARN else "ok"
    folded = f" · {compacted_steps:,} step{'s' if compacted_steps != 1 else ''} folded" if compacted_steps else ""
    title = (f"{tokens:,} of {window:,} tokens in the model's context window; older steps are folded into records "
             "past 70 %")
    return (f'<span class="k2-gauge k2-gauge-{level}" title="{escape(title)}"><span class="k2-gauge-bar">'
            f'<span style="width:{share * 100:.0f}%"></span></span>context {share:.0%} of {_kilo(window)}'
            f"{folded}</span>")


def budget_html(max_cost_usd: float, max_steps: int, max_wall_s: float) -> str:
    """The per-run budget, shown under the composer before a run starts."""
    hours = max_wall_s / 3600
    wall = f"{hours:g} h" if hours >= 1 else f"{max_wall_s / 60:g} min"
    return (f'<div class="k2-budget">Budget per run: <b>${max_cost_usd:,.2f}</b> · {max_steps:,} tool calls · {wall} '
            "(Settings tab; defaults K2HUB_MAX_COST_USD, K2HUB_MAX_STEPS, K2HUB_MAX_WALL_S)</div>")


def status_html(text: str, gauge: str = "") -> str:
    """The one-line status under the chat (or a session's progress); `gauge` is context_gauge's HTML."""
    return f'<div class="k2-status-line">{escape(text)}{gauge}</div>'


def notice_html(level: str, text: str, title: str = "") -> str:
    """A calm coloured box for notices and run errors (the class is styled by assets/ui.css)."""
    head = f"<b>{escape(title)}</b> " if title else ""
    return f'<div class="k2-notice k2-notice-{level}">{head}{escape(text)}</div>'


def tool_card(call_id: str, name: str, arguments: Any) -> ChatMessage:
    """A pending tool card: the spinner runs until the result arrives."""
    return ChatMessage(
        content=tool_card_content(arguments),
        metadata={"title": f"{TOOL_MARK} {name}", "id": call_id, "status": "pending", "log": summarize_arguments(arguments)},
    )


def finish_tool_card(card: ChatMessage, arguments: Any, preview: str, duration_s: float | None, error: str | None) -> None:
    card.content = tool_card_content(arguments, preview, error)
    meta = card.metadata
    meta["status"] = "done"
    if duration_s is not None:
        meta["duration"] = round(duration_s, 2)
    if error:
        outcome = "denied by you" if error.startswith("The user denied") else "failed"
        meta["title"] = f"✗ {meta['title'].removeprefix(TOOL_MARK + ' ')} — {outcome}"
    if preview.startswith(UNSAFE_MARK):
        # The sandbox ran this code without isolation (K2HUB_SANDBOX=unsafe-local): say so where the result shows.
        meta["title"] += " — ⚠ UNSAFE: no sandbox"
        card.content = notice_html("error", preview.splitlines()[0]) + card.content


# No shield glyph is in the fonts every desktop has (DejaVu lacks U+26E8 and the emoji): the word says it.
SHIELD = "Privacy ·"


def shield(active: bool, reason: str, placeholders: Iterable[str]) -> tuple[str, str]:
    """(title, body) of a run's privacy shield."""
    held = sorted(placeholders, key=lambda p: (p.rsplit("_", 1)[0], int(p.rsplit("_", 1)[1].rstrip(">") or 0)))
    if not active:
        return f"{SHIELD} not redacted", escape(f"Sent as is: {reason}.")
    if not held:
        return f"{SHIELD} nothing to hide", escape(f"Redaction on ({reason}); no personal data or secret was found.")
    rows = "\n".join(f"- `{p}`" for p in held)
    title = f"{SHIELD} {len(held)} value{'s' if len(held) != 1 else ''} sent as placeholders"
    return title, (f"The model saw these instead of the real values ({escape(reason)}); you see the values. "
                   f"Values and exemptions: the Privacy panel under the chat.\n\n{rows}")


@dataclass
class RunView:
    """Folds one run's events into the assistant messages shown under the user's prompt."""

    clock: Callable[[], float] = time.monotonic
    messages: list[ChatMessage] = field(default_factory=list)
    status: str = ""
    run_id: str = ""
    conversation_id: str = ""
    model: str = ""
    finished: RunFinished | None = None
    _thinking: ChatMessage | None = None
    _thinking_since: float = 0.0
    _answer: ChatMessage | None = None
    _cards: dict[str, tuple[ChatMessage, Any]] = field(default_factory=dict)
    _activity: dict[str, Activity] = field(default_factory=dict)  # progress and log lines per running call
    _notices: set[str] = field(default_factory=set)
    _usage: str = ""
    _phase: str = ""
    _shield: ChatMessage | None = None
    _placeholders: set[str] = field(default_factory=set)
    gauge: str = ""  # context_gauge HTML of the latest model call (beside the status line)
    documents: bool = False  # documents are attached to the conversation (the badge checks citations)

    def apply(self, event: Any) -> None:
        """Update the messages and the status line for one planner event."""
        if isinstance(event, RunStarted):
            self.run_id, self.conversation_id, self.model = event.run_id, event.conversation_id, event.model
            self._live("resuming…" if event.resumed else "thinking…")
        elif isinstance(event, ReasoningDelta):
            self._reason(event.text)
        elif isinstance(event, TextDelta):
            self._text(event.text)
        elif isinstance(event, ToolCallStarted):
            self._close_segment()
            card = tool_card(event.call_id, event.name, event.arguments)
            self._cards[event.call_id] = (card, event.arguments)
            self.messages.append(card)
            self._live(f"running {event.name}…")
        elif isinstance(event, ToolCallFinished):
            self._tool_finished(event)
        elif isinstance(event, ToolCallProgress | ToolCallLog | ElicitationRequested):
            self._tool_activity(event)
        elif isinstance(event, SubagentUpdate):  # one card per report of a multi-document analysis
            cards = self.__dict__.setdefault("_subagents", {})
            if event.subagent_run_id not in cards:
                cards[event.subagent_run_id] = subagent_card(event)
                self.messages.append(cards[event.subagent_run_id])
            subagent_card(event, cards[event.subagent_run_id])
        elif self.__dict__.setdefault("_swarms", SwarmTree()).apply(event, self.messages):
            self._live("sub-agents at work…")  # the swarm tree (app/ui/swarm_tree.py)
        elif isinstance(event, ApprovalRequested):
            self._close_segment()
            self.messages.append(approval_message(event))
            self._live(f"waiting for your approval of {event.name}")
        elif isinstance(event, Usage):
            self._usage = format_usage(event.prompt_tokens + event.completion_tokens, event.cost_usd, event.cached_tokens)
            self._live(self._phase)
        elif isinstance(event, Redaction):
            self._redaction(event)
        elif isinstance(event, ContextUsage):
            self.gauge = context_gauge(event.tokens, event.window, event.compacted_steps)
        elif isinstance(event, Notice):
            self._notice(event)
        elif isinstance(event, RunFinished):
            self._finish(event)

    def _live(self, phase: str) -> None:
        """The status line while the run streams: model · current step · what it is doing · tokens and cost so far."""
        self._phase = phase
        self.status = " · ".join(p for p in (f"● {self.model}" if self.model else "●", self._step(), phase,
                                             self._usage) if p)

    def _step(self) -> str:
        """'step 3' while the third tool call runs, 'after step 3' once it is back (a step is one tool call, as in
        RunFinished.steps and the step budget)."""
        count = len(self._cards)
        if not count:
            return ""
        running = any(card.metadata.get("status") == "pending" for card, _ in self._cards.values())
        return f"step {count}" if running else f"after step {count}"

    def _reason(self, text: str) -> None:
        if self._thinking is None:
            self._live("thinking…")
            self._close_segment()
            self._thinking = ChatMessage(content="", metadata={"title": THINKING, "status": "pending"})
            self._thinking_since = self.clock()
            self.messages.append(self._thinking)
        self._thinking.content = str(self._thinking.content) + text

    def _text(self, text: str) -> None:
        self._close_thinking()
        if self._answer is None:
            if not text.strip():
                return  # whitespace between a thought and a tool call is not worth a bubble
            self._answer = ChatMessage(content="")
            self.messages.append(self._answer)
            self._live("writing…")
        self._answer.content = str(self._answer.content) + text

    def _close_thinking(self) -> None:
        if self._thinking is not None:
            self._thinking.metadata["status"] = "done"
            self._thinking.metadata["duration"] = round(self.clock() - self._thinking_since, 1)
            self._thinking.content = str(self._thinking.content).strip()
            self._thinking = None

    def _close_segment(self) -> None:
        self._close_thinking()
        self._answer = None

    def _tool_finished(self, event: ToolCallFinished) -> None:
        self._close_segment()
        if event.call_id not in self._cards:  # a resumed run may finish a call started before a crash
            card = tool_card(event.call_id, event.name, "")
            self._cards[event.call_id] = (card, "")
            self.messages.append(card)
        card, arguments = self._cards[event.call_id]
        finish_tool_card(card, arguments, event.preview, event.duration_s, event.error)
        activity = self._activity.pop(event.call_id, None)
        if activity is not None:
            card.metadata["log"] = summarize_arguments(arguments)  # progress and questions are over
            if activity.logs:  # the server's log lines stay under the result
                card.content = f"{card.content}\n\n{activity.html(running=False)}"

    def _tool_activity(self, event: ToolCallProgress | ToolCallLog | ElicitationRequested) -> None:
        """Progress, a log line or a question from the server of a running call: shown on its card."""
        entry = self._cards.get(event.call_id)
        if entry is None:
            return
        card, arguments = entry
        activity = self._activity.setdefault(event.call_id, Activity())
        if isinstance(event, ToolCallProgress):
            activity.note_progress(event.progress, event.total, event.message)
            card.metadata["log"] = activity.summary() or card.metadata.get("log", "")
        elif isinstance(event, ToolCallLog):
            activity.note_log(event.level, event.text)
        else:
            card.metadata["log"] = f"{event.server} asks you a question: answer below the chat"
            self._live(f"waiting for your answer to {event.server}")
        card.content = "\n\n".join(p for p in (tool_card_content(arguments), activity.html(running=True)) if p)

    def _notice(self, event: Notice) -> None:
        self._close_segment()
        self._notices.add(event.message.strip())
        self.messages.append(ChatMessage(content=notice_html(event.level, event.message)))

    def _redaction(self, event: Redaction) -> None:
        """One shield per run, at its top: what went out as placeholders (click to list), or that nothing was hidden."""
        self._placeholders.update(event.placeholders)
        if self._shield is None:
            self._shield = ChatMessage(content="", metadata={"title": "", "status": "done"})
            self.messages.insert(0, self._shield)
        self._shield.metadata["title"], self._shield.content = shield(event.active, event.reason, self._placeholders)
        if event.answer is not None and self._answer is not None:
            self._answer.content = event.answer  # the output filter hid something the stream had shown

    def _finish(self, event: RunFinished) -> None:
        self._close_thinking()
        for card, _ in self._cards.values():
            if card.metadata.get("status") == "pending":  # the run ended under a running tool (stop, crash)
                card.metadata["status"] = "done"
        self.finished = event
        shown = str(self._answer.content).strip() if self._answer is not None else ""
        answer = event.answer.strip()
        if answer and answer != shown and answer not in self._notices:
            self._answer = ChatMessage(content=event.answer)
            self.messages.append(self._answer)
        if event.reason not in ("done", "waiting"):  # a waiting run's approval card says it all
            title = _FINISH_TITLES[event.reason] + "."
            detail = in_user_words(event.error or "")
            level = "info" if event.reason == "stopped" else "error"
            if event.reason == "stopped" and detail:
                title = ""  # "Stopped. Stopped by the user." says it twice
            if detail and detail not in self._notices and detail != answer:
                self.messages.append(ChatMessage(content=notice_html(level, detail, title)))
            elif (not answer and not self._notices) or event.reason == "stopped":
                self.messages.append(ChatMessage(content=notice_html(level, "", title)))
        self._answer = None
        # The honest badge (app/ui/run_badge.py).
        mark = badge(event.reason, answer, documents=self.documents, tool_not_called=event.tool_not_called)
        parts = [mark, self.model]
        if event.reason == "done" and event.tool_not_called:
            parts.append(NO_CALL_NOTE)
        if event.steps:
            parts.append(f"{event.steps} step{'s' if event.steps != 1 else ''}")
        if event.tokens or event.cost_usd:
            parts.append(format_usage(event.tokens, event.cost_usd))
        if event.skills_used:
            parts.append("skills: " + ", ".join(event.skills_used))
        self.status = " · ".join(p for p in parts if p)


def _get(row: Any, name: str, default: Any = None) -> Any:
    """Storage hands back SQLModel rows or dicts depending on the query; read either."""
    if isinstance(row, Mapping):
        return row.get(name, default)
    return getattr(row, name, default)


def _tool_calls(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError:
            return []
    return [c for c in raw or [] if isinstance(c, Mapping)]


def _content_text(content: Any) -> str:
    """Message content may be a string or OpenAI content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) if isinstance(p, Mapping) else str(p) for p in content)
    return str(content)


def history_from_messages(rows: Iterable[Any], steps: Iterable[Any] = ()) -> list[ChatMessage]:
    """Rebuild the chat of a stored conversation: user turns, thinking, tool cards, answers.

    `rows` carry role, content, reasoning_content, tool_calls, tool_call_id, name; `steps` (optional)
    carry call_id, duration_s, error, result_preview and add durations and errors to the cards.
    """
    step_by_call = {_get(s, "call_id"): s for s in steps if _get(s, "call_id")}
    out: list[ChatMessage] = []
    cards: dict[str, tuple[ChatMessage, Any]] = {}
    for row in rows:
        role = _get(row, "role")
        text = _content_text(_get(row, "content"))
        if role == "user" and (_get(row, "_note") or (_get(row, "extra") or {}).get("_note")):
            # A note the app gave the model (loop nudge, budget used up): shown as what it is, not as the user's words.
            out.append(ChatMessage(content=notice_html("info", text.removeprefix("[K2 Agent Hub] "))))
        elif role == "user" and (_get(row, "extra") or {}).get("_label"):
            # The app's own prompt for a workflow step (COBOL): the chat names the step, never shows the instructions.
            out.append(ChatMessage(content=notice_html("info", str(_get(row, "extra")["_label"]))))
        elif role == "user":
            out.append(ChatMessage(role="user", content=text + message_images(row)))  # attached images (issue 21)
        elif role == "assistant":
            reasoning = (_get(row, "reasoning_content") or "").strip()
            if reasoning:
                out.append(ChatMessage(content=reasoning, metadata={"title": THINKING, "status": "done"}))
            if text.strip():
                out.append(ChatMessage(content=text))
            for call in _tool_calls(_get(row, "tool_calls")):
                fn = call.get("function") or {}
                call_id, name, args = call.get("id") or "", fn.get("name") or call.get("name") or "tool", fn.get("arguments", "")
                card = tool_card(call_id, name, args)
                card.metadata["status"] = "done"  # a stored call whose result never came stays closed
                cards[call_id] = (card, args)
                out.append(card)
        elif role == "tool":
            call_id = _get(row, "tool_call_id") or ""
            step = step_by_call.get(call_id)
            if call_id in cards:
                card, args = cards[call_id]
            else:
                card, args = tool_card(call_id, _get(row, "name") or "tool", ""), ""
                out.append(card)
            error = _get(step, "error") if step is not None else None
            duration = _get(step, "duration_s") if step is not None else None
            finish_tool_card(card, args, text, duration, error)
            shown = message_images(row)  # the images the tool returned, as the model saw them
            if shown:
                out.append(ChatMessage(content=shown))
    return out
