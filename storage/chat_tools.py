"""Tools per chat (issue 19): which servers and tools a conversation has switched off in the composer's tools menu.

No row: the conversation uses the default set for its kind (agents/policy/tool_choice.py). A row holds the user's
choice as the names switched off, server names ("browser") or full tool names ("workspace__delete_path"), so a
server or tool added later is on by default.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from storage.db import Database
from storage.models import UTCDateTime, _json, utcnow


class ConversationTools(SQLModel, table=True):
    """The tools menu's choice for one conversation."""

    __tablename__ = "conversation_tools"

    conversation_id: str = Field(foreign_key="conversations.id", ondelete="CASCADE", primary_key=True, max_length=64)
    off: list[str] | None = Field(default=None, sa_column=_json(), description="Server or tool names switched off.")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


TABLES: tuple[type[SQLModel], ...] = (ConversationTools,)


def switched_off(db: Database, conversation_id: str) -> list[str] | None:
    """The names the user switched off in this conversation; None when it was never chosen (the default applies)."""
    with db.session(write=False) as s:
        row = s.get(ConversationTools, conversation_id)
        return None if row is None else list(row.off or [])


def set_switched_off(db: Database, conversation_id: str, off: list[str]) -> None:
    """Remember the choice (replacing the previous one)."""
    with db.session() as s:
        row = s.get(ConversationTools, conversation_id)
        if row is None:
            s.add(ConversationTools(conversation_id=conversation_id, off=sorted(set(off))))
        else:
            row.off, row.updated_at = sorted(set(off)), utcnow()


def forget(db: Database, conversation_id: str) -> None:
    """Back to the default set of the conversation's kind."""
    with db.session() as s:
        row = s.get(ConversationTools, conversation_id)
        if row is not None:
            s.delete(row)
