"""Strict checks of an external server's tool definitions, and heuristics for tool poisoning.

Errors make a tool unusable (it is never offered to the model): a name the model APIs refuse or a duplicate, an
input schema that is not a valid JSON Schema or not an object, an invalid output schema, a definition over
64 KB. Warnings are shown to the user before enabling: a missing description, undescribed parameters, and text
that reads like instructions to the model rather than a description of the tool.

The poisoning heuristics are generic: they look for the shapes every published tool-poisoning example shares
(orders addressed to the model, secrecy toward the user, reaching for secrets or for other tools, hidden text), not
for particular strings from particular attacks. They flag; the user decides.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import mcp_types as types
from jsonschema import SchemaError
from jsonschema.validators import Draft202012Validator, validator_for

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_DEFINITION_BYTES = 64 * 1024
LONG_DESCRIPTION = 4_000

Severity = Literal["error", "warning"]


@dataclass
class Finding:
    """One problem with one tool (tool "" for the server as a whole)."""

    tool: str
    severity: Severity
    kind: str  # name, schema, size, description, poisoning
    message: str


# (kind of manipulation, pattern). Case-insensitive, matched on normalised text.
POISONING: list[tuple[str, re.Pattern[str]]] = [(label, re.compile(rx, re.I | re.S)) for label, rx in [
    ("overrides earlier instructions",
     r"\b(ignore|disregard|forget|override)\b.{0,30}\b(previous|prior|above|earlier|other|all)\b.{0,20}"
     r"\b(instructions?|rules?|prompts?|guidelines?)"),
    ("addresses the model with orders", r"<\s*/?\s*(important|system|instructions?|admin|secret)\s*>"),
    ("addresses the model with orders",
     r"\b(the (assistant|model|ai|llm|agent)|you)\s+(must|should always|shall|are required to|have to)\b"),
    ("keeps something from the user",
     r"\b(do not|don't|never|without)\b.{0,25}\b(tell|telling|inform|informing|mention|mentioning|show|showing|"
     r"reveal|revealing|notify|notifying|alert|alerting)\b.{0,25}\b(the )?user"),
    ("keeps something from the user", r"\b(secretly|covertly)\b"),
    ("keeps something from the user",
     r"\b(silently|quietly)\b.{0,30}\b(send|read|include|add|copy|upload|pass|call|run|forward)"),
    ("reaches for secrets",
     r"(~/|\$home/|/home/\w+/|/root/)\.(ssh|aws|gnupg|config|cursor|netrc|npmrc|pypirc|docker)|\bid_(rsa|ed25519|ecdsa)\b"
     r"|\bmcp\.json\b|/etc/(passwd|shadow)|\.env\b"),
    ("reaches for secrets",
     r"\b(read|send|include|pass|forward|upload|append|attach|copy)\b.{0,40}\b(api[ _-]?keys?|passwords?|"
     r"private[ _-]?keys?|credentials|secrets?|tokens?|cookies)\b"),
    ("steers the use of other tools",
     r"\b(before|after|instead of|rather than)\b.{0,15}\b(using|calling|running|invoking)\b.{0,30}"
     r"\b(any|every|this|other|another|the)\b.{0,20}\btools?\b"),
    ("steers the use of other tools", r"\b(always|first)\b.{0,10}\b(call|use|run|invoke)\b.{0,40}\btool\b"),
    ("sends data somewhere", r"\b(send|post|upload|forward|exfiltrate|transmit)\b.{0,40}\bhttps?://"),
]]
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
HIDDEN_MARKUP = re.compile(r"<!--.*?-->", re.S)
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{120,}={0,2}")
WHITESPACE_RUN = re.compile(r"(\n\s*){12,}|[ \t]{80,}")


def check_tools(tools: list[types.Tool]) -> list[Finding]:
    """Every finding for a server's tools, errors first."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            findings.append(Finding(tool.name, "error", "name", "the server lists this tool name twice"))
        seen.add(tool.name)
        findings += list(_check_tool(tool))
    return sorted(findings, key=lambda f: (f.severity != "error", f.tool))


