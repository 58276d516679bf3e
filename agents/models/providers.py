"""K2 over litellm: the only module that imports litellm. Presets, K2 wire rules, retries, fallbacks, usage and cost."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.errors import AuthError, BudgetExceeded, ConfigError, ContextLengthError, ModelWorkerDied, ProviderError
from agents.events import Event, Notice, TextDelta
from agents.models.presets import (
    PRESETS,
    Price,
)
# Re-exported: callers choose a model through providers, the one door to the model layer.
from agents.models.model_spec import (  # noqa: F401
    NO_LOCAL_DEFAULT,
    NO_MODEL_MESSAGE,
    ModelSpec,
    default_provider,
    discover_models,
    first_configured_provider,
    key_env_names,
    resolve,
    resolve_chain,
)
from agents.models import call_worker, vision
from agents.models.call_gate import CALL_GATE
from agents.models.secrets import setting_value
from agents.models.assembly import Assembly, absorb_chunk, absorb_whole, plain_answer, usage_numbers
from agents.models.provider_errors import failed_generation, is_retryable, retry_after, short, status_of
from agents.models.toolcall_text import JSON_MARKERS, MARKERS, MarkerFilter, parse_text_tool_calls

if TYPE_CHECKING:
    from agents.privacy.session import PrivacySession  # a type only: the model worker process need not load privacy
    from agents.models.local.adapter import Fold

# litellm fetches its cost map from the network at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

_litellm: Any = None


def litellm_module() -> Any:
    """litellm, imported on first use (its import costs seconds; start-up should not pay it)."""
    global _litellm
    if _litellm is None:
        import litellm

        litellm.drop_params = False
        litellm.suppress_debug_info = True
        litellm.telemetry = False
        _litellm = litellm
    return _litellm


def start_model_worker() -> None:
    """Start the model worker process for whole answers (agents/models/call_worker.py) unless K2HUB_MODEL_WORKER
    is off; a swarm calls this as it starts (the first whole answer would too)."""
    if call_worker.enabled():
        call_worker.WORKER.prestart()


@dataclass
class Completion:
    """The result of one model call: an OpenAI-format assistant message plus usage and cost."""

    message: dict[str, Any]
    spec: ModelSpec
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    price_source: str = ""
    finish_reason: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one preset is tried before the next one in the fallback chain."""

    attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0


def _prices_override() -> dict[str, Price]:
    raw = setting_value("K2HUB_PRICES")
    if not raw:
        return {}
    try:
        table = json.loads(raw)
        return {m: Price(float(v[0]), float(v[1]), float(v[2]), "K2HUB_PRICES") for m, v in table.items()}
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise ConfigError(f'K2HUB_PRICES must be JSON like {{"model": [input, cached, output]}}: {exc}') from exc


# Models litellm's cost map does not price. The map is loaded once (a local file) and never changed here, so one
# refusal holds for the process; asking again costs ~0.3 ms of CPU per call in its fallback-name search.
_UNMAPPED: set[str] = set()


def known_price(spec: ModelSpec) -> Price | None:
    """The price cost_of uses when litellm's map lacks the model: K2HUB_PRICES, else the preset's, else None."""
    return _prices_override().get(spec.model) or spec.info.price


def cost_of(spec: ModelSpec, prompt: int, completion: int, cached: int) -> tuple[float, str]:
    """Dollar cost of one call and the figure it was computed with (override, litellm's map, or the preset)."""
    override = _prices_override().get(spec.model)
    if override is None and spec.litellm_model not in _UNMAPPED:
        try:
            inp, out = litellm_module().cost_per_token(
                model=spec.litellm_model, prompt_tokens=prompt, completion_tokens=completion, cache_read_input_tokens=cached
            )
            if inp or out:
                return inp + out, "litellm cost map"
        except Exception as exc:  # litellm raises several types for unmapped models; the preset covers them
            if type(exc).__name__ == "ModelNotMappedError":  # only this one says the map has no such model
                _UNMAPPED.add(spec.litellm_model)
    price = known_price(spec)
    if price is None:
        return 0.0, "no price known"
    uncached = max(prompt - cached, 0)
    cost = (uncached * price.input + cached * price.cached_input + completion * price.output) / 1e6
    return cost, price.source


