"""The planner's side of context management: fit each request in the run's model window, learn from the provider.

The policy itself (what is kept, what is folded, when) is agents.policy.compaction; this module supplies the run's
facts: the window of its model (agents.policy.context.context_window), the calibration ratio of our o200k count to
the provider's, and the tool schemas the request will carry.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from typing import Any

from agents.errors import ContextLengthError
from agents.models import providers
from agents.planner.state import RunContext
from agents.policy import compaction
from agents.policy.context import CALIBRATION, context_window, encoding_loaded
from agents.policy.token_cache import uncounted_chars

INLINE_CHARS = 50_000
"""Up to this much new text is counted on the event loop (about a millisecond); more goes to a worker thread."""
RETRY_RATIO_STEP = 1.25
"""When the provider refused without saying its count, assume ours was at least this much too low."""
_CALL_INDEX = re.compile(r":(\d+)$")


def fit(
    ctx: RunContext, messages: list[dict[str, Any]], upto: int, refused: ContextLengthError | None = None
) -> compaction.Prepared:
    """The request for the next model call; folded (harder after a refusal) when it would not fit."""
    spec = ctx.chain[0]
    ratio = CALIBRATION.ratio(spec.label)
    tools = tools_sent(spec, messages, ctx.tools)
    if refused is None:
        return compaction.prepare(ctx.system_prompt, messages, tools, window=context_window(spec), upto=upto,
                                  ratio=ratio)
    estimate = compaction.prepare(ctx.system_prompt, messages, tools, window=context_window(spec), upto=upto,
                                  ratio=ratio).estimate
    if refused.requested and estimate:
        ratio = max(ratio, refused.requested / estimate)
        CALIBRATION.observe(spec.label, estimate, refused.requested)
    else:
        ratio *= RETRY_RATIO_STEP
    return compaction.prepare(ctx.system_prompt, messages, tools, window=context_window(spec), upto=upto,
                              ratio=ratio, hard=True)


def tools_sent(
    spec: providers.ModelSpec, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """The tool schemas a request to this model carries (the local model gets only a few: they count in its window)."""
    if spec.provider != "local" or not tools:
        return list(tools or [])
    from agents.models.local.adapter import tools_for

    return tools_for(spec.info, messages, tools)


async def fit_async(
    ctx: RunContext, messages: list[dict[str, Any]], upto: int, refused: ContextLengthError | None = None
) -> compaction.Prepared:
    """fit, on the event loop when only a little text is new (the usual step), else in a worker thread."""
    if encoding_loaded() and uncounted_chars(messages) <= INLINE_CHARS:
        return fit(ctx, messages, upto, refused)
    return await asyncio.to_thread(fit, ctx, messages, upto, refused)


def observe(ctx: RunContext, prepared: compaction.Prepared, reported_prompt_tokens: int) -> None:
    """Fold the provider's count of this request into the model's calibration ratio."""
    if reported_prompt_tokens > 0:
        CALIBRATION.observe(ctx.chain[0].label, prepared.estimate, reported_prompt_tokens)


def compaction_notice(prepared: compaction.Prepared) -> str:
    """What the chat says when a compaction happened."""
    return (f"Context {prepared.window:,} tokens: folded the older steps into compact records — "
            f"{prepared.folded_calls} tool call{'s' if prepared.folded_calls != 1 else ''} in all so far; the request "
            f"is now {prepared.share:.0%} of the window. Full results stay readable by artifact id.")


def retry_notice(exc: ContextLengthError, prepared: compaction.Prepared) -> str:
    """What the chat says when the provider refused a request as too long and it is retried folded harder."""
    said = f" (it counted {exc.requested:,} tokens)" if exc.requested else ""
    return (f"The provider refused the request as longer than the model's window{said}: folded harder to "
            f"{prepared.share:.0%} of {prepared.window:,} tokens, trying once more.")


_SEEN: OrderedDict[str, tuple[int, set[str]]] = OrderedDict()
SEEN_RUNS = 64


def _ids_in(messages: list[dict[str, Any]], key: str | None) -> set[str]:
    """Tool-call ids of the messages; for a run (`key`), scanned incrementally: its message list only grows."""
    scanned, used = _SEEN.get(key, (0, set())) if key else (0, set())
    if scanned > len(messages):  # not the list this run had: start over
        scanned, used = 0, set()
    used = set(used) if not key else used
    for m in messages[scanned:]:
        if m.get("role") == "assistant":
            used.update(c.get("id") for c in m.get("tool_calls") or [])
    if key:
        _SEEN[key] = (len(messages), used)
        _SEEN.move_to_end(key)
        while len(_SEEN) > SEEN_RUNS:
            _SEEN.popitem(last=False)
    return used


def unique_call_ids(message: dict[str, Any], messages: list[dict[str, Any]], run_id: str | None = None) -> dict[str, Any]:
    """The message with any tool-call id already used in the conversation replaced by a fresh one.

    K2 numbers its ids over the calls it can see (`functions.name:N`); once older calls are folded it may number
    from a lower N again. Ids stay exactly as received unless they repeat (a repeat would merge two calls' results).
    """
    calls = message.get("tool_calls")
    if not calls:
        return message
    used = set(_ids_in(messages, run_id))
    if not any(c.get("id") in used for c in calls):
        return message
    top = max((int(found.group(1)) for i in used if isinstance(i, str) and (found := _CALL_INDEX.search(i))),
              default=-1)
    fresh = []
    for call in calls:
        if call.get("id") in used:
            top += 1
            name = (call.get("function") or {}).get("name") or "tool"
            call = {**call, "id": f"functions.{name}:{top}"}
            while call["id"] in used:
                top += 1
                call["id"] = f"functions.{name}:{top}"
        used.add(call["id"])
        fresh.append(call)
    return {**message, "tool_calls": fresh}
