"""What the provider layer does differently for the embedded local model: start its server, and send it a request
that fits a small model with a small context; check what it answers.

- Tools: the few relevant to the user's request (tool_select: every enabled server's tools are candidates, as many
  as fit TOOL_SHARE of the window), with JSON-schema noise (`title`) dropped, long descriptions cut and enums spelled
  out as "choose one of".
- Tool results are cut harder than for K2 (ModelInfo.result_chars).
- After tool results, a short system note tells the model to answer from them: measured on the 0.5B model, it
  otherwise re-emits the call it just made far more often than it answers. When the request has steps ("write
  primes.py …, then run it") and fewer calls were made than steps, the note names the next step instead: with the
  answer note the model stopped after the first call (and echoed the note as its answer).
- When the request still would not fit (the planner already fitted it to this model's window with the common policy,
  agents.policy.compaction; the cuts above are counted more cautiously here), the caller's fold function (that same
  policy, handed in through providers.complete: the model layer does not import the policy) folds the oldest step
  groups into records. Without one, the oldest turns are dropped.
- The calls it writes are repaired where code can decide (arguments.repair: numbers written as words, magnitudes
  off by a power of ten from the user's number) and checked against the schema; `review` names the first wrong field
  so the provider asks the model once more (REVIEW_STATS counts how often that fixes it). A call identical to one
  already made in the turn is asked about once the same way (REPEATED); an answer in prose then replaces it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from agents.models.local import arguments, runtime, weights
from agents.models.local.tool_select import request_text, select_tools, turn_start
from agents.models.presets import ModelInfo

Fold = Callable[[list[dict[str, Any]], float, Callable[[list[dict[str, Any]]], int]], list[dict[str, Any]]]
"""(messages, limit, measure) -> the messages folded until `measure` says they take at most `limit`."""

AFTER_TOOLS = ("Now answer the user's request in plain text, using the tool result above; do not call the same tool "
               "again. If the result is an error, call the tool again with corrected arguments instead.")
NEXT_STEP = ("The tool result above is for this part of the user's request: \"{done}\". Now do the next part: "
             "\"{next}\". Call the tool for it (not the same call again).")
_THEN = re.compile(r"(?:,|;|\.)?\s+(?:and\s+)?then\s+|\s*;\s*|,\s+and\s+(?=(?:run|execute|save|write|read|"
                   r"delete|list|open|search|show|print|tell)\b)", re.I)
_TOOL_STEP = re.compile(r"(?:run|execute|write|save|create|make|delete|remove|rename|edit|append|read|open|list|"
                        r"search|grep|load|call|use)\b", re.I)
"""How a step a tool does starts ("run it in the sandbox"); "tell me …" or "answer …" is answered from results."""
CHARS_PER_TOKEN = 3.0  # conservative for code and JSON; the server refuses (clearly) what still does not fit
ANSWER_RESERVE_TOKENS = 1024
TOOL_SHARE = 0.3  # of the window, for the tool schemas (8K: ~2,400 tokens, 6-10 typical tools)
DESCRIPTION_CHARS = 300
PARAM_DESCRIPTION_CHARS = 160
REPEATED = ("this exact call was already made in this turn and its result is above; do not repeat it: call the "
            "tool for the next part of the request, or answer from that result")
"""Measured: after writing primes.py the 0.5B model made the same write_file call five times instead of running it."""
REVIEW_STATS = {"reviewed": 0, "repaired": 0, "asked_again": 0, "fixed_by_retry": 0}
"""Counters for benchmarks: calls checked, changed by code, sent back to the model once, and right the second time."""


async def prepare(
    info: ModelInfo, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, fold: Fold | None = None
) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]] | None]:
    """(base URL of the running local server, shaped messages, chosen tools); starts the server when needed."""
    model = await asyncio.to_thread(weights.model_for_use)  # the pinned file is hashed once per process
    url = await asyncio.to_thread(runtime.ensure_server, model)
    chosen = tools_for(info, messages, tools or [])
    shaped = shrink_results(messages, info.result_chars or 2000)
    if shaped and shaped[-1].get("role") == "tool":
        shaped.append({"role": "system", "content": after_tools(messages)})
    budget = runtime.context_size() - ANSWER_RESERVE_TOKENS - _tokens(str(chosen))
    return url, fit(shaped, budget, fold), chosen or None


def steps(request: str) -> list[str]:
    """The parts of a request that says its steps in order ("write x, then run it"); one part when it does not."""
    return [p.strip(" .") for p in _THEN.split(request) if p.strip(" .")]


def after_tools(messages: list[dict[str, Any]]) -> str:
    """The note after tool results: the next step of the request when some are left, else answer from the results."""
    turn = turn_start(messages)
    calls = sum(1 for m in messages[turn:] if m.get("role") == "assistant" and m.get("tool_calls"))
    parts = steps(request_text(messages))
    if 0 < calls < len(parts) and _TOOL_STEP.match(parts[calls]):
        return NEXT_STEP.format(done=parts[calls - 1], next=parts[calls])
    return AFTER_TOOLS


def tools_for(info: ModelInfo, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool schemas a request to the local model carries: the relevant ones, shaped for a small model."""
    usable = usable_tools(info, tools)
    budget = int(runtime.context_size() * TOOL_SHARE)
    return [compact(t) for t in select_tools(messages, [compact(t) for t in usable], budget, info.max_tools)]