# How each provider says a request is longer than the model's window (litellm maps only some of them).
_TOO_LONG = re.compile(r"exceeded model token limit|context_length_exceeded|maximum context length|context window|"
                       r"prompt is too long|too many tokens|reduce the length of the messages", re.IGNORECASE)
_REQUESTED = re.compile(r"(?:requested:?|resulted in|you requested)\s*([\d,]+)\s*(?:tokens)?", re.IGNORECASE)


def context_length_error(exc: BaseException, spec: ModelSpec) -> ContextLengthError | None:
    """The provider's "request too long" refusal as a ContextLengthError (with its token count when given)."""
    litellm = litellm_module()
    status = status_of(exc)
    exceeded = getattr(litellm, "ContextWindowExceededError", None)
    remote = getattr(exc, "context_window_exceeded", False)  # the model worker's word for litellm's class
    if not remote and not (exceeded is not None and isinstance(exc, exceeded)) and not (status in (400, 413, None)
                                                                          and _TOO_LONG.search(str(exc))):
        return None
    found = _REQUESTED.search(str(exc))
    requested = int(found.group(1).replace(",", "")) if found else None
    return ContextLengthError(f"{spec.label}: request longer than the model's context window ({short(exc)})",
                              provider=spec.provider, status=status, requested=requested)


def cached_discount(spec: ModelSpec) -> float:
    """What a cached prompt token costs relative to an uncached one (1.0 when no price is known)."""
    price = known_price(spec)
    return price.cached_input / price.input if price is not None and price.input > 0 else 1.0


async def complete(
    chain: list[ModelSpec],
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    *,
    emit: Callable[[Event], None],
    retry: RetryPolicy = RetryPolicy(),
    timeout_s: float = 600.0,
    privacy: PrivacySession | None = None,
    tool_choice: str = "auto",
    fold: Fold | None = None,
    stream: bool = True,
) -> Completion:
    """One model call with K2 rules, retries (Retry-After honoured) and the fallback chain; streams deltas to emit.

    With `privacy`, what leaves for each provider of the chain is redacted as its policy says, and the answer
    comes back with the real values (agents/privacy). tool_choice is "auto" or "none" (the only values thinking models
    accept); "none" asks for an answer. `fold` is the caller's context policy (agents.policy.compaction.fit_within)
    for the local model's last fitting step. `stream=False` asks for one JSON answer (sub-agents, whose text no one
    watches arrive): the same events follow, each in one piece, for about a third of litellm's CPU; the call runs in
    the model worker process when it is up (agents/models/call_worker.py).
    """
    errors: list[str] = []
    for position, spec in enumerate(chain):
        if position:
            emit(Notice(level="warning", message=f"Falling back to {spec.label}: {errors[-1]}"))
        try:
            return await _with_retries(spec, messages, tools, emit=emit, retry=retry, timeout_s=timeout_s,
                                       privacy=privacy, tool_choice=tool_choice, fold=fold, stream=stream)
        except (AuthError, ContextLengthError):
            raise
        except ProviderError as exc:
            errors.append(f"{spec.label}: {exc}")
            if not exc.retryable:
                raise
    raise ProviderError("Every provider failed: " + " | ".join(errors), retryable=True)