def refused(findings: list[Finding]) -> dict[str, str]:
    """Tools with an error, each with its first reason."""
    out: dict[str, str] = {}
    for finding in findings:
        if finding.severity == "error" and finding.tool:
            out.setdefault(finding.tool, finding.message)
    return out


def _check_tool(tool: types.Tool) -> Iterator[Finding]:
    name = tool.name
    if not NAME_RE.match(name):
        yield Finding(name, "error", "name", "the name must be 1-64 characters of A-Z a-z 0-9 _ - (model APIs refuse others)")
    size = len(json.dumps(tool.model_dump(mode="json", by_alias=True, exclude_none=True)))
    if size > MAX_DEFINITION_BYTES:
        yield Finding(name, "error", "size", f"the definition is {size // 1024} KB, over the {MAX_DEFINITION_BYTES // 1024} KB limit")
    yield from _check_schema(name, tool.input_schema, "input schema", must_be_object=True)
    if tool.output_schema is not None:
        yield from _check_schema(name, tool.output_schema, "output schema", must_be_object=False)
    if not (tool.description or "").strip():
        yield Finding(name, "warning", "description", "no description: the model must guess what it does")
    elif len(tool.description or "") > LONG_DESCRIPTION:
        yield Finding(name, "warning", "description",
                      f"an unusually long description ({len(tool.description or ''):,} characters)")
    props = (tool.input_schema or {}).get("properties")
    if isinstance(props, dict):
        bare = [p for p, spec in props.items() if not (isinstance(spec, dict) and (spec.get("description") or spec.get("title")))]
        if bare:
            yield Finding(name, "warning", "schema", f"parameters without a description: {', '.join(sorted(bare)[:8])}")
    for where, text in _texts(tool):
        yield from _poisoning(name, where, text)


def _check_schema(name: str, schema: Any, what: str, *, must_be_object: bool) -> Iterator[Finding]:
    if not isinstance(schema, dict):
        yield Finding(name, "error", "schema", f"the {what} is not a JSON object")
        return
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        yield Finding(name, "error", "schema", f"the {what} is not a valid JSON Schema: {exc.message[:200]}")
        return
    if must_be_object and schema.get("type") != "object":
        yield Finding(name, "error", "schema", f"the {what} must have type \"object\" (got {schema.get('type')!r})")


def _texts(tool: types.Tool) -> Iterator[tuple[str, str]]:
    """Every piece of text in a definition the model reads: descriptions, titles, enum values, defaults."""
    yield "description", tool.description or ""
    if tool.title:
        yield "title", tool.title

    def walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("description", "title", "default", "examples", "const") and isinstance(value, str):
                    yield f"{path}.{key}", value
                elif key == "enum" and isinstance(value, list):
                    yield f"{path}.enum", " ".join(str(v) for v in value)
                else:
                    yield from walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                yield from walk(item, f"{path}[{i}]")

    yield from walk(tool.input_schema or {}, "inputSchema")


def _poisoning(name: str, where: str, text: str) -> Iterator[Finding]:
    if INVISIBLE.search(text):
        yield Finding(name, "warning", "poisoning", f"{where} hides invisible characters (zero-width, bidi or tag)")
    if HIDDEN_MARKUP.search(text):
        yield Finding(name, "warning", "poisoning", f"{where} contains an HTML comment the user would not see")
    if BASE64_RUN.search(text):
        yield Finding(name, "warning", "poisoning", f"{where} carries a long encoded blob")
    if WHITESPACE_RUN.search(text):
        yield Finding(name, "warning", "poisoning", f"{where} pads text out of sight with whitespace")
    plain = unicodedata.normalize("NFKC", INVISIBLE.sub("", text))
    labels: list[str] = []
    for label, pattern in POISONING:
        match = pattern.search(plain)
        if match and label not in labels:
            labels.append(label)
            quote = " ".join(match.group(0).split())[:80]
            yield Finding(name, "warning", "poisoning", f"{where} {label}: “{quote}”")
