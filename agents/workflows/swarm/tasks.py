"""`agents__spawn`: its spec, its arguments read as tasks, and a sub-agent's answer read against its output schema."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema

TOOL_NAME = "agents__spawn"
MAX_TASKS = 100
MAX_CONCURRENCY = 50

SPEC: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": (
            "Split work across parallel sub-agents (a swarm): each task runs as its own agent with its own context, "
            "budget and tools, and you get back a compact digest (one line per task, with the artifact id of each "
            "full result, readable with context__read_artifact). Use it for many independent, similar sub-tasks "
            f"(one per company, file, page, program …); up to {MAX_TASKS} tasks. Sub-agents cannot ask the user "
            "questions or start sub-agents themselves. Do not use it for one small task or for steps that depend on "
            "each other."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "tasks": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_TASKS,
                    "items": {
                        "type": "object",
                        "properties": {
                            "goal": {"type": "string", "description": "What this sub-agent must do, self-contained."},
                            "tools": {
                                "type": "array",
                                "items": {"type": "string"},
                                "description": "The only tools it may call (names as you see them); omit for all of "
                                "yours except agents__spawn",
                            },
                            "output_schema": {
                                "type": "object",
                                "description": "JSON Schema its answer must match (it answers with that JSON)",
                            },
                        },
                        "required": ["goal"],
                    },
                },
                "brief": {"type": "string", "description": "Context every sub-agent reads first (the user's aim, "
                          "conventions, what to leave out)"},
                "concurrency": {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY,
                                "description": "Sub-agents running at once (default: the app's setting)"},
            },
            "required": ["tasks"],
        },
    },
}


@dataclass(frozen=True)
class Task:
    """One sub-agent's assignment as the model wrote it."""

    goal: str
    tools: tuple[str, ...] | None = None  # None: the parent's tools minus the ones that start runs
    output_schema: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # a workflow's own data (analyze_documents: the document)

    def stored(self) -> dict[str, Any]:
        """The task as kept in swarm_branches.task."""
        return {"tools": list(self.tools) if self.tools is not None else None, "output_schema": self.output_schema,
                **self.extra}

    @classmethod
    def from_stored(cls, goal: str, data: dict[str, Any] | None) -> Task:
        data = dict(data or {})
        tools = data.pop("tools", None)
        schema = data.pop("output_schema", None)
        return cls(goal, tuple(tools) if tools is not None else None, schema, data)


class TaskError(ValueError):
    """The arguments do not describe a swarm; the message tells the model what to fix."""


def parse(args: Any, default_concurrency: int) -> tuple[list[Task], str, int]:
    """(tasks, brief, concurrency) from the tool's arguments."""
    if not isinstance(args, dict):
        raise TaskError("arguments must be an object with 'tasks'")
    raw = args.get("tasks")
    if not isinstance(raw, list) or not raw:
        raise TaskError("give 'tasks': a non-empty list of {goal, tools?, output_schema?}")
    if len(raw) > MAX_TASKS:
        raise TaskError(f"{len(raw)} tasks: at most {MAX_TASKS} per call (group the work, or spawn again later)")
    tasks = []
    for n, item in enumerate(raw):
        item = {"goal": item} if isinstance(item, str) else item
        if not isinstance(item, dict) or not str(item.get("goal") or "").strip():
            raise TaskError(f"task {n}: needs a 'goal'")
        tools = item.get("tools")
        if tools is not None and not (isinstance(tools, list) and all(isinstance(t, str) for t in tools)):
            raise TaskError(f"task {n}: 'tools' must be a list of tool names")
        schema = item.get("output_schema")
        if schema is not None:
            if not isinstance(schema, dict):
                raise TaskError(f"task {n}: 'output_schema' must be a JSON Schema object")
            try:
                jsonschema.validators.validator_for(schema).check_schema(schema)
            except jsonschema.SchemaError as exc:
                raise TaskError(f"task {n}: output_schema is not a valid JSON Schema: {exc.message}") from None
        tasks.append(Task(str(item["goal"]).strip(), tuple(tools) if tools is not None else None, schema))
    concurrency = args.get("concurrency") or default_concurrency
    if not isinstance(concurrency, int) or concurrency < 1:
        raise TaskError("'concurrency' must be a positive integer")
    return tasks, str(args.get("brief") or ""), min(concurrency, MAX_CONCURRENCY)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def structured(answer: str, schema: dict[str, Any]) -> tuple[Any, str | None]:
    """(the JSON value in the answer, None) when it matches the schema, else (None, what is wrong)."""
    candidates = [m.group(1) for m in _FENCE.finditer(answer)] + [answer]
    start = min((i for i in (answer.find("{"), answer.find("[")) if i >= 0), default=-1)
    if start >= 0:
        candidates.append(answer[start:])
    value, found = None, False
    for text in candidates:
        try:
            value, found = json.loads(text.strip()), True
            break
        except ValueError:
            try:  # JSON followed by words
                value, _ = json.JSONDecoder().raw_decode(text.strip())
                found = True
                break
            except ValueError:
                continue
    if not found:
        return None, "the answer is not JSON"
    errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(value), key=lambda e: e.path)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "the top level"
        return None, f"at {where}: {errors[0].message}"
    return value, None
