"""Which tools a small local model is offered for a turn: the few most relevant to the user's request.

Every enabled server's tools are candidates (built-in and mcp.json alike). Each tool is scored against the turn's
user message like a BM25 document with three fields: its name's words (weighted most), its description, and its
parameters' names and descriptions. The word weight is BM25's idf, `log(1 + (N - n + 0.5) / (n + 0.5))`, which stays
positive when one tool is offered (the plain `log(N / n)` is 0 then, and a relevant single tool was never sent).
A tool the user names always goes; tools the conversation called before are preferred (a follow-up such as "now run
it again" shares few words with the tool). How many go is set by a token budget (a share of the model's window),
not a fixed count; tools far below the best match stay out: they are noise a small model reads and copies from.

The choice is made from the turn's user message and the turns before it, so it stays the same for every step of one
run and the prompt prefix (system prompt + tool list) stays cacheable.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

RELATIVE_CUTOFF = 0.2  # send a tool only if it scores at least this share of the best tool's score
NAME_WEIGHT, PARAM_WEIGHT, TEXT_WEIGHT = 3.0, 1.5, 1.0
USED_BONUS = 0.6  # share of the best score a previously used tool gets on top of its own
NAMED_BONUS = 100.0
CHARS_PER_TOKEN = 3.0  # same cautious count as the adapter's
_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_STOP = frozenset("a about all also am an and any are as at be been both but by can could did do does each e g for "
                  "from had has have he her his how i if in into is it its just like me more most my no not of on "
                  "only or other our please same she should so some such than that the their them then there these "
                  "they this those to too use using very was we were what when which who why will with would you "
                  "your given value default optional required string number integer boolean object array type "
                  "list".split())


def stem(word: str) -> str:
    """A crude stem that joins the usual variants: files/file, running/run, calculated/calculate → shared prefix."""
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) >= 4 and word[-1] == word[-2]:  # runn(ing) -> run
        word = word[:-1]
    return word[:6]


def words(text: str) -> list[str]:
    """Stemmed content words: "workspace__write_file" -> [workspac, write, file]; camelCase split too."""
    text = _CAMEL.sub(" ", text).lower()
    return [stem(w) for w in _WORD.findall(text) if w not in _STOP and len(w) > 1]


def _fields(tool: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    fn = tool.get("function", {})
    props = (fn.get("parameters") or {}).get("properties", {}) or {}
    params = " ".join(f"{k} {v.get('description', '') if isinstance(v, dict) else ''}" for k, v in props.items())
    return set(words(fn.get("name", ""))), set(words(params)), set(words(fn.get("description", "") or ""))


def request_text(messages: list[dict[str, Any]]) -> str:
    """The turn's user message as text."""
    request = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "") or ""
    if isinstance(request, list):
        return " ".join(str(p.get("text", "")) for p in request if isinstance(p, dict))
    return str(request)


def turn_start(messages: list[dict[str, Any]]) -> int:
    """Index of the turn's user message (the last one; 0 when there is none)."""
    return max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=0)


def used_tools(messages: list[dict[str, Any]]) -> set[str]:
    """Names of the tools called before the turn's user message (the conversation's earlier turns)."""
    turn = turn_start(messages)
    return {c.get("function", {}).get("name", "") for m in messages[:turn] for c in m.get("tool_calls") or []}


def scores(request: str, tools: list[dict[str, Any]], used: Iterable[str] = ()) -> list[float]:
    """Each tool's relevance to the request (0: no shared word and not named)."""
    asked = set(words(request))
    described = [_fields(t) for t in tools]
    n = len(tools)
    counts: dict[str, int] = {}
    for fields in described:
        for w in set().union(*fields):
            counts[w] = counts.get(w, 0) + 1
    out = []
    for tool, (name_w, param_w, text_w) in zip(tools, described):
        score = 0.0
        for w in asked:
            if w not in counts:
                continue
            idf = math.log(1 + (n - counts[w] + 0.5) / (counts[w] + 0.5))
            weight = max((NAME_WEIGHT if w in name_w else 0), (PARAM_WEIGHT if w in param_w else 0),
                         (TEXT_WEIGHT if w in text_w else 0))
            score += idf * weight
        name = tool.get("function", {}).get("name", "")
        short = name.partition("__")[2] or name
        if name and (name in request or (len(short) > 6 and "_" in short and short in request)):
            score += NAMED_BONUS  # the user named the tool: always send it
        out.append(score)
    top = max(out, default=0.0)
    used = set(used)
    # A follow-up ("run it again") shares few words with the tool it means: what was used before is preferred,
    # as long as the request is about tools at all (something matched).
    return [s + USED_BONUS * top if top > 0 and t.get("function", {}).get("name") in used else s
            for s, t in zip(out, tools)]


def tokens(tool: dict[str, Any]) -> int:
    return int(len(json.dumps(tool, ensure_ascii=False)) / CHARS_PER_TOKEN) + 1


def select_tools(messages: list[dict[str, Any]], tools: list[dict[str, Any]], budget_tokens: int,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """The tools most relevant to the turn (best first until `budget_tokens` or `limit`), in their original order."""
    scored = scores(request_text(messages), tools, used_tools(messages))
    top = max(scored, default=0.0)
    if top <= 0:
        return []
    ranked = sorted((i for i, s in enumerate(scored) if s > 0 and s >= RELATIVE_CUTOFF * top),
                    key=lambda i: (-scored[i], i))
    chosen: list[int] = []
    spent = 0
    for i in ranked:
        cost = tokens(tools[i])
        if chosen and (spent + cost > budget_tokens or (limit is not None and len(chosen) >= limit)):
            continue  # a smaller, weaker tool may still fit
        chosen.append(i)
        spent += cost
    return [tools[i] for i in sorted(chosen)]
