"""Tool calls that arrive as text in `content` become structured calls.

Two families: K2's own (a server without K2's tool parser: `<|tool_call_begin|>` tokens, `<tool_call><invoke …>`),
and the JSON forms small local models write (Qwen: `<tool_call>{"name": …, "arguments": …}</tool_call>`, a fenced
```json block, or a bare `{"name": …, "arguments": …}`). The JSON forms count only when tools were offered and only
for an offered name; malformed JSON still becomes a call, with the raw text as its arguments, so the hub answers
"Invalid arguments …" and the model can try again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

# K2's native tokens, and the XML-ish form some servers emit instead.
_SECTION = re.compile(r"<\|tool_calls_section_begin\|>(.*?)(?:<\|tool_calls_section_end\|>|$)", re.S)
_NATIVE_CALL = re.compile(
    r"<\|tool_call_begin\|>\s*(?P<id>[^<]+?)\s*<\|tool_call_argument_begin\|>(?P<args>.*?)<\|tool_call_end\|>", re.S
)
_XML_CALL = re.compile(r"<tool_call>\s*<invoke name=\"(?P<name>[^\"]+)\">(?P<body>.*?)</invoke>\s*</tool_call>", re.S)
_XML_PARAM = re.compile(r"<parameter name=\"(?P<name>[^\"]+)\">(?P<value>.*?)</parameter>", re.S)

# Qwen's JSON forms. An unclosed <tool_call> runs to the end (generation often stops right before the closing tag).
_TAGGED = re.compile(r"<tool_call>\s*(?!<invoke)(?P<body>.*?)\s*(?:</tool_call>|$)", re.S)
# A fence may be left open: the local server stops generating as soon as the call inside is complete.
_FENCED = re.compile(r"```(?:json|tool_call|tool_code)?[ \t]*\n(?P<body>.*?)\n?[ \t]*(?:```|$)", re.S)
_BARE_START = re.compile(r"\{\s*\"name\"\s*:")
_NAME = re.compile(r"\"name\"\s*:\s*\"(?P<name>[^\"]+)\"")
_ARGS = re.compile(r"\"(?:arguments|parameters)\"\s*:\s*")

# Where raw tool-call text may begin: the stream holds back text from here so the user never sees the tokens.
MARKERS = ("<|tool_calls_section_begin|>", "<tool_call>")
JSON_MARKERS = ("```json", "```tool_call", '{"name"')  # only while tools are offered


def _name_from_id(call_id: str) -> str:
    # K2 ids look like "functions.get_weather:0".
    name = call_id.split(":", 1)[0]
    return name.removeprefix("functions.")


def _param_value(raw: str) -> Any:
    raw = raw.strip()
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_text_tool_calls(
    content: str, first_index: int = 0, tool_names: Collection[str] = ()
) -> tuple[str, list[dict[str, Any]]]:
    """Split content into (visible text, OpenAI-format tool calls); JSON forms only for names in tool_names."""
    calls: list[dict[str, Any]] = []
    for section in _SECTION.finditer(content):
        for m in _NATIVE_CALL.finditer(section.group(1)):
            call_id = m.group("id").strip()
            calls.append(_call(call_id, _name_from_id(call_id), m.group("args").strip()))
    for m in _XML_CALL.finditer(content):
        args = {p.group("name"): _param_value(p.group("value")) for p in _XML_PARAM.finditer(m.group("body"))}
        name = m.group("name")
        calls.append(_call(f"functions.{name}:{first_index + len(calls)}", name, json.dumps(args)))
    visible = _XML_CALL.sub("", _SECTION.sub("", content)) if calls else content
    if tool_names and not calls:
        spans = json_call_spans(content, set(tool_names))
        seen: set[tuple[str, str]] = set()
        for _start, _end, name, arguments in spans:
            if (name, arguments) in seen:
                continue  # a small model repeating the same call in one message means it once
            seen.add((name, arguments))
            calls.append(_call(f"functions.{name}:{first_index + len(calls)}", name, arguments))
        for start, end, *_ in reversed(spans):
            visible = visible[:start] + visible[end:]
    if not calls:
        return content, []
    return visible.strip(), calls


def _call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def json_call_spans(content: str, names: set[str]) -> list[tuple[int, int, str, str]]:
    """(start, end, name, arguments) of every JSON-form call to an offered tool, in order of appearance."""
    spans: list[tuple[int, int, str, str]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, *_ in spans)

    for pattern in (_TAGGED, _FENCED):
        for m in pattern.finditer(content):
            found = _json_call(m.group("body"), names) if free(m.start(), m.end()) else None
            if found is not None:
                spans.append((m.start(), m.end(), *found))
    decoder = json.JSONDecoder()
    objects: list[tuple[int, int]] = []  # JSON already read: a "name" nested inside one is not a call of its own
    for m in _BARE_START.finditer(content):
        start = m.start()
        if not free(start, start + 1) or any(s <= start < e for s, e in objects):
            continue
        try:
            obj, end = decoder.raw_decode(content, start)
            objects.append((start, end))
        except ValueError:
            obj, end = None, len(content)  # malformed: the call runs to the end of the message
        found = _json_call(content[start:end], names, obj)
        if found is not None and free(start, end):
            spans.append((start, end, *found))
    return sorted(spans)


def _json_call(body: str, names: set[str], parsed: Any = None) -> tuple[str, str] | None:
    """(name, arguments text) when body is a call to an offered tool; malformed JSON keeps its raw arguments."""
    obj = parsed
    if obj is None:
        try:
            obj = json.loads(body)
        except ValueError:
            obj = None
    if isinstance(obj, dict):
        name = resolve_name(obj.get("name"), names)
        if name is None:
            return None
        args = obj.get("arguments", obj.get("parameters", {}))
        return name, args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    m = _NAME.search(body)
    name = resolve_name(m.group("name"), names) if m is not None else None
    if m is None or name is None:
        return None
    at = _ARGS.search(body, m.end()) or _ARGS.search(body)
    raw = body[at.end():].strip() if at else body.strip()
    if raw.endswith("}") and raw.count("}") > raw.count("{"):
        raw = raw[:-1].rstrip()  # the wrapper object's own closing brace
    return name, raw or body.strip()


def resolve_name(name: Any, names: set[str]) -> str | None:
    """The offered tool a written name means: itself, or the one tool whose name after the server prefix it is
    (small models drop the `server__` part: "math_factorial" or "math.factorial" for "bfcl__math_factorial")."""
    if not isinstance(name, str) or not name:
        return None
    if name in names:
        return name
    bare = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    # ... or with the wrong server: "workspace__run_python" for the one offered "sandbox__run_python".
    short = bare.partition("__")[2] or bare
    matches = [n for n in names if n.partition("__")[2] in (name, bare, short)]
    return matches[0] if len(matches) == 1 else None


def complete_call_end(text: str, names: Collection[str]) -> int | None:
    """Where the first complete JSON-form call to an offered tool ends (its arguments are whole JSON, or its tag or
    fence closed), or None while none is complete yet."""
    for start, end, _name, arguments in json_call_spans(text, set(names)):
        if text[start:end].rstrip().endswith(("</tool_call>", "```")):
            return end
        try:
            json.loads(arguments)
        except ValueError:
            continue
        return end
    return None


class MarkerFilter:
    """Streams text through, holding back anything from the first tool-call marker on."""

    def __init__(self, markers: tuple[str, ...] = MARKERS) -> None:
        self._markers = markers
        self._pending = ""
        self._hidden = False
        self.shown = ""  # everything let through so far

    def feed(self, text: str) -> str:
        """Text that is safe to show now."""
        out = self._feed(text)
        self.shown += out
        return out

    def _feed(self, text: str) -> str:
        if self._hidden:
            return ""
        self._pending += text
        found = [at for marker in self._markers if (at := self._pending.find(marker)) >= 0]
        if found:
            self._hidden = True
            out, self._pending = self._pending[: min(found)], ""
            return out
        # Keep back a tail that could be the start of a marker split across chunks.
        keep = 0
        for marker in self._markers:
            for n in range(min(len(marker) - 1, len(self._pending)), 0, -1):
                if self._pending.endswith(marker[:n]):
                    keep = max(keep, n)
                    break
        out = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(out) :]
        return out

    def flush(self) -> str:
        """Whatever was held back that turned out not to be a marker."""
        out = "" if self._hidden else self._pending
        self._pending = ""
        self.shown += out
        return out

    def rest_of(self, visible: str) -> str:
        """The part of the final visible text not streamed yet (text held back after a marker that was no call)."""
        shown = self.shown.lstrip()
        if not shown:
            return visible
        return visible[len(shown) :] if visible.startswith(shown) else ""