async def _with_retries(
    spec: ModelSpec,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    *,
    emit: Callable[[Event], None],
    retry: RetryPolicy,
    timeout_s: float,
    privacy: PrivacySession | None = None,
    tool_choice: str = "auto",
    fold: Fold | None = None,
    stream: bool = True,
) -> Completion:
    corrected = messages
    last: BaseException | None = None
    gate = CALL_GATE.get()  # a swarm's scheduler: per-provider concurrency, Retry-After, shared budget
    for attempt in range(1, retry.attempts + 1):
        try:
            if gate is None:
                return await _call(spec, corrected, tools, emit=emit, timeout_s=timeout_s, privacy=privacy,
                                   tool_choice=tool_choice, fold=fold, stream=stream)
            # The local model's corrective call runs inside the same slot and is billed with the call it corrects.
            async with gate.slot(spec.provider):
                done = await _call(spec, corrected, tools, emit=emit, timeout_s=timeout_s, privacy=privacy,
                                   tool_choice=tool_choice, fold=fold, stream=stream)
            gate.succeeded(spec.provider, done.cost_usd, done.prompt_tokens + done.completion_tokens)
            return done
        except (BudgetExceeded, ModelWorkerDied):
            raise  # the gate refused the call (the swarm's budget is spent), or the model worker died in it
        except Exception as exc:  # classified below; anything unexpected is reported, not swallowed
            last = exc
            status = status_of(exc)
            if status == 429 and gate is not None:
                gate.throttled(spec.provider, retry_after(exc))
            too_long = context_length_error(exc, spec)
            if too_long is not None:
                raise too_long from exc  # retrying the same request cannot help: the planner folds it first
            if status in (401, 403):
                raise AuthError(
                    f"Key missing or wrong for {spec.provider} ({status}): check {PRESETS[spec.provider].key_env}.",
                    provider=spec.provider,
                    status=status,
                ) from exc
            failed = failed_generation(exc)
            if failed is not None and attempt < retry.attempts:
                # Groq's tool_use_failed: the model wrote a malformed call; tell it so and try again.
                emit(Notice(level="warning", message=f"{spec.label}: malformed tool call, asking the model again"))
                corrected = [*messages, _corrective_message(failed)]
                continue
            if failed is not None:
                raise ProviderError(f"tool call kept failing ({short(exc)})", provider=spec.provider, retryable=True) from exc
            if not is_retryable(exc):
                raise ProviderError(short(exc), provider=spec.provider, status=status) from exc
            if attempt == retry.attempts:
                break
            delay = retry_after(exc)
            if delay is None:
                delay = retry.base_delay_s * 2 ** (attempt - 1) * (0.8 + 0.4 * random.random())
            delay = min(delay, retry.max_delay_s)
            emit(Notice(level="warning", message=f"{spec.label}: {short(exc)}; retry {attempt}/{retry.attempts - 1} in {delay:.1f}s"))
            await asyncio.sleep(delay)
    assert last is not None
    raise ProviderError(short(last), provider=spec.provider, status=status_of(last), retryable=True) from last


async def _call(spec: ModelSpec, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
                **kwargs: Any) -> Completion:
    """One model call; the local model's answer is then reviewed (see `_reviewed`)."""
    done = await _stream_once(spec, messages, tools, **kwargs)
    return done if spec.provider != "local" else await _reviewed(done, spec, messages, tools, **kwargs)


async def _reviewed(done: Completion, spec: ModelSpec, messages: list[dict[str, Any]],
                    tools: list[dict[str, Any]] | None, **kwargs: Any) -> Completion:
    """The local model's calls repaired by code, and, when a field is still wrong, the model asked once to fix it."""
    from agents.models.local.adapter import REPEATED, REVIEW_STATS, correction, review

    done.message, wrong = review(done.message, tools, messages)
    if wrong is None:
        return done
    REVIEW_STATS["asked_again"] += 1
    again = await _stream_once(spec, [*messages, *correction(done.message, wrong)], tools, **kwargs)
    again.message, still = review(again.message, tools, messages)
    answered = not again.message.get("tool_calls")
    if answered and REPEATED not in wrong:
        return done  # it answered in prose instead: keep the call; the hub's error reaches it with the result
    # (Asked not to repeat a call, an answer in prose is the step.)
    if still is None and not answered:
        REVIEW_STATS["fixed_by_retry"] += 1
    for name in ("prompt_tokens", "completion_tokens", "cached_tokens", "cost_usd"):
        setattr(again, name, getattr(again, name) + getattr(done, name))
    return again


def _corrective_message(failed: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": "Your last tool call could not be parsed"
        + (f" (you wrote: {failed[:500]})" if failed else "")
        + ". Call the tool again with arguments that are one valid JSON object matching its schema.",
    }


