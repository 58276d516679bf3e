"""What the provider layer does differently for the embedded local model: start its server, and send it a request
that fits a small model with a small context.

- Tools: only the few relevant to the user's request (simple lexical relevance: words of the request against each
  tool's name, description and parameter names, weighted by how rare the word is among the tools; a tool the user
  names always goes, tools far below the best match do not). The choice is
  made from the turn's user message, so it stays the same for every step of one run and the prompt prefix (system
  prompt + tool list) stays cacheable.
- Tool results are cut harder than for K2 (ModelInfo.result_chars), and JSON-schema noise (`title`) is dropped.
- After tool results, a short system note tells the model to answer from them: measured on the 0.5B model, it
  otherwise re-emits the call it just made far more often than it answers.
- When the request still would not fit (the planner already fitted it to this model's window with the common policy,
  agents.policy.compaction; the cuts above are counted more cautiously here), the caller's fold function (that same
  policy, handed in through providers.complete: the model layer does not import the policy) folds the oldest step
  groups into records. Without one, the oldest turns are dropped.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable
from typing import Any

from agents.models.local import runtime, weights
from agents.models.presets import ModelInfo

Fold = Callable[[list[dict[str, Any]], float, Callable[[list[dict[str, Any]]], int]], list[dict[str, Any]]]
"""(messages, limit, measure) -> the messages folded until `measure` says they take at most `limit`."""

AFTER_TOOLS = ("Now answer the user's request in plain text, using the tool result above; do not call the same tool "
               "again. If the result is an error, call the tool again with corrected arguments instead.")
CHARS_PER_TOKEN = 3.0  # conservative for code and JSON; the server refuses (clearly) what still does not fit
ANSWER_RESERVE_TOKENS = 1024
RELATIVE_CUTOFF = 0.25  # send a tool only if it scores at least this share of the best tool's score
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("a about all also am an and any are as at be been both but by can could did do does each e g for "
                  "from had has have he her his how i if in into is it its just like me more most my no not of on "
                  "only or other our please same she should so some such than that the their them then there these "
                  "they this those to too use using very was we were what when which who why will with would you "
                  "your".split())


async def prepare(
    info: ModelInfo, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, fold: Fold | None = None
) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]] | None]:
    """(base URL of the running local server, shaped messages, chosen tools); starts the server when needed."""
    model = await asyncio.to_thread(weights.model_for_use)  # the pinned file is hashed once per process
    url = await asyncio.to_thread(runtime.ensure_server, model)
    chosen = select_tools(messages, usable_tools(info, tools or []), info.max_tools or 4)
    shaped = shrink_results(messages, info.result_chars or 2000)
    if shaped and shaped[-1].get("role") == "tool":
        shaped.append({"role": "system", "content": AFTER_TOOLS})
    budget = runtime.context_size() - ANSWER_RESERVE_TOKENS - _tokens(str(chosen))
    return url, fit(shaped, budget, fold), [compact(t) for t in chosen] or None


def usable_tools(info: ModelInfo, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tools of the servers the model may use (ModelInfo.tool_servers; all when None)."""
    if info.tool_servers is None:
        return tools
    return [t for t in tools if t.get("function", {}).get("name", "").partition("__")[0] in info.tool_servers]


def _words(text: str) -> set[str]:
    # "workspace__write_file" -> {"workspace", "write", "file"}; "notes.txt" -> {"notes", "txt"}
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _tool_words(tool: dict[str, Any]) -> tuple[set[str], set[str], str]:
    fn = tool.get("function", {})
    name = fn.get("name", "")
    params = " ".join((fn.get("parameters") or {}).get("properties", {}))
    return _words(name), _words(f"{fn.get('description', '')} {params}"), name


def select_tools(messages: list[dict[str, Any]], tools: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The tools most relevant to the turn's user message (at most `limit`, in their original order)."""
    request = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "") or ""
    request = request if isinstance(request, str) else str(request)
    asked = _words(request)
    described = [_tool_words(t) for t in tools]
    docs = len(tools) or 1
    rarity: dict[str, float] = {}
    for name_words, text_words, _ in described:
        for w in name_words | text_words:
            rarity[w] = rarity.get(w, 0) + 1
    scores = []
    for index, (name_words, text_words, name) in enumerate(described):
        # A word every tool shares ("workspace", "path") says nothing: log(docs / count) is 0 for it.
        score = sum(math.log(docs / rarity[w]) * (3 if w in name_words else 1)
                    for w in asked & (name_words | text_words))
        if name and name in request:
            score += 100  # the user named the tool: always send it
        scores.append((score, index))
    top = max((s for s, _ in scores), default=0.0)
    # Far weaker matches than the best one are noise for a small model (and prompt tokens it must read).
    best = sorted((s for s in scores if s[0] > 0 and s[0] >= RELATIVE_CUTOFF * top), key=lambda s: (-s[0], s[1]))
    return [tools[i] for i in sorted(i for _, i in best[:limit])]


def compact(tool: dict[str, Any]) -> dict[str, Any]:
    """The spec without JSON-schema `title`s (pydantic adds one per field; the model gains nothing from them)."""
    def strip(node: Any, in_properties: bool = False) -> Any:
        if isinstance(node, dict):
            # Inside "properties" the keys are parameter names: a parameter called "title" must stay.
            return {k: strip(v, k == "properties") for k, v in node.items() if in_properties or k != "title"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(tool)


def shrink_results(messages: list[dict[str, Any]], chars: int) -> list[dict[str, Any]]:
    """Copies of the messages with every tool result cut to `chars` characters, saying how much was cut."""
    out = []
    for m in messages:
        content = m.get("content")
        if m.get("role") == "tool" and isinstance(content, str) and len(content) > chars:
            m = {**m, "content": content[:chars] + f"\n[… {len(content) - chars:,} more characters not shown]"}
        out.append(m)
    return out


def _tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def estimate(messages: list[dict[str, Any]]) -> int:
    """This module's cautious token estimate of messages (CHARS_PER_TOKEN)."""
    return sum(_tokens(str(m.get("content") or "")) + _tokens(str(m.get("tool_calls") or "")) for m in messages)


def fit(messages: list[dict[str, Any]], budget_tokens: int, fold: Fold | None = None) -> list[dict[str, Any]]:
    """The messages within `budget_tokens` (estimate's count): folded by `fold` (the planner's policy), or else with
    the oldest messages before the current turn dropped; system messages and the turn stay."""
    size = estimate(messages)
    if size <= budget_tokens:
        return messages
    if fold is not None:
        return fold(messages, budget_tokens, estimate)
    turn = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=0)
    keep = list(messages)
    i = 0
    while size > budget_tokens and i < turn:
        m = keep[i]
        if m.get("role") == "system":
            i += 1
            continue
        size -= _tokens(str(m.get("content") or "")) + _tokens(str(m.get("tool_calls") or ""))
        del keep[i]
        turn -= 1
    # A tool result whose call was dropped would be refused by the template: drop leading orphans too.
    while i < len(keep) and keep[i].get("role") == "tool":
        del keep[i]
    return keep
