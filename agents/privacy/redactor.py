"""Text and OpenAI-format messages -> placeholders, and back; a placeholder split across stream chunks is restored whole."""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from agents.privacy import detector
from agents.privacy.vault import PLACEHOLDER, Vault

CACHE_ENTRIES = 256  # texts whose redaction is kept: a run re-sends its whole history (and documents) every step
_PARTIAL = re.compile(r"<[A-Z_\d]{0,40}\Z")  # the tail of a chunk that may be the start of a placeholder


class Redactor:
    """Replaces detected values with the conversation's placeholders and puts the values back."""

    def __init__(self, vault: Vault, kinds: frozenset[str]) -> None:
        self.vault = vault
        self.kinds = kinds
        self.used: dict[str, str] = {}  # placeholder -> kind, for what the user is shown
        # text -> (redacted text, vault generation it is up to date with, placeholders it holds)
        self._cache: OrderedDict[str, tuple[str, int, frozenset[str]]] = OrderedDict()

    def forget_cache(self) -> None:
        """Drop cached redactions (after an exemption: a value once replaced may now go as is)."""
        self._cache.clear()

    # ---- outgoing ------------------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """`text` with every detected or already-mapped value replaced by its placeholder (exempt ones kept)."""
        if not text:
            return text
        cached = self._cache.get(text)
        if cached is not None:
            out, generation, held = cached
            if generation != self.vault.generation:
                out, held = self._known(out, generation, held)
                self._cache[text] = (out, self.vault.generation, held)
            self._cache.move_to_end(text)
        else:
            out, held = self._fresh(text)
            self._cache[text] = (out, self.vault.generation, held)
            if len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        for placeholder in held:
            self.used[placeholder] = placeholder[1:].rsplit("_", 1)[0]
        return out

    def _fresh(self, text: str) -> tuple[str, frozenset[str]]:
        pieces: list[str] = []
        held: set[str] = set()
        at = 0
        spans = detector.find(text, self.kinds)
        placeholders = self.vault.placeholders_for([(f.kind, text[f.start : f.end]) for f in spans])
        for found, placeholder in zip(spans, placeholders):
            if placeholder is None:
                continue  # exempted by the user: sent as is
            pieces += [text[at : found.start], placeholder]
            held.add(placeholder)
            at = found.end
        pieces.append(text[at:])
        # Values met before in this conversation are replaced wherever they appear, even where the detector would
        # not see them ("John Smith" after "Mr. John Smith").
        return self._known("".join(pieces), 0, frozenset(held))

    def _known(self, text: str, since: int, held: frozenset[str]) -> tuple[str, frozenset[str]]:
        forms = self.vault.forms_since(since)
        present = {f: p for f, p in forms.items() if len(f) >= 3 and f in text}
        if not present:
            return text, held
        # Whole words only: a mapped "Ann Lee" must not eat the start of "Ann Leeds".
        alternatives = "|".join(re.escape(f) for f in sorted(present, key=len, reverse=True))
        pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
        out = pattern.sub(lambda m: present[m.group()], text)
        return out, held | frozenset(present.values())

    def redact_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """A copy of an OpenAI-format message with its text, reasoning and tool-call arguments redacted."""
        out = dict(message)
        if isinstance(out.get("content"), str):
            out["content"] = self.redact(out["content"])
        elif isinstance(out.get("content"), list):
            out["content"] = [_map_part(p, self.redact) for p in out["content"]]
        if isinstance(out.get("reasoning_content"), str):
            out["reasoning_content"] = self.redact(out["reasoning_content"])
        if out.get("tool_calls"):
            out["tool_calls"] = [_map_arguments(c, self.redact) for c in out["tool_calls"]]
        return out

    # ---- incoming ------------------------------------------------------------------------------------------

    def restore(self, text: str) -> str:
        """`text` with this conversation's placeholders replaced by their values (unknown ones left as they are)."""
        if not text or "<" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self.vault.value_of(m.group()) or m.group(), text)

    def restore_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """A copy of the model's message with values back in its text, reasoning and tool-call arguments."""
        out = dict(message)
        for key in ("content", "reasoning_content"):
            if isinstance(out.get(key), str):
                out[key] = self.restore(out[key])
        if out.get("tool_calls"):
            out["tool_calls"] = [_map_arguments(c, self.restore) for c in out["tool_calls"]]
        return out


def _map_part(part: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(part, dict) and isinstance(part.get("text"), str):
        return {**part, "text": fn(part["text"])}
    return part


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    return value


def _map_arguments(call: dict[str, Any], fn: Callable[[str], str]) -> dict[str, Any]:
    """A tool call whose JSON arguments had `fn` applied to every string inside (values may need JSON escapes)."""
    function = dict(call.get("function") or {})
    raw = function.get("arguments")
    if isinstance(raw, str) and raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            function["arguments"] = fn(raw)  # invalid JSON stays invalid: the model is told and retries
        else:
            mapped = _map_strings(parsed, fn)
            if mapped != parsed:
                function["arguments"] = json.dumps(mapped, ensure_ascii=False)
    elif isinstance(raw, (dict, list)):
        function["arguments"] = _map_strings(raw, fn)
    return {**call, "function": function}


class StreamRestorer:
    """Restores placeholders in streamed text; holds back a tail that may be the first half of one."""

    def __init__(self, restore: Callable[[str], str]) -> None:
        self._restore = restore
        self._held = ""

    def feed(self, chunk: str) -> str:
        """The restored text that is safe to show now."""
        text = self._held + chunk
        tail = _PARTIAL.search(text)
        cut = tail.start() if tail else len(text)
        self._held = text[cut:]
        return self._restore(text[:cut])

    def flush(self) -> str:
        """Whatever was held back, restored (the stream ended)."""
        text, self._held = self._held, ""
        return self._restore(text)
