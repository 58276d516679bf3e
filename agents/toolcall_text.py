"""Tool calls that arrive as text in `content` (a server without K2's tool parser) become structured calls."""

from __future__ import annotations

import json
import re
from typing import Any

# K2's native tokens, and the XML-ish form some servers emit instead.
_SECTION = re.compile(r"<\|tool_calls_section_begin\|>(.*?)(?:<\|tool_calls_section_end\|>|$)", re.S)
_NATIVE_CALL = re.compile(
    r"<\|tool_call_begin\|>\s*(?P<id>[^<]+?)\s*<\|tool_call_argument_begin\|>(?P<args>.*?)<\|tool_call_end\|>", re.S
)
_XML_CALL = re.compile(r"<tool_call>\s*<invoke name=\"(?P<name>[^\"]+)\">(?P<body>.*?)</invoke>\s*</tool_call>", re.S)
_XML_PARAM = re.compile(r"<parameter name=\"(?P<name>[^\"]+)\">(?P<value>.*?)</parameter>", re.S)

# Where raw tool-call text may begin: the stream holds back text from here so the user never sees the tokens.
MARKERS = ("<|tool_calls_section_begin|>", "<tool_call>")


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


def parse_text_tool_calls(content: str, first_index: int = 0) -> tuple[str, list[dict[str, Any]]]:
    """Split content into (visible text, OpenAI-format tool calls) when it carries K2 tool calls as text."""
    calls: list[dict[str, Any]] = []
    for section in _SECTION.finditer(content):
        for m in _NATIVE_CALL.finditer(section.group(1)):
            call_id = m.group("id").strip()
            calls.append(_call(call_id, _name_from_id(call_id), m.group("args").strip()))
    for m in _XML_CALL.finditer(content):
        args = {p.group("name"): _param_value(p.group("value")) for p in _XML_PARAM.finditer(m.group("body"))}
        name = m.group("name")
        calls.append(_call(f"functions.{name}:{first_index + len(calls)}", name, json.dumps(args)))
    if not calls:
        return content, []
    visible = _SECTION.sub("", content)
    visible = _XML_CALL.sub("", visible)
    return visible.strip(), calls


def _call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


class MarkerFilter:
    """Streams text through, holding back anything from the first tool-call marker on."""

    def __init__(self) -> None:
        self._pending = ""
        self._hidden = False

    def feed(self, text: str) -> str:
        """Text that is safe to show now."""
        if self._hidden:
            return ""
        self._pending += text
        for marker in MARKERS:
            at = self._pending.find(marker)
            if at >= 0:
                self._hidden = True
                out, self._pending = self._pending[:at], ""
                return out
        # Keep back a tail that could be the start of a marker split across chunks.
        keep = 0
        for marker in MARKERS:
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
        return out
