"""The planner's nodes: call the model (after checking budgets and loops) and run one tool call."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from langgraph.runtime import Runtime

from agents.hub.hub import ToolResult
from agents.errors import AppError, ContextLengthError
from agents.models import providers
from agents.policy import approval, budget, compaction, loop_guard, untrusted
from agents.events import ContextUsage, Notice, ToolCallFinished, ToolCallStarted, Usage
from agents.planner import images, window
from agents.planner.call_hooks import call_hooks
from agents.planner.state import RunContext, RunState, ToolTask, appended
from agents.planner.tools import KEPT_ARTIFACT, PlannerTool
from storage import repo

PREVIEW_CHARS = 400


def _emit(runtime: Runtime[RunContext]):  # noqa: ANN202 - LangGraph's writer type is private
    if runtime.context.sink is not None:
        return runtime.context.sink
    writer = runtime.stream_writer
    return writer if writer is not None else (lambda _event: None)


def _guard(state: RunState, ctx: RunContext) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str]:
    """Before each model call: a stop (budget, loop), or a nudge and its notice for a model repeating itself."""
    reason = budget.exceeded(state, ctx.limits, cached_ratio=providers.cached_discount(ctx.chain[0]))
    if reason:
        return {"stop_reason": "budget", "error": reason}, [], ""
    streak, name = loop_guard.repeat_streak(state["messages"][state.get("base", 0) :])
    if streak >= loop_guard.STOP_AT:
        error = f"Stopped: {name} was called {streak} times in a row with the same arguments."
        return {"stop_reason": "loop", "error": error}, [], ""
    if streak >= loop_guard.NUDGE_AT and name:
        return None, [loop_guard.nudge_message(name, streak)], f"{name} repeated {streak}× with the same arguments; nudging the model."
    return None, [], ""


async def call_model(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Check budgets and loops, fit the request in the window, then ask the model for the next message."""
    ctx = runtime.context
    emit = _emit(runtime)
    stop, extra, notice = _guard(state, ctx)
    if stop is not None:
        return stop
    if notice:
        emit(Notice(level="warning", message=notice))
    last_call = budget.tools_used_up(state, ctx.limits)  # no tools this time: the budget leaves room for the answer
    if last_call:
        emit(Notice(level="warning", message=budget.used_up_message(state, ctx.limits)))
        extra = [*extra, budget.final_note(state, ctx.limits)]
    step_id = f"model:{state.get('steps', 0) + 1}"
    recorded = await asyncio.to_thread(repo.get_step, ctx.db, ctx.run_id, step_id) if ctx.resumed else None
    if recorded is not None and recorded.message is not None:
        # An answer recorded before a crash is replayed, not asked for (and paid for) again.
        usage = (recorded.prompt_tokens, recorded.completion_tokens, recorded.cached_tokens, recorded.cost_usd)
        update = _model_update(state, emit, [*extra, recorded.message], *usage, price_source="recorded step")
        upto = (recorded.args or {}).get("upto")
        if isinstance(upto, int) and upto != _context(state)["upto"]:
            update["context"] = {"upto": upto, "compactions": _context(state)["compactions"] + 1}
        return _after_answer(update, recorded.message, last_call, state, ctx)
    fitted = await window.fit_async(ctx, [*state["messages"], *extra], _context(state)["upto"])
    if fitted.compacted:
        emit(Notice(level="info", message=window.compaction_notice(fitted)))
    started = time.monotonic()
    choice = "none" if last_call else "auto"
    try:
        try:
            sent = await images.request_messages(ctx, fitted.messages)  # the chosen images' data URLs (issue 21)
            done = await providers.complete(ctx.chain, sent, ctx.tools or None, emit=emit, retry=ctx.retry,
                                            privacy=ctx.privacy, tool_choice=choice, fold=compaction.fit_within,
                                            stream=ctx.stream)
        except ContextLengthError as exc:
            # Our count was off (or the provider counts differently): fold harder and try once more.
            fitted = await window.fit_async(ctx, [*state["messages"], *extra], fitted.upto, exc)
            emit(Notice(level="warning", message=window.retry_notice(exc, fitted)))
            sent = await images.request_messages(ctx, fitted.messages)
            done = await providers.complete(ctx.chain, sent, ctx.tools or None, emit=emit,
                                            retry=ctx.retry, privacy=ctx.privacy, tool_choice=choice,
                                            fold=compaction.fit_within, stream=ctx.stream)
    except AppError as exc:
        return {"stop_reason": "error", "error": str(exc), "messages": appended(extra)}
    window.observe(ctx, fitted, done.prompt_tokens)
    message = window.unique_call_ids(done.message, state["messages"], ctx.run_id)
    # The step row is written before the node returns: it, not the checkpoint, is what a resumed run trusts.
    await asyncio.to_thread(
        repo.add_step,
        ctx.db,
        ctx.run_id,
        kind="model",
        name=done.spec.label,
        call_id=step_id,
        args={"messages": len(fitted.messages), "tools": len(ctx.tools), "upto": fitted.upto,
              "context_tokens": fitted.tokens},
        result_preview=(message.get("content") or "")[:PREVIEW_CHARS],
        message=message,
        prompt_tokens=done.prompt_tokens,
        completion_tokens=done.completion_tokens,
        cached_tokens=done.cached_tokens,
        cost_usd=done.cost_usd,
        duration_s=time.monotonic() - started,
    )
    update = _model_update(
        state, emit, [*extra, message], done.prompt_tokens, done.completion_tokens, done.cached_tokens,
        done.cost_usd, price_source=done.price_source,
    )
    compactions = _context(state)["compactions"] + (1 if fitted.upto != _context(state)["upto"] else 0)
    if fitted.upto != _context(state)["upto"]:
        update["context"] = {"upto": fitted.upto, "compactions": compactions}
    emit(ContextUsage(tokens=done.prompt_tokens or fitted.tokens, window=fitted.window,
                      compacted_steps=fitted.folded_calls, compactions=compactions))
    return _after_answer(update, message, last_call, state, ctx)


