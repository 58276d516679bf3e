"""Redaction policy for one conversation, and the guard that wraps one model call at the provider boundary.

`K2HUB_REDACT` = on | off | auto (default auto: on for every remote provider, off for the embedded local model and
for a vLLM server on this machine); a conversation may override it. The guard redacts the outgoing messages,
restores placeholders in the streamed text (also when one is split across chunks), in the final message and its
tool-call arguments, runs the output filter, and reports what it did as a Redaction event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from agents.events import Event, Notice, ReasoningDelta, Redaction, TextDelta
from agents.privacy.kinds import DEFAULT_KINDS
from agents.privacy.output_filter import FILTERED, mask_unseen
from agents.privacy.redactor import Redactor, StreamRestorer
from agents.privacy.vault import Vault
from storage.db import Database

MODES = ("on", "off", "auto")


@dataclass(frozen=True)
class PrivacyConfig:
    """Process-wide defaults: the mode and the kinds switched on (from Settings)."""

    mode: str = "auto"
    kinds: frozenset[str] = DEFAULT_KINDS


def _is_loopback(url: str | None) -> bool:
    host = urlparse(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def decide(mode: str, provider: str, api_base: str | None) -> tuple[bool, str]:
    """Whether requests to this provider are redacted, and why (in words for the UI)."""
    if mode == "on":
        return True, "redaction on"
    if mode == "off":
        return False, "redaction off: text is sent to the provider as is"
    if provider == "local":
        return False, "embedded local model: nothing leaves this machine"
    # Only vLLM counts as local on loopback: an OpenAI-compatible URL on localhost is often a proxy to a cloud.
    if provider == "vllm" and _is_loopback(api_base):
        return False, "vLLM on this machine: nothing leaves it"
    return True, f"remote provider {provider}"


class PrivacySession:
    """One conversation's redaction: its mode, its vault and redactor, shared by the calls of its runs."""

    def __init__(self, db: Database, home: Path, conversation_id: str, config: PrivacyConfig,
                 override: str | None = None) -> None:
        self.conversation_id = conversation_id
        self.mode = override or config.mode
        self.source = "this conversation's setting" if override else "K2HUB_REDACT"
        self.redactor = Redactor(Vault(db, home, conversation_id), config.kinds)
        self._lock = threading.Lock()  # sub-agents of one run redact in parallel threads

    def for_call(self, provider: str, api_base: str | None) -> "CallGuard":
        """The guard of one model call to this provider."""
        active, reason = decide(self.mode, provider, api_base)
        if self.mode != "auto":
            reason += f" ({self.source})"
        return CallGuard(self, active, provider, reason)


class CallGuard:
    """Redaction around one model call: outgoing messages, streamed deltas, the final message."""

    def __init__(self, session: PrivacySession, active: bool, provider: str, reason: str) -> None:
        self.session, self.active, self.provider, self.reason = session, active, provider, reason
        self._text = StreamRestorer(session.redactor.restore)
        self._reasoning = StreamRestorer(session.redactor.restore)
        self._sent: set[str] = set()
        self._seen = ""

    def outgoing(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The messages as they may leave the machine (blocking: call it off the event loop)."""
        self._seen = "\n".join(_texts(messages))  # what the model is told, for the output filter
        if not self.active:
            return messages
        redactor = self.session.redactor
        with self.session._lock:
            redactor.used.clear()
            out = [redactor.redact_message(m) for m in messages]
            self._sent = set(redactor.used)
        return out

    def wrap(self, emit: Callable[[Event], None]) -> Callable[[Event], None]:
        """An emit that restores placeholders in text and reasoning deltas before they reach the user."""
        if not self.active:
            return emit

        def restoring(event: Event) -> None:
            if isinstance(event, TextDelta):
                text = self._text.feed(event.text)
                if text:
                    emit(TextDelta(text=text))
            elif isinstance(event, ReasoningDelta):
                text = self._reasoning.feed(event.text)
                if text:
                    emit(ReasoningDelta(text=text))
            else:
                emit(event)

        return restoring

    def finish(self, message: dict[str, Any], emit: Callable[[Event], None]) -> dict[str, Any]:
        """The model's message restored and filtered; held-back stream text emitted; the call reported."""
        if self.active:
            for restorer, kind in ((self._reasoning, ReasoningDelta), (self._text, TextDelta)):
                tail = restorer.flush()
                if tail:
                    emit(kind(text=tail))
            message = self.session.redactor.restore_message(message)
        content = message.get("content")
        masked: list[str] = []
        if isinstance(content, str) and content:
            kinds = FILTERED & self.session.redactor.kinds
            filtered, masked = mask_unseen(content, self._seen, kinds)
            if masked:
                message = {**message, "content": filtered}
                emit(Notice(level="warning", message="The answer contained what looks like "
                            + ", ".join(sorted(set(masked))) + " that appears nowhere in this conversation; it is "
                            "hidden. The model may have invented it or leaked it."))
        emit(Redaction(active=self.active, provider=self.provider, reason=self.reason,
                       placeholders=sorted(self._sent), masked=masked,
                       answer=message.get("content") if masked else None))
        return message


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if isinstance(m.get("reasoning_content"), str):
            out.append(m["reasoning_content"])
        for call in m.get("tool_calls") or []:
            out.append(str((call.get("function") or {}).get("arguments", "")))
    return out


_sessions: dict[tuple[str, str, str, frozenset[str]], PrivacySession] = {}
_sessions_lock = threading.Lock()
KEPT_SESSIONS = 32  # conversations whose redaction cache outlives a run (a document is not redacted again each turn)


def open_session(db: Database, home: Path, conversation_id: str, config: PrivacyConfig) -> PrivacySession:
    """The conversation's session for a new run: its mode (override first) and its map read afresh (blocking)."""
    from storage import redaction

    override = redaction.get_mode(db, conversation_id)
    key = (db.url, str(home), conversation_id, config.kinds)
    with _sessions_lock:
        session = _sessions.pop(key, None)
    if session is None:
        session = PrivacySession(db, home, conversation_id, config, override)
    else:
        session.mode = override or config.mode
        session.source = "this conversation's setting" if override else "K2HUB_REDACT"
        vault = session.redactor.vault
        exempt = vault.exempt_placeholders()
        vault.reload()  # exemptions made since, by this process or another
        if vault.exempt_placeholders() != exempt:
            session.redactor.forget_cache()
    with _sessions_lock:
        _sessions[key] = session
        while len(_sessions) > KEPT_SESSIONS:
            _sessions.pop(next(iter(_sessions)))
    return session
