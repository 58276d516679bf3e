"""Form-mode elicitation: a server's question as form fields, the user's answer checked against them, and the
questions waiting for an answer (the UI, the CLI and tests answer through `Questions.answer`).

A server asks with a restricted JSON Schema (flat object of strings, numbers, integers, booleans and enums, with
defaults and titled or untitled enums, single or multi select). Whatever the user typed is coerced to those types
and checked before it goes back: a server never receives what its own schema would reject.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

Action = Literal["accept", "decline", "cancel"]
Value = str | int | float | bool | list[str] | None
ANSWER_TIMEOUT_S = 600.0  # a question nobody answers is cancelled after this long
MAX_FIELDS = 32
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class FormField:
    """One input of the form."""

    name: str
    kind: Literal["string", "number", "integer", "boolean", "choice", "multi"]
    title: str
    description: str = ""
    required: bool = False
    default: Value = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label) for choice / multi
    fmt: str | None = None  # string format: email, uri, date, date-time
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None


@dataclass
class Question:
    """A server's elicitation request, ready to show: who asks, what, and the fields."""

    id: str
    server: str
    message: str
    fields: list[FormField]
    schema: dict[str, Any]

    def defaults(self) -> dict[str, Value]:
        """The answer a user gets by accepting without typing anything."""
        return {f.name: f.default for f in self.fields if f.default is not None}


@dataclass
class Answer:
    """What goes back to the server."""

    action: Action
    content: dict[str, Value] | None = None


class FormError(ValueError):
    """The schema is not a form we can show, or the user's answer does not fit it (the message says which field)."""


def form_fields(schema: Any) -> list[FormField]:
    """The fields of a requested schema; FormError when it is not the flat object form mode allows."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise FormError("the requested schema must be an object")
    props = schema.get("properties") or {}
    if not isinstance(props, dict) or len(props) > MAX_FIELDS:
        raise FormError(f"the requested schema needs 1-{MAX_FIELDS} properties")
    required = set(schema.get("required") or [])
    return [_field(name, spec, name in required) for name, spec in props.items()]


def _field(name: str, spec: Any, required: bool) -> FormField:
    if not isinstance(spec, dict):
        raise FormError(f"field {name!r}: its schema must be an object")
    kind = spec.get("type")
    base = {"name": name, "title": str(spec.get("title") or name), "description": str(spec.get("description") or ""),
            "required": required, "default": spec.get("default")}
    if kind == "string" and ("enum" in spec or "oneOf" in spec):
        return FormField(kind="choice", options=_options(name, spec), **base)
    if kind == "array":
        items = spec.get("items") or {}
        return FormField(kind="multi", options=_options(name, items if isinstance(items, dict) else {}), **base)
    if kind == "string":
        return FormField(kind="string", fmt=spec.get("format"), min_length=spec.get("minLength"),
                         max_length=spec.get("maxLength"), **base)
    if kind in ("number", "integer"):
        return FormField(kind=kind, minimum=spec.get("minimum"), maximum=spec.get("maximum"), **base)
    if kind == "boolean":
        return FormField(kind="boolean", **base)
    raise FormError(f"field {name!r}: type {kind!r} cannot be asked in a form")


def _options(name: str, spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(value, label) pairs from enum (+ legacy enumNames), oneOf or anyOf of {const, title}."""
    if isinstance(spec.get("enum"), list):
        values = [str(v) for v in spec["enum"]]
        labels = spec.get("enumNames") if isinstance(spec.get("enumNames"), list) else values
        return list(zip(values, [str(label) for label in labels], strict=False)) or [(v, v) for v in values]
    for key in ("oneOf", "anyOf"):
        if isinstance(spec.get(key), list):
            return [(str(o["const"]), str(o.get("title") or o["const"])) for o in spec[key]
                    if isinstance(o, dict) and "const" in o]
    raise FormError(f"field {name!r}: an enum field needs 'enum', 'oneOf' or 'anyOf' options")


def coerce(fields: list[FormField], raw: dict[str, Any]) -> dict[str, Value]:
    """The user's input (text from a terminal or form widgets) as typed values; FormError names the bad field."""
    out: dict[str, Value] = {}
    for f in fields:
        value = raw.get(f.name)
        if value is None or value == "" or value == []:
            if f.kind == "boolean" and value is not None:
                value = False
            elif f.required:
                raise FormError(f"{f.title}: a value is required")
            else:
                continue
        out[f.name] = _coerce_one(f, value)
    return out


def _coerce_one(f: FormField, value: Any) -> Value:
    allowed = [v for v, _ in f.options]
    if f.kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("y", "yes", "true", "1", "on"):
            return True
        if text in ("n", "no", "false", "0", "off"):
            return False
        raise FormError(f"{f.title}: answer yes or no")
    if f.kind in ("number", "integer"):
        try:
            number: float | int = int(str(value).strip()) if f.kind == "integer" else float(str(value).strip())
        except ValueError:
            raise FormError(f"{f.title}: {value!r} is not {'a whole number' if f.kind == 'integer' else 'a number'}") from None
        if f.minimum is not None and number < f.minimum or f.maximum is not None and number > f.maximum:
            raise FormError(f"{f.title}: must be between {f.minimum} and {f.maximum}")
        return number
    if f.kind == "choice":
        if str(value) not in allowed:
            raise FormError(f"{f.title}: choose one of {', '.join(allowed)}")
        return str(value)
    if f.kind == "multi":
        chosen = [str(v).strip() for v in (value if isinstance(value, list) else str(value).split(",")) if str(v).strip()]
        wrong = [v for v in chosen if v not in allowed]
        if wrong:
            raise FormError(f"{f.title}: {', '.join(wrong)} not among {', '.join(allowed)}")
        return chosen
    return _check_string(f, str(value))


def _check_string(f: FormField, text: str) -> str:
    if f.min_length is not None and len(text) < f.min_length or f.max_length is not None and len(text) > f.max_length:
        raise FormError(f"{f.title}: length must be {f.min_length or 0}-{f.max_length or '∞'} characters")
    try:
        if f.fmt == "email" and not EMAIL_RE.match(text):
            raise ValueError
        if f.fmt == "uri" and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", text):
            raise ValueError
        if f.fmt == "date":
            date.fromisoformat(text)
        if f.fmt == "date-time":
            datetime.fromisoformat(text)
    except ValueError:
        raise FormError(f"{f.title}: {text!r} is not a valid {f.fmt}") from None
    return text


class Questions:
    """Questions waiting for the user, by id; an answer (or a timeout) releases the tool call that asked."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[Question, asyncio.Future[Answer]]] = {}
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        return f"q{next(self._ids)}"

    def pending(self) -> list[Question]:
        return [q for q, _ in self._waiting.values()]

    async def ask(self, question: Question, timeout_s: float = ANSWER_TIMEOUT_S) -> Answer:
        """Wait for the user's answer; 'cancel' when none comes in time or the call is cancelled."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[question.id] = (question, future)
        try:
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            return Answer("cancel")
        finally:
            self._waiting.pop(question.id, None)

    def answer(self, question_id: str, action: Action, values: dict[str, Any] | None = None) -> Answer:
        """Deliver the user's answer; FormError when the values do not fit, KeyError when nobody waits for it."""
        question, future = self._waiting[question_id]
        content = coerce(question.fields, values or {}) if action == "accept" else None
        answer = Answer(action, content)
        if not future.done():
            future.get_loop().call_soon_threadsafe(_settle, future, answer)
        return answer


def _settle(future: asyncio.Future[Answer], answer: Answer) -> None:
    if not future.done():
        future.set_result(answer)