def _context(state: RunState) -> dict[str, int]:
    return {"upto": 0, "compactions": 0, **(state.get("context") or {})}


def _after_answer(
    update: dict[str, Any], message: dict[str, Any], last_call: bool, state: RunState, ctx: RunContext
) -> dict[str, Any]:
    """Count the tool calls asked for; after the last call a model still asking for tools ends the run."""
    calls = len(message.get("tool_calls") or [])
    update["tool_calls"] = calls
    if last_call and calls:
        update.update(stop_reason="budget", error=budget.used_up_message(state, ctx.limits))
    return update


def _model_update(
    state: RunState, emit: Any, new: list[dict[str, Any]], prompt: int, completion: int, cached: int, cost: float,
    *, price_source: str,
) -> dict[str, Any]:
    """The state update of one model step, announced with the run's cumulative usage."""
    emit(
        Usage(
            prompt_tokens=state.get("prompt_tokens", 0) + prompt,
            completion_tokens=state.get("completion_tokens", 0) + completion,
            cached_tokens=state.get("cached_tokens", 0) + cached,
            cost_usd=state.get("cost_usd", 0.0) + cost,
            price_source=price_source,
        )
    )
    return {"messages": appended(new), "steps": 1, "prompt_tokens": prompt, "completion_tokens": completion,
            "cached_tokens": cached, "cost_usd": cost}


def parse_arguments(raw: Any) -> Any:
    """A call's arguments as the planner runs them: JSON text parsed, empty text {}, invalid text kept as is."""
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            return raw
    return raw