def prepare_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored messages as a request needs them: no None fields, content on assistant tool-call messages.

    reasoning_content stays on every assistant message that had it: K2 needs it replayed. Our own "_" keys
    (`_artifact` on a tool result) stay for the planner; they are removed when a request is sent.
    """
    out = []
    for m in messages:
        msg = {k: v for k, v in m.items() if v is not None}
        if msg.get("role") == "assistant" and msg.get("tool_calls") and "content" not in msg:
            msg["content"] = ""
        out.append(msg)
    return out


async def _stream_once(
    spec: ModelSpec,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    *,
    emit: Callable[[Event], None],
    timeout_s: float,
    privacy: PrivacySession | None = None,
    tool_choice: str = "auto",
    fold: Fold | None = None,
    stream: bool = True,
) -> Completion:
    litellm = litellm_module()
    # The privacy boundary: placeholders out, values back in (deltas, final message, tool-call arguments).
    guard = privacy.for_call(spec.provider, spec.api_base) if privacy is not None else None
    if guard is not None:
        messages = await asyncio.to_thread(guard.outgoing, messages)
        emit = guard.wrap(emit)
    messages = vision.wire_messages(spec, messages)  # images in the form this provider takes, or none (issue 21)
    api_base = spec.api_base
    if spec.provider == "local":
        from agents.models.local.adapter import prepare

        api_base, messages, tools = await prepare(spec.info, messages, tools, fold)
    kwargs: dict[str, Any] = {
        "model": spec.litellm_model,
        # Shallow copies (litellm must not change the checkpointed messages), without our own "_" keys.
        "messages": [{k: v for k, v in m.items() if not k.startswith("_")} for m in messages],
        "api_base": api_base,
        "api_key": spec.api_key,
        "timeout": timeout_s,
        "num_retries": 0,  # retries are ours: they honour Retry-After and feed the fallback chain
        **spec.sampling(),
    }
    if stream:
        kwargs.update(stream=True, stream_options={"include_usage": True})
    if tools:
        kwargs["tools"] = tools
        # Forced tool_choice is rejected while thinking; "auto" and "none" are valid everywhere.
        kwargs["tool_choice"] = tool_choice
    acc = Assembly()
    names = [t["function"]["name"] for t in tools or []]
    # While tools are offered, JSON that may be a call is held back too; what turns out not to be one follows below.
    shown = MarkerFilter(MARKERS + JSON_MARKERS if names else MARKERS)
    if stream:
        async for chunk in await litellm.acompletion(**kwargs):
            absorb_chunk(chunk, acc, shown, emit)
    else:
        absorb_whole(await _whole_answer(spec, kwargs), acc, shown, emit)
    tail = shown.flush()
    if tail:
        emit(TextDelta(text=tail))
    done = _finish(spec, acc, names)
    rest = shown.rest_of(done.message.get("content") or "")
    if rest:
        emit(TextDelta(text=rest))
    if guard is not None:
        done.message = guard.finish(done.message, emit)
    return done


async def whole_answer_here(kwargs: dict[str, Any]) -> dict[str, Any]:
    """One non-streamed call through litellm in this process, as plain data (the model worker runs this too)."""
    return plain_answer(await litellm_module().acompletion(**kwargs))


def error_fields(exc: BaseException) -> dict[str, Any]:
    """What the model worker tells the app of a failed call: all that the retry rules here read of an error."""
    exceeded = getattr(litellm_module(), "ContextWindowExceededError", None)
    return {"kind": type(exc).__name__, "message": str(exc), "status": status_of(exc), "retry_after": retry_after(exc),
            "context_window": exceeded is not None and isinstance(exc, exceeded)}


async def _whole_answer(spec: ModelSpec, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A non-streamed call: in the model worker process when it is up (litellm's per-call work on a whole answer
    is then off this process's interpreter), else here. The local model's calls stay here."""
    if spec.provider != "local" and call_worker.enabled():
        price = known_price(spec)  # for litellm's own logging in the worker (the cost stored is cost_of's, here)
        answer = await call_worker.WORKER.complete(
            kwargs, timeout_s=float(kwargs.get("timeout") or 600.0),
            price=[price.input, price.cached_input, price.output] if price is not None else None)
        if answer is not None:
            return answer
    return await whole_answer_here(kwargs)


def _finish(spec: ModelSpec, acc: Assembly, tool_names: list[str]) -> Completion:
    content = "".join(acc.text)
    calls = [
        {
            "id": slot["id"] or f"functions.{slot['name']}:{i}",
            "type": "function",
            "function": {"name": slot["name"], "arguments": slot["arguments"] or "{}"},
        }
        for i, slot in sorted(acc.calls.items())
    ]
    if not calls:
        content, calls = parse_text_tool_calls(content, tool_names=tool_names)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    reasoning = "".join(acc.reasoning)
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = calls
    prompt, completion, cached = usage_numbers(acc.usage)
    cost, source = cost_of(spec, prompt, completion, cached)
    return Completion(message, spec, prompt, completion, cached, cost, source, acc.finish)
