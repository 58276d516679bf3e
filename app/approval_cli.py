"""Approvals in the terminal: `python run.py approve RUN_ID CALL_ID [--deny]`, and y/N prompts during `ask`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from agents.policy.approval import code_of

WAITING_EXIT = 3  # `ask`, `resume` and `approve` exit with this while the run waits for an approval
ARGS_CHARS = 2000


def add_parser(sub: Any) -> None:
    """The `approve` verb."""
    p = sub.add_parser("approve", help="approve (or --deny) a tool call a waiting run asked about, and continue it")
    p.add_argument("run_id", help="the waiting run (see `runs`, or the approval_requested event)")
    p.add_argument("call_id", help="the tool call to decide")
    p.add_argument("--deny", action="store_true", help="deny the call: the model is told it did not run")
    p.add_argument("--note", default="", help="a word for the model with the decision")
    p.add_argument("--json", action="store_true", help="print one JSON event per line")


def approve_events(agent: Any, args: argparse.Namespace) -> AsyncIterator[Any]:
    """The events of recording the decision and, once nothing else waits, of the continued run."""
    return agent.approve(args.run_id, args.call_id, not args.deny, args.note)


def describe(ev: Any, color: Callable[[str, str], str], yellow: str, bold: str) -> str:
    """An approval request for the terminal: what would run, what it does and why it asks."""
    lines = [color(bold + yellow, f"\n⚠ Approval needed: {ev.name} {ev.risk}".rstrip())]
    code = code_of(ev.name, ev.arguments)
    if code is not None:
        if code[2]:
            lines.append(json.dumps(code[2], ensure_ascii=False))
        lines.append(code[1][:ARGS_CHARS])
    else:
        lines.append(json.dumps(ev.arguments, ensure_ascii=False, indent=2)[:ARGS_CHARS])
    lines.append(color(yellow, f"Why: {ev.reason}"))
    if getattr(ev, "subagent", ""):  # a swarm's sub-agent: only its branch waits, the run goes on
        lines.append(color(yellow, f"Asked by {ev.subagent} (only it waits)."))
    run_id = getattr(ev, "subagent_run_id", "") or ev.run_id
    lines.append(f"approve: python run.py approve {run_id} {ev.call_id}   deny: add --deny\n")
    return "\n".join(lines)


def ask_terminal(question: str) -> str:
    """One line from the terminal (EOFError when stdin is closed)."""
    sys.stdout.write(question)
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


async def interactive(
    agent: Any, events: AsyncIterator[Any], ask: Callable[[str], str] = ask_terminal
) -> AsyncIterator[Any]:
    """Pass a run's events through; when it waits, ask y/N for each pending call and continue with the answers."""
    from storage import approvals

    while True:
        waiting = None
        async for ev in events:
            if ev.type == "run_finished" and ev.reason == "waiting":
                waiting = ev
                break
            yield ev
        if waiting is None:
            return
        pending = await asyncio.to_thread(approvals.approvals_for_run, agent.db, waiting.run_id, pending_only=True)
        if not pending:
            yield waiting
            return
        decisions = []
        for row in pending:
            try:
                answer = await asyncio.to_thread(ask, f"Run {row.tool} ({row.call_id})? [y/N] ")
            except EOFError:
                print("\nNo answer: the run stays waiting.", file=sys.stderr)
                yield waiting
                return
            decisions.append((row.call_id, answer.strip().lower() in ("y", "yes")))
        for call_id, approved in decisions[:-1]:
            async for ev in agent.approve(waiting.run_id, call_id, approved):
                if ev.type not in ("run_finished", "notice"):  # "still waiting for …": we are about to answer it
                    yield ev
        call_id, approved = decisions[-1]
        events = agent.approve(waiting.run_id, call_id, approved)