async def run_tool(task: ToolTask, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Run one tool call through the hub; a call finished before a crash is not run again."""
    ctx = runtime.context
    emit = _emit(runtime)
    call = task["call"]
    call_id, name = call["id"], call["function"]["name"]
    key = task.get("key") or f"id:{call_id}"  # a checkpoint written before keys existed
    args = parse_arguments(call["function"].get("arguments"))
    stored_args = args if isinstance(args, dict) else {"raw": args}
    # After a crash, a call that finished before it is answered from its step row instead of running again.
    done = await asyncio.to_thread(_finished_step, ctx, call_id, key, name, stored_args) if ctx.resumed else None
    if done is not None:
        content = done.result_preview or done.error or ""
        replayed = _tool_message(call_id, name, content, done.artifact_id, bool(done.error))
        kept = await images.named_in(ctx, name, content)  # the images it returned, found again by artifact id
        if kept:
            replayed[images.IMAGES] = kept
        return {"messages": appended([replayed])}
    if name not in {t["function"]["name"] for t in ctx.tools}:
        # Only what this run (or sub-agent) was offered may run: anything else never reaches the hub.
        refusal = (f"Tool {name!r} is not available in this run; call one of the tools you were given "
                   f"({', '.join(t['function']['name'] for t in ctx.tools[:30]) or 'none'}).")
        await approval.record_denial(ctx, emit, call_id, name, args, refusal)
        return {"messages": appended([_tool_message(call_id, name, refusal, error=True)])}
    own = ctx.planner_tools.runner(name)
    declared = own.annotations if own is not None else None
    # A risky call after untrusted content waits here (a LangGraph interrupt) for the user's approval.
    denial = await approval.gate(ctx, emit, key, name, args, task.get("batch", ()), declared)
    if denial is not None:
        await approval.record_denial(ctx, emit, call_id, name, args, denial)
        return {"messages": appended([_tool_message(call_id, name, denial, error=True)])}
    emit(ToolCallStarted(call_id=call_id, name=name, arguments=args))
    usage: dict[str, Any] = {}  # a planner-level tool's own model usage (sub-agents), added to this run's totals
    source: str | None = None  # a re-read result points to the artifact it came from, not to a new copy
    if own is not None and own.run is not None:
        result, usage = await own.run(ctx, args, emit)
        source = (result.structured or {}).get(KEPT_ARTIFACT)
    else:
        result = await ctx.hub.call(name, args, meta={"k2hub/conversation": ctx.conversation_id,
                                                       "k2hub/run": ctx.run_id},
                                    hooks=call_hooks(emit, ctx.hub.questions, call_id, name, ctx.conversation_id))
    sources = untrusted_sources(ctx, name, args, result, own)
    if sources:
        await approval.record_reads(ctx, key, name, sources)
    if source is not None or len(result.text) <= compaction.INLINE_RESULT_CHARS:
        view, artifact_id = _bounded_view(ctx, name, result.text, source)  # nothing to store: no thread hop
    else:
        view, artifact_id = await asyncio.to_thread(_bounded_view, ctx, name, result.text, source)
    if sources:  # the model reads text from outside as data, inside a fence it cannot close
        view = untrusted.fence(view, source="; ".join(sources[:3]), tool=name)
    seen, image_lines = await images.from_tool(ctx, name, result, sources, emit)  # kept by artifact id
    if image_lines:
        view = f"{view}\n{image_lines}" if view else image_lines
    error = result.text[:PREVIEW_CHARS] if result.is_error else None
    await asyncio.to_thread(_record_step, ctx, call_id, key, name, stored_args, view, artifact_id, result.duration_s,
                            error)
    for watcher in ctx.planner_tools.watchers(name):  # e.g. the run records which skill versions it followed
        if watcher.after is not None:
            await watcher.after(ctx, args, result)
    emit(
        ToolCallFinished(
            call_id=call_id,
            name=name,
            preview=result.text[:PREVIEW_CHARS],
            duration_s=result.duration_s,
            error=error,
            artifact_id=artifact_id,
        )
    )
    message = _tool_message(call_id, name, view, artifact_id, result.is_error)
    if seen:
        message[images.IMAGES] = seen
    return {"messages": appended([message]), **usage}


def untrusted_sources(ctx: RunContext, name: str, args: Any, result: ToolResult, own: PlannerTool | None) -> list[str]:
    """Where the untrusted text in a result came from; empty when the result is trusted."""
    if own is not None:  # a declared source, or what the tool flagged in this result (a re-read web page)
        flagged = (result.meta or {}).get(untrusted.UNTRUSTED_META)
        return [own.result_source] if own.result_source else [str(s)[:500] for s in flagged or []]
    info = ctx.hub.tool_info(name)
    if info is None:
        return []
    config = info[0]
    if untrusted.is_untrusted_server(config):
        return [untrusted.source_of(config.name, args, result.text)]
    return untrusted.declared_sources(config, result.meta)


def _record_step(ctx: RunContext, call_id: str, key: str, name: str, args: dict[str, Any], view: str,
                 artifact_id: str | None, duration_s: float, error: str | None) -> None:
    """The tool call's step row; a model that reused an earlier call's id gets a row of its own (id@key)."""
    fields = dict(kind="tool", name=name, args=args, result_preview=view, artifact_id=artifact_id,
                  duration_s=duration_s, error=error)
    step = repo.add_step(ctx.db, ctx.run_id, call_id=call_id, **fields)  # type: ignore[arg-type]
    if (step.name, step.args) != (name, args):  # the id was taken by another call: keep both on record
        repo.add_step(ctx.db, ctx.run_id, call_id=f"{call_id}@{key}", **fields)  # type: ignore[arg-type]


def _finished_step(ctx: RunContext, call_id: str, key: str, name: str, args: dict[str, Any]) -> Any:
    """The step row of this very call if it finished before a crash (a reused model id must not replay another)."""
    step = repo.get_step(ctx.db, ctx.run_id, call_id)
    if step is not None and (step.name, step.args) != (name, args):
        step = repo.get_step(ctx.db, ctx.run_id, f"{call_id}@{key}")
    return step


def _tool_message(
    call_id: str, name: str, content: str, artifact_id: str | None = None, error: bool = False
) -> dict[str, Any]:
    """A tool result; `_artifact` and `_error` are for folding (agents.policy.compaction), never sent to a model."""
    message = {"role": "tool", "tool_call_id": call_id, "name": name, "content": content}
    if artifact_id:
        message["_artifact"] = artifact_id
    if error:
        message["_error"] = True
    return message


def _bounded_view(ctx: RunContext, name: str, text: str, source: str | None = None) -> tuple[str, str | None]:
    """What the model sees of a result, and the artifact holding it whole.

    A result longer than a fold record shows inline is kept as an artifact, so that once its step is folded the
    model can read it again; one longer than the view is also cut for the model. A re-read result points to the
    artifact it was read from.
    """
    if source is not None or len(text) <= compaction.INLINE_RESULT_CHARS:
        return text if len(text) <= ctx.result_chars else _cut(text, ctx.result_chars, source), source
    artifact = repo.save_artifact(
        ctx.db, text, name=f"{name}.txt", mime="text/plain", kind="tool_result",
        conversation_id=ctx.conversation_id, run_id=ctx.run_id,
    )
    return (text if len(text) <= ctx.result_chars else _cut(text, ctx.result_chars, artifact.id)), artifact.id


def _cut(text: str, chars: int, artifact_id: str | None) -> str:
    kept = f"; the full result is artifact {artifact_id}" if artifact_id else ""
    return text[:chars] + f"\n[… result cut: {len(text):,} characters in all{kept}]"


