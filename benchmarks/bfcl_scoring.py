"""BFCL v4 data and AST scoring for bench_local_tools.py (simple_python and multiple subsets).

The files are the Berkeley Function-Calling Leaderboard's own (github.com/ShishirPatil/gorilla,
berkeley-function-call-leaderboard/bfcl_eval/data): `BFCL_v4_<subset>.json` (one question a line) and its possible
answers in `possible_answer/BFCL_v4_<subset>.json` (or `possible_answer.BFCL_v4_<subset>.json`). They are public and
are read from the directory the user gives; nothing of them is copied into this repository.

Scoring follows BFCL's AST checker for these subsets: exactly one call, to the expected function; every required
parameter present, no parameter the function lacks; each value among the possible answers (a parameter left out must
allow ""), numbers compared numerically (an int is accepted for a float), strings case-insensitively without spaces
and the punctuation BFCL ignores, lists element by element, dicts key by key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SUBSETS = ("simple_python", "multiple")
SERVER = "bfcl"  # the functions are offered as if an mcp.json server named this provided them
_TYPES = {"dict": "object", "float": "number", "tuple": "array", "list": "array", "int": "integer",
          "bool": "boolean", "str": "string", "String": "string", "any": None, "Any": None}
_PUNCT = re.compile(r"[ ,./\-_*^]")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load(directory: Path, subset: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(question, possible answer) pairs of one subset, in file order."""
    questions = _lines(directory / f"BFCL_v4_{subset}.json")
    for answers_path in (directory / "possible_answer" / f"BFCL_v4_{subset}.json",
                         directory / f"possible_answer.BFCL_v4_{subset}.json"):
        if answers_path.is_file():
            break
    else:
        raise SystemExit(f"no possible answers for {subset} in {directory}")
    answers = {a["id"]: a for a in _lines(answers_path)}
    return [(q, answers[q["id"]]) for q in questions if q["id"] in answers]


def tool_name(bfcl_name: str) -> str:
    """'math.factorial' -> 'bfcl__math_factorial' (MCP tool names are [A-Za-z0-9_-])."""
    return f"{SERVER}__" + re.sub(r"[^A-Za-z0-9_-]", "_", bfcl_name)


def _schema(node: Any) -> Any:
    if isinstance(node, dict):
        # "properties" maps parameter names to schemas: a parameter may be called "type" (handled below).
        out = {k: _schema(v) for k, v in node.items() if k not in ("type", "properties")}
        if isinstance(node.get("type"), str):
            kind = _TYPES.get(node["type"], node["type"])
            if kind is not None:
                out["type"] = kind
        if isinstance(node.get("properties"), dict):
            out["properties"] = {k: _schema(v) for k, v in node["properties"].items()}
        return out
    if isinstance(node, list):
        return [_schema(v) for v in node]
    return node


def tools_of(question: dict[str, Any]) -> list[dict[str, Any]]:
    """The question's functions as OpenAI tool specs with JSON-schema types."""
    return [{"type": "function", "function": {"name": tool_name(f["name"]), "description": f.get("description", ""),
                                              "parameters": _schema(f.get("parameters") or {})}}
            for f in question["function"]]


def user_text(question: dict[str, Any]) -> str:
    turn = question["question"][0]
    return "\n".join(m["content"] for m in turn if m.get("role") == "user")


def _norm(text: str) -> str:
    return _PUNCT.sub("", text.lower()).replace("'", "").replace('"', "")


def _matches(value: Any, allowed: Any) -> bool:
    if isinstance(allowed, bool) or isinstance(value, bool):
        return value == allowed
    if isinstance(allowed, int | float):
        return isinstance(value, int | float) and float(value) == float(allowed)
    if isinstance(allowed, str):
        return isinstance(value, str) and _norm(value) == _norm(allowed)
    if isinstance(allowed, list):
        return isinstance(value, list | tuple) and len(value) == len(allowed) and all(
            _matches(v, a) for v, a in zip(value, allowed))
    if isinstance(allowed, dict):
        if not isinstance(value, dict):
            return False
        for key, options in allowed.items():
            if key not in value:
                if "" not in options:
                    return False
            elif not any(_matches(value[key], o) for o in options):
                return False
        return set(value) <= set(allowed)
    return value == allowed


def score(question: dict[str, Any], answer: dict[str, Any], calls: list[dict[str, Any]]) -> tuple[bool, str]:
    """(correct, why not) for the model's calls [{'name': tool name, 'arguments': dict}]."""
    if len(calls) != 1:
        return False, f"{len(calls)} calls"
    (expected_name, expected), = answer["ground_truth"][0].items()
    call = calls[0]
    if call["name"] != tool_name(expected_name):
        return False, f"called {call['name']}"
    args = call["arguments"]
    if not isinstance(args, dict):
        return False, "arguments not an object"
    function = next(f for f in question["function"] if f["name"] == expected_name)
    required = (function.get("parameters") or {}).get("required", [])
    for key in required:
        if key not in args:
            return False, f"missing {key}"
    for key, value in args.items():
        if key not in expected:
            return False, f"unexpected {key}"
        if not any(_matches(value, option) for option in expected[key]):
            return False, f"{key}={value!r} not in {expected[key]!r}"
    for key, options in expected.items():
        if key not in args and "" not in options:
            return False, f"missing {key}"
    return True, ""
