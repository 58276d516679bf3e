"""Tools per chat: which tools a conversation offers the model.

Every request carries the schema of every tool it offers, which costs tokens on each call and confuses small
models; so a conversation offers a default set chosen by its kind, and the user switches servers or single tools
on and off in the composer's tools menu (remembered per conversation: storage/chat_tools.py). The planner offers
only what is on, and refuses a call of any other tool (agents/planner/nodes.py checks calls against the offer).

Kinds: "cobol" (a COBOL refactoring session's conversation), "documents" (documents are attached), "chat".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agents.policy.compaction import NOTES_TOOL, READ_TOOL
from storage import chat_tools, cobol_sessions
from storage import documents as store
from storage.db import Database

Kind = Literal["chat", "documents", "cobol"]

DEFAULT_OFF: dict[str, frozenset[str]] = {
    "chat": frozenset({"cobol"}),
    "documents": frozenset({"cobol", "browser"}),
    "cobol": frozenset({"browser", "pdf_reader", "analysis"}),
}
"""Servers off by default per kind: COBOL tools only in COBOL work, no browsing while reading attached documents (the
answer should come from them), no PDF, KPI or browser tools in a COBOL session. A chat may still need PDFs in its
workspace (pdf_reader) or KPI tables (analysis), so those stay on; the menu switches anything."""
ALWAYS_ON = frozenset({NOTES_TOOL, READ_TOOL})
"""The planner's own context tools: they read back what a long run folded away, so they are never switched off."""


def group(tool_name: str) -> str:
    """The server (or planner feature) a tool belongs to: the part before '__'."""
    return tool_name.split("__", 1)[0]


def is_on(tool_name: str, off: Iterable[str]) -> bool:
    """Whether a tool is offered when these server or tool names are off."""
    names = set(off)
    return tool_name in ALWAYS_ON or (tool_name not in names and group(tool_name) not in names)


def offered(tools: Sequence[dict[str, Any]], off: Iterable[str]) -> list[dict[str, Any]]:
    """The tool schemas a request carries."""
    names = set(off)
    return [t for t in tools if is_on(t["function"]["name"], names)]


def kind_of(db: Database, conversation_id: str | None) -> Kind:
    """The conversation's kind, for its default set."""
    if not conversation_id:
        return "chat"
    if cobol_sessions.is_session_conversation(db, conversation_id):
        return "cobol"
    return "documents" if store.conversation_documents(db, conversation_id) else "chat"


@dataclass(frozen=True)
class Choice:
    """A conversation's tool choice: the names off, and whether the user chose them (else the kind's default)."""

    off: frozenset[str]
    kind: Kind
    chosen: bool


def choice(db: Database, conversation_id: str | None, kind: Kind | None = None) -> Choice:
    """The stored choice of the conversation, else the default for its kind."""
    kind = kind or kind_of(db, conversation_id)
    stored = chat_tools.switched_off(db, conversation_id) if conversation_id else None
    if stored is None:
        return Choice(DEFAULT_OFF[kind], kind, False)
    return Choice(frozenset(stored), kind, True)
