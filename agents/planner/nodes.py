"""The planner's nodes: call the model (after checking budgets and loops) and run one tool call."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from langgraph.runtime import Runtime

from agents.hub.hub import ToolResult
from agents.errors import AppError
from agents.models import providers
from agents.policy import approval, budget, loop_guard, untrusted
from agents.events import Notice, ToolCallFinished, ToolCallStarted, Usage
from agents.planner.call_hooks import call_hooks
from agents.planner.state import RunContext, RunState, ToolTask
from agents.planner.tools import PlannerTool
from storage import repo

PREVIEW_CHARS = 400


def _emit(runtime: Runtime[RunContext]):  # noqa: ANN202 - LangGraph's writer type is private
    writer = runtime.stream_writer
    return writer if writer is not None else (lambda _event: None)


def _guard(state: RunState, ctx: RunContext) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str]:
    """Before each model call: a stop (budget, loop), or a nudge and its notice for a model repeating itself."""
    reason = budget.exceeded(state, ctx.limits)
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
    """Check budgets and loops, then ask the model for the next message, streaming reasoning and text as events."""
    ctx = runtime.context
    emit = _emit(runtime)
    stop, nudge, notice = _guard(state, ctx)
    if stop is not None:
        return stop
    if notice:
        emit(Notice(level="warning", message=notice))
    step_id = f"model:{state.get('steps', 0) + 1}"
    recorded = await asyncio.to_thread(repo.get_step, ctx.db, ctx.run_id, step_id) if ctx.resumed else None
    if recorded is not None and recorded.message is not None:
        # An answer recorded before a crash is replayed, not asked for (and paid for) again.
        usage = (recorded.prompt_tokens, recorded.completion_tokens, recorded.cached_tokens, recorded.cost_usd)
        return _model_update(state, emit, [*nudge, recorded.message], *usage, price_source="recorded step")
    messages = [{"role": "system", "content": ctx.system_prompt}, *state["messages"], *nudge]
    started = time.monotonic()
    try:
        done = await providers.complete(ctx.chain, messages, ctx.tools or None, emit=emit, retry=ctx.retry,
                                        privacy=ctx.privacy)
    except AppError as exc:
        return {"stop_reason": "error", "error": str(exc), "messages": nudge}
    # The step row is written before the node returns: it, not the checkpoint, is what a resumed run trusts.
    await asyncio.to_thread(
        repo.add_step,
        ctx.db,
        ctx.run_id,
        kind="model",
        name=done.spec.label,
        call_id=step_id,
        args={"messages": len(messages), "tools": len(ctx.tools)},
        result_preview=(done.message.get("content") or "")[:PREVIEW_CHARS],
        message=done.message,
        prompt_tokens=done.prompt_tokens,
        completion_tokens=done.completion_tokens,
        cached_tokens=done.cached_tokens,
        cost_usd=done.cost_usd,
        duration_s=time.monotonic() - started,
    )
    return _model_update(
        state, emit, [*nudge, done.message], done.prompt_tokens, done.completion_tokens, done.cached_tokens,
        done.cost_usd, price_source=done.price_source,
    )


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
    return {"messages": new, "steps": 1, "prompt_tokens": prompt, "completion_tokens": completion,
            "cached_tokens": cached, "cost_usd": cost}


def _parse_args(raw: Any) -> Any:
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
    args = _parse_args(call["function"].get("arguments"))
    stored_args = args if isinstance(args, dict) else {"raw": args}
    # After a crash, a call that finished before it is answered from its step row instead of running again.
    done = await asyncio.to_thread(_finished_step, ctx, call_id, key, name, stored_args) if ctx.resumed else None
    if done is not None:
        return {"messages": [_tool_message(call_id, name, done.result_preview or done.error or "")]}
    if name not in {t["function"]["name"] for t in ctx.tools}:
        # Only what this run (or sub-agent) was offered may run: anything else never reaches the hub.
        refusal = (f"Tool {name!r} is not available in this run; call one of the tools you were given "
                   f"({', '.join(t['function']['name'] for t in ctx.tools[:30]) or 'none'}).")
        await approval.record_denial(ctx, emit, call_id, name, args, refusal)
        return {"messages": [_tool_message(call_id, name, refusal)]}
    own = ctx.planner_tools.runner(name)
    declared = own.annotations if own is not None else None
    # A risky call after untrusted content waits here (a LangGraph interrupt) for the user's approval.
    denial = await approval.gate(ctx, emit, key, name, args, task.get("batch", ()), declared)
    if denial is not None:
        await approval.record_denial(ctx, emit, call_id, name, args, denial)
        return {"messages": [_tool_message(call_id, name, denial)]}
    emit(ToolCallStarted(call_id=call_id, name=name, arguments=args))
    usage: dict[str, Any] = {}  # a planner-level tool's own model usage (sub-agents), added to this run's totals
    if own is not None and own.run is not None:
        result, usage = await own.run(ctx, args, emit)
    else:
        result = await ctx.hub.call(name, args, meta={"k2hub/conversation": ctx.conversation_id,
                                                       "k2hub/run": ctx.run_id},
                                    hooks=call_hooks(emit, ctx.hub.questions, call_id, name, ctx.conversation_id))
    sources = untrusted_sources(ctx, name, args, result, own)
    if sources:
        await approval.record_reads(ctx, key, name, sources)
    view, artifact_id = await asyncio.to_thread(_bounded_view, ctx, name, result.text)
    if sources:  # the model reads text from outside as data, inside a fence it cannot close
        view = untrusted.fence(view, source="; ".join(sources[:3]), tool=name)
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
    return {"messages": [_tool_message(call_id, name, view)], **usage}


def untrusted_sources(ctx: RunContext, name: str, args: Any, result: ToolResult, own: PlannerTool | None) -> list[str]:
    """Where the untrusted text in a result came from; empty when the result is trusted."""
    if own is not None:
        return [own.result_source] if own.result_source else []
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


def _tool_message(call_id: str, name: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "name": name, "content": content}


def _bounded_view(ctx: RunContext, name: str, text: str) -> tuple[str, str | None]:
    """What the model sees of a result; a long one is kept whole as an artifact and cut for the model."""
    if len(text) <= ctx.result_chars:
        return text, None
    artifact = repo.save_artifact(
        ctx.db, text, name=f"{name}.txt", mime="text/plain", kind="tool_result",
        conversation_id=ctx.conversation_id, run_id=ctx.run_id,
    )
    note = f"\n[… result cut: {len(text):,} characters in all; the full result is artifact {artifact.id}]"
    return text[: ctx.result_chars] + note, artifact.id


