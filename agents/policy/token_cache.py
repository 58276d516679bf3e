"""o200k token counts of texts and chat messages, memoised: a long run counts each message once, not at every step.

Keys are Python hashes of the text (a str caches its own hash), so the cache holds integers, not the texts.
The per-message formula is agents.policy.context.count_request_tokens's: ~4 tokens of framing, content, reasoning,
and the tool calls as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from agents.policy.context import count_tokens

MAX_ENTRIES = 200_000
_TEXT: dict[int, int] = {}
_MESSAGE: dict[int, int] = {}


def text_tokens(text: str) -> int:
    """o200k tokens of `text`."""
    if not text:
        return 0
    key = hash(text)
    found = _TEXT.get(key)
    if found is None:
        if len(_TEXT) >= MAX_ENTRIES:
            _TEXT.clear()
        found = _TEXT[key] = count_tokens(text)
    return found


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def message_key(message: dict[str, Any]) -> int:
    """A hash of what a message sends (role, texts, tool calls) and of what a fold record says of it (its artifact,
    its error flag): equal messages have equal keys; two runs' identical results kept as different artifacts do not."""
    calls = message.get("tool_calls") or ()
    call_key = tuple(
        (c.get("id"), (c.get("function") or {}).get("name"), _text_of((c.get("function") or {}).get("arguments")))
        for c in calls
    )
    return hash((message.get("role"), _text_of(message.get("content")), message.get("reasoning_content") or "",
                 call_key, message.get("tool_call_id"), message.get("name"), message.get("_artifact"),
                 bool(message.get("_error")), _image_tokens(message)))


def _image_tokens(message: dict[str, Any]) -> int:
    """The images' estimated tokens (issue 21: the preset's per-image rule, kept on each `_images` entry)."""
    found = message.get("_images")
    return sum(int(e.get("tokens") or 0) for e in found if isinstance(e, dict)) if isinstance(found, list) else 0


def uncounted_chars(messages: list[dict[str, Any]]) -> int:
    """Characters of the messages whose tokens are not cached yet (what counting them now would have to read)."""
    return sum(len(_text_of(m.get("content"))) + len(m.get("reasoning_content") or "")
               for m in messages if message_key(m) not in _MESSAGE)


def message_tokens(message: dict[str, Any]) -> int:
    """Estimated prompt tokens of one message in a request."""
    key = message_key(message)
    found = _MESSAGE.get(key)
    if found is None:
        if len(_MESSAGE) >= MAX_ENTRIES:
            _MESSAGE.clear()
        calls = message.get("tool_calls")
        found = (4 + text_tokens(_text_of(message.get("content"))) + text_tokens(message.get("reasoning_content") or "")
                 + (text_tokens(json.dumps(calls, ensure_ascii=False)) if calls else 0) + _image_tokens(message))
        _MESSAGE[key] = found
    return found
