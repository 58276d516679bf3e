"""A server's question (elicitation) in the terminal: asked field by field on a tty, declined otherwise."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from agents.hub.elicitation import Answer, FormError, FormField, Question, coerce, form_fields

DECLINE = "!no"


def _prompt(f: FormField) -> str:
    choices = f" ({', '.join(f'{v}={label}' if label != v else v for v, label in f.options)})" if f.options else ""
    kind = {"boolean": " [y/n]", "multi": " (comma-separated)"}.get(f.kind, "")
    default = f" [{', '.join(f.default) if isinstance(f.default, list) else f.default}]" if f.default is not None else ""
    need = "*" if f.required else ""
    about = f" — {f.description}" if f.description else ""
    return f"  {f.title}{need}{about}{choices}{kind}{default}: "


async def ask_on_terminal(question: Question, read: Callable[[str], str] = input) -> Answer:
    """Ask on the terminal; without one (a script, a pipe) the question is declined and the server told so."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()) and read is input:
        print(f"\n[{question.server} asks: {question.message}] declined: no terminal to ask you on.", file=sys.stderr)
        return Answer("decline")
    print(f"\n{question.server} asks: {question.message}  (Enter keeps [defaults]; type {DECLINE} to decline)")
    raw: dict[str, Any] = {}
    for f in question.fields:
        while True:
            try:
                text = (await asyncio.to_thread(read, _prompt(f))).strip()
            except EOFError:
                return Answer("cancel")
            if text == DECLINE:
                return Answer("decline")
            value: Any = text if text else f.default
            try:
                coerce([f], {f.name: value})
            except FormError as exc:
                print(f"  {exc}")
                continue
            raw[f.name] = value
            break
    return Answer("accept", coerce(question.fields, raw))


async def answer_questions(agent: Any, events: AsyncIterator[Any],
                           ask: Callable[[Question], Any] = ask_on_terminal) -> AsyncIterator[Any]:
    """Pass a run's events through, answering each ElicitationRequested as it comes."""
    async for event in events:
        yield event
        if event.type == "elicitation_requested":
            question = Question(event.question_id, event.server, event.message, form_fields(event.form), event.form)
            answer = await ask(question)
            try:
                agent.answer(question.id, answer.action, answer.content)
            except KeyError:  # the server gave up meanwhile (timeout, cancelled call)
                print("  (the question was withdrawn)", file=sys.stderr)