def usable_tools(info: ModelInfo, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tools of the servers the model may use (ModelInfo.tool_servers; None, the default: every server's)."""
    if info.tool_servers is None:
        return tools
    return [t for t in tools if t.get("function", {}).get("name", "").partition("__")[0] in info.tool_servers]


def compact(tool: dict[str, Any]) -> dict[str, Any]:
    """The spec for a small model: no JSON-schema `title`s (pydantic adds one per field), descriptions cut, and each
    enum said in words ("choose one of: a, b"): the 0.5B model otherwise copies the whole list as the value."""
    def strip(node: Any, in_properties: bool = False) -> Any:
        if isinstance(node, dict):
            # Inside "properties" the keys are parameter names: a parameter called "title" must stay.
            out = {k: strip(v, k == "properties") for k, v in node.items() if in_properties or k != "title"}
            if not in_properties and isinstance(out.get("description"), str):
                out["description"] = _cut(out["description"], PARAM_DESCRIPTION_CHARS)
            if not in_properties and isinstance(node.get("enum"), list) and "choose one of" not in str(
                    out.get("description", "")):
                options = ", ".join(json.dumps(v) for v in node["enum"][:12])
                out["description"] = f"{out.get('description', '')} (choose one of: {options})".strip()
            return out
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    fn = tool.get("function")
    if not isinstance(fn, dict):
        return strip(tool)
    shaped = {**fn, "parameters": strip(fn.get("parameters") or {"type": "object", "properties": {}})}
    if isinstance(fn.get("description"), str):
        shaped["description"] = _cut(fn["description"], DESCRIPTION_CHARS)
    return {**tool, "function": shaped}


def _cut(text: str, chars: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= chars else text[: chars - 1].rsplit(" ", 1)[0] + "…"


def review(message: dict[str, Any], tools: list[dict[str, Any]] | None,
           messages: list[dict[str, Any]]) -> tuple[dict[str, Any], str | None]:
    """The assistant message with its calls' arguments repaired, and what is still wrong (to ask once), or None."""
    calls = message.get("tool_calls") or []
    if not calls or not tools:
        return message, None
    schemas = {t["function"]["name"]: t["function"].get("parameters") or {} for t in tools if t.get("function")}
    request = request_text(messages)
    made = _calls_this_turn(messages)
    fixed, wrong = [], None
    for call in calls:
        fn = call.get("function") or {}
        schema = schemas.get(fn.get("name", ""))
        REVIEW_STATS["reviewed"] += 1
        try:
            args = json.loads(fn.get("arguments") or "{}")
        except ValueError:
            args = None
        if schema is None or not isinstance(args, dict):
            wrong = wrong or (None if schema is None else f"{fn.get('name')}: the arguments are not one JSON object")
            fixed.append(call)
            continue
        repaired = arguments.repair(args, schema, request)
        if repaired != args:
            REVIEW_STATS["repaired"] += 1
            call = {**call, "function": {**fn, "arguments": json.dumps(repaired, ensure_ascii=False)}}
        issue = arguments.problem(repaired, schema)
        if issue is None and (fn.get("name"), repaired) in made:
            issue = REPEATED
        if issue and wrong is None:
            wrong = f"{fn.get('name')}: {issue}"
        fixed.append(call)
    return {**message, "tool_calls": fixed}, wrong


def _calls_this_turn(messages: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """(name, arguments) of the calls made since the turn's user message."""
    turn = turn_start(messages)
    made = []
    for m in messages[turn:]:
        for call in m.get("tool_calls") or []:
            fn = call.get("function") or {}
            try:
                made.append((fn.get("name"), json.loads(fn.get("arguments") or "{}")))
            except ValueError:
                continue
    return made


def correction(message: dict[str, Any], wrong: str) -> list[dict[str, Any]]:
    """The two messages that ask the model once to fix a call: its call as it wrote it, and the exact field."""
    if REPEATED in wrong:
        ask = f"Not that call: {wrong}."
    else:
        ask = f"That tool call is invalid: {wrong}. Write the corrected call now, with values taken from my request."
    return [{"role": "assistant", "content": message.get("content") or "", "tool_calls": message["tool_calls"]},
            {"role": "user", "content": ask}]


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
    turn = turn_start(messages)
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
