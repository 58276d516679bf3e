"""Keeps every model request inside the model's context window: old step groups are folded into compact records.

One policy for the planner (agents.planner.nodes.call_model), its sub-agents (the same graph) and the embedded local
model (agents.models.local.adapter):

- The request is counted with the calibrated o200k counter (agents.policy.context) against the model's window.
- Below HIGH_WATER of the window nothing changes. Above it, one large step folds the oldest step groups until the
  request is down to LOW_WATER: compactions are rare, and between two of them every request starts with the very
  same messages, so the provider's prefix cache keeps working.
- Kept verbatim: the system prompt, every user message, answers (assistant messages without tool calls) and the
  newest step group (its calls may still be pending).
- Folded: a step group (an assistant tool-call message with its reasoning, and its tool results) becomes one line per
  call in a record: tool, arguments, outcome, size, and the artifact that holds the full result. Whole groups are
  folded, so an assistant tool-call message that is sent always keeps its reasoning_content (K2 answers 400 without).
- The model's working notes (the context__notes tool) are repeated in the newest record: they survive every fold.
- Records are deterministic: the same messages and boundary give the same text, byte for byte.

The boundary (how many leading messages are folded) lives in the graph state, so it survives a resume.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agents.policy.token_cache import message_key, message_tokens, text_tokens
from agents.policy.untrusted import FENCE_TAG

HIGH_WATER = 0.70
"""Share of the window above which the request is compacted."""
LOW_WATER = 0.40
"""Share of the window a compaction brings the request down to."""
HARD_WATER = 0.25
"""Target after the provider refused a request as too long (our count was wrong: leave a wide margin)."""
SQUEEZE_AT = 0.90
"""If folding every older group still leaves more than this share, the largest messages are cut."""
HARD_SQUEEZE_AT = 0.60
"""The same after a refusal: the provider counts more than we do, so the margin is wider."""
RECORD_SHARE = 0.15
"""Records may take this share of the window; beyond it the oldest lines are shortened, then only counted."""
MIN_TAIL_GROUPS = 1
ARGS_CHARS = 160
SNIPPET_CHARS = 100
INLINE_RESULT_CHARS = 200
"""A result up to this size is shown whole in its record line; a longer one is kept as an artifact to re-read."""
NOTES_TOOL = "context__notes"
READ_TOOL = "context__read_artifact"
NOTES_PREFIX = "Your notes"
"""First line of every context__notes result; the notes follow on the next line."""
MARK = "[K2 Agent Hub]"
_CUT_NOTE = re.compile(r"\[… result cut: ([\d,]+) characters in all")


@dataclass(frozen=True)
class Span:
    """A run of messages: one step group (foldable), or a single message that is always kept."""

    start: int
    end: int
    group: bool


@dataclass
class Prepared:
    """The request to send and the arithmetic behind it."""

    messages: list[dict[str, Any]]
    estimate: int
    """o200k tokens of the request as sent (compare with the provider's prompt_tokens to calibrate)."""
    tokens: int
    """The estimate times the calibration ratio: what the provider is expected to count."""
    window: int
    upto: int
    """messages[:upto] were sent folded."""
    folded_calls: int
    compacted: bool
    """This call moved the boundary (a compaction happened now)."""
    squeezed: bool = False

    @property
    def share(self) -> float:
        return self.tokens / self.window if self.window else 0.0


def spans(messages: Sequence[dict[str, Any]]) -> list[Span]:
    """Split messages into step groups (assistant tool calls + their results) and single kept messages."""
    out: list[Span] = []
    i, n = 0, len(messages)
    while i < n:
        m = messages[i]
        if m.get("role") == "assistant" and m.get("tool_calls"):
            j = i + 1
            while j < n and messages[j].get("role") == "tool":
                j += 1
            out.append(Span(i, j, True))
            i = j
        else:
            out.append(Span(i, i + 1, False))
            i += 1
    return out


def prepare(
    system: str,
    messages: Sequence[dict[str, Any]],
    tools: Sequence[dict[str, Any]] | None,
    *,
    window: int,
    upto: int = 0,
    ratio: float = 1.0,
    hard: bool = False,
) -> Prepared:
    """The request for one model call: as before while it fits under HIGH_WATER, else compacted in one step."""
    fixed = text_tokens(system) + 4 + (text_tokens(json.dumps(list(tools), ensure_ascii=False)) if tools else 0)
    sp = spans(messages)
    upto = _snap(sp, upto)
    ratio = max(ratio, 1e-6)
    rendered = render(messages, upto, window, sp)
    current = fixed + sum(message_tokens(m) for m in rendered)
    if hard or current * ratio > HIGH_WATER * window:
        target = (HARD_WATER if hard else LOW_WATER) * window / ratio
        chosen = _choose(messages, sp, upto, fixed, window, target)
        if chosen != upto:
            upto, rendered = chosen, render(messages, chosen, window, sp)
            current = fixed + sum(message_tokens(m) for m in rendered)
            compacted = True
        else:
            compacted = False
    else:
        compacted = False
    prepared = Prepared([{"role": "system", "content": system}, *rendered], current, math.ceil(current * ratio),
                        window, upto, folded_calls(messages, upto), compacted)
    squeeze_at = HARD_SQUEEZE_AT if hard else SQUEEZE_AT
    if prepared.tokens > squeeze_at * window:
        prepared = _squeeze(prepared, fixed - text_tokens(system) - 4, ratio, squeeze_at)
    return prepared


def fit_within(
    messages: Sequence[dict[str, Any]], limit: float, measure: Callable[[list[dict[str, Any]]], int] | None = None
) -> list[dict[str, Any]]:
    """The messages folded, oldest groups first, until they take at most `limit` tokens (a model's hard limit, as
    the local adapter has); the leading system message is kept whole, the largest texts are cut as a last resort.

    `limit` is in `measure`'s count when given (the local adapter's cautious estimate): it is scaled to o200k by the
    ratio of the two counts on these very messages.
    """
    if measure is not None:
        limit *= sum(message_tokens(m) for m in messages) / max(measure(list(messages)), 1)
    head = list(messages[:1]) if messages and messages[0].get("role") == "system" else []
    rest = list(messages[len(head):])
    fixed = sum(message_tokens(m) for m in head)
    if fixed + sum(message_tokens(m) for m in rest) <= limit:
        return list(messages)
    sp = spans(rest)
    window = max(int(limit), 1)
    upto = _choose(rest, sp, 0, fixed, window, limit)
    folded = [*head, *render(rest, upto, window, sp)]
    return _cut_to(folded, limit)


def _snap(sp: list[Span], upto: int) -> int:
    """The largest group boundary at or below `upto` (a boundary never falls inside a group)."""
    best = 0
    for s in sp:
        if s.end > upto:
            break
        best = s.end
    return best


def _foldable_ends(sp: list[Span]) -> list[int]:
    """Boundaries that fold whole groups and leave the newest MIN_TAIL_GROUPS groups verbatim."""
    groups = [s for s in sp if s.group]
    allowed = groups[: max(0, len(groups) - MIN_TAIL_GROUPS)]
    return [s.end for s in allowed]


def _measure(messages: Sequence[dict[str, Any]], sp: list[Span], upto: int, fixed: int, window: int) -> int:
    """o200k tokens of the request with messages[:upto] folded."""
    return fixed + sum(message_tokens(m) for m in render(messages, upto, window, sp))


def _choose(
    messages: Sequence[dict[str, Any]], sp: list[Span], upto: int, fixed: int, window: int, target: float
) -> int:
    """The smallest boundary at or after `upto` that brings the request to `target` tokens (else the largest)."""
    ends = [e for e in _foldable_ends(sp) if e >= upto]
    if not ends:
        return upto
    # Estimate each candidate from running sums (one line per folded call), then confirm with a real render.
    verbatim_after = [0] * (len(messages) + 1)
    for i in range(len(messages) - 1, -1, -1):
        verbatim_after[i] = verbatim_after[i + 1] + message_tokens(messages[i])
    kept_before, lines_before, k = 0, 0, 0
    estimates: list[tuple[int, int]] = []
    for s in sp:
        if k >= len(ends):
            break
        if s.group:
            lines_before += sum(text_tokens(line) + 1 for line in group_lines(messages, s))
        else:
            kept_before += message_tokens(messages[s.start])
        if s.end == ends[k]:
            estimates.append((s.end, fixed + kept_before + lines_before + 120 + verbatim_after[s.end]))
            k += 1
    for end, estimate in estimates:
        if estimate <= target and _measure(messages, sp, end, fixed, window) <= target:
            return end
    return ends[-1]


def render(
    messages: Sequence[dict[str, Any]], upto: int, window: int, sp: list[Span] | None = None
) -> list[dict[str, Any]]:
    """messages with the step groups before `upto` folded into records (kept messages stay where they were)."""
    if upto <= 0:
        return list(messages)
    key = (hash(tuple(message_key(m) for m in messages[:upto])), upto, window)
    head = _RENDERED.get(key)
    if head is None:
        head = _render_head(messages, upto, window, spans(messages) if sp is None else sp)
        if len(_RENDERED) >= RENDER_CACHE:
            _RENDERED.pop(next(iter(_RENDERED)))
        _RENDERED[key] = head
    # The same head objects at every call until the next fold: the request prefix stays byte-identical.
    return [*head, *messages[upto:]]


RENDER_CACHE = 64
_RENDERED: dict[tuple[int, int, int], list[dict[str, Any]]] = {}


def _render_head(messages: Sequence[dict[str, Any]], upto: int, window: int, sp: list[Span]) -> list[dict[str, Any]]:
    parts: list[tuple[str, Any]] = []  # ("keep", message) or ("lines", [line, ...]), in order
    for s in sp:
        if s.start >= upto:
            break
        if not s.group:
            parts.append(("keep", messages[s.start]))
            continue
        if not parts or parts[-1][0] != "lines":
            parts.append(("lines", []))
        parts[-1][1].extend(group_lines(messages, s))
    lines = _fit_lines([line for kind, value in parts if kind == "lines" for line in value], int(RECORD_SHARE * window))
    last = max((i for i, (kind, _) in enumerate(parts) if kind == "lines"), default=-1)
    notes = latest_notes(messages[:upto])
    out: list[dict[str, Any]] = []
    taken = 0
    for index, (kind, value) in enumerate(parts):
        if kind == "keep":
            out.append(value)
            continue
        mine = [line for line in lines[taken : taken + len(value)] if line]
        taken += len(value)
        if mine or index == last:
            out.append(_record_message(mine, notes if index == last else None))
    return out


def folded_calls(messages: Sequence[dict[str, Any]], upto: int) -> int:
    """How many tool calls messages[:upto] fold."""
    return sum(len(m.get("tool_calls") or []) for m in messages[:upto] if m.get("role") == "assistant")


def group_lines(messages: Sequence[dict[str, Any]], span: Span) -> list[str]:
    """One record line per tool call of a step group (deterministic: same messages, same lines)."""
    head = messages[span.start]
    results = {m.get("tool_call_id"): m for m in messages[span.start + 1 : span.end]}
    said = head.get("content")
    lines = []
    for call in head.get("tool_calls") or []:
        fn = call.get("function") or {}
        line = f"{fn.get('name') or '?'} {_clip(_one_line(str(fn.get('arguments') or '{}')), ARGS_CHARS)} → "
        lines.append(line + _outcome(results.get(call.get("id"))))
    if isinstance(said, str) and said.strip() and lines:
        lines[0] += f' (you wrote: "{_clip(_one_line(said), SNIPPET_CHARS)}")'
    return lines


def _outcome(result: dict[str, Any] | None) -> str:
    if result is None:
        return "no result"
    shown = [e["id"][:12] for e in result.get("_images") or [] if isinstance(e, dict) and e.get("id")]
    if shown:  # images fold to their artifact ids: context__read_artifact shows one again (issue 21)
        return f"{_outcome({k: v for k, v in result.items() if k != '_images'})}; image artifact {', '.join(shown)}"
    text = result.get("content")
    text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    artifact = result.get("_artifact")
    if result.get("_error"):
        return f'error: "{_clip(_one_line(text), SNIPPET_CHARS)}"'
    cut = _CUT_NOTE.search(text)
    size = int(cut.group(1).replace(",", "")) if cut else len(text)
    if text.startswith(f"<{FENCE_TAG}"):
        # Text from outside never moves into a record (a user-role message) where it would read as the user's words.
        kept = f", artifact {artifact[:12]}" if artifact else ""
        return f"ok, {size:,} chars{kept}: text from outside (untrusted), not repeated here"
    if artifact:
        return f'ok, {size:,} chars, artifact {artifact[:12]}: "{_clip(_one_line(text), SNIPPET_CHARS)}"'
    if len(text) <= INLINE_RESULT_CHARS:
        return f'ok: "{_one_line(text)}"'
    return f'ok, {size:,} chars (not kept): "{_clip(_one_line(text), SNIPPET_CHARS)}"'


def _brief(line: str) -> str:
    """A line without arguments and snippet: the tool, the outcome, the artifact."""
    name = line.split(" ", 1)[0]
    artifact = re.search(r"artifact ([0-9a-f]{12})", line)
    outcome = "error" if "→ error" in line else "ok"
    return f"{name} → {outcome}" + (f", artifact {artifact.group(1)}" if artifact else "")


def _fit_lines(lines: list[str], budget: int) -> list[str]:
    """Numbered lines within `budget` tokens: the oldest shortened first, then replaced by one count line."""
    numbered = [f"{i}. {line}" for i, line in enumerate(lines, 1)]
    total = sum(text_tokens(line) + 1 for line in numbered)
    i = 0
    while total > budget and i < len(numbered):
        brief = f"{i + 1}. {_brief(lines[i])}"
        total += text_tokens(brief) - text_tokens(numbered[i])
        numbered[i] = brief
        i += 1
    if total <= budget:
        return numbered
    # Still too long: the oldest lines become one count line (the artifacts stay listed by context__read_artifact).
    drop = 0
    while total > budget and drop < len(numbered) - 1:
        total -= text_tokens(numbered[drop]) + 1
        drop += 1
    counts = Counter(line.split(" ", 1)[0] for line in lines[:drop])
    summary = ", ".join(f"{name} ×{n}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    head = (f"1–{drop}. {summary} (their results: {READ_TOOL} without an artifact_id lists them)")
    return [head, *([""] * (drop - 1)), *numbered[drop:]]


def _record_message(lines: list[str], notes: str | None) -> dict[str, Any]:
    text = (
        f"{MARK} Earlier tool calls are folded here to keep this conversation inside the context window "
        f"(one line each: call → outcome). Re-read a full result with {READ_TOOL}(artifact_id); nothing is lost.\n"
        + "\n".join(lines)
    )
    if notes:
        text += f"\n\nYour working notes ({NOTES_TOOL}), as last saved in the folded steps:\n{notes}"
    return {"role": "user", "content": text}


def latest_notes(messages: Sequence[dict[str, Any]]) -> str | None:
    """The notes of the newest successful context__notes result in `messages`, if any."""
    for m in reversed(messages):
        if m.get("role") == "tool" and m.get("name") == NOTES_TOOL and not m.get("_error"):
            text = m.get("content")
            if isinstance(text, str) and text.startswith(NOTES_PREFIX):
                return text.partition("\n")[2] or None
    return None


def _squeeze(prepared: Prepared, tools_tokens: int, ratio: float, share: float) -> Prepared:
    """Last resort when even folding every older group is too much: cut the longest texts (never the system prompt)."""
    messages = _cut_to(prepared.messages, share * prepared.window / ratio - tools_tokens)
    estimate = sum(message_tokens(m) for m in messages) + tools_tokens
    return Prepared(messages, estimate, math.ceil(estimate * ratio), prepared.window, prepared.upto,
                    prepared.folded_calls, prepared.compacted, squeezed=True)


def _cut_to(messages: list[dict[str, Any]], limit: float) -> list[dict[str, Any]]:
    """The messages with the longest texts cut until they take at most `limit` tokens (the first one is kept)."""
    messages = list(messages)
    for _ in range(len(messages)):
        total = sum(message_tokens(m) for m in messages)
        candidates = [i for i in range(1, len(messages)) if len(_text(messages[i])) > 512]
        if total <= limit or not candidates:
            break
        index = max(candidates, key=lambda i: len(_text(messages[i])))
        text = _text(messages[index])
        share = max(0.0, 1 - (total - limit + 64) / max(message_tokens(messages[index]), 1))
        keep = max(256, int(len(text) * share))
        if keep >= len(text):
            break
        cut = text[:keep] + f"\n{MARK} [… {len(text) - keep:,} characters cut to fit the context window]"
        messages[index] = {**messages[index], "content": cut}
    return messages


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
