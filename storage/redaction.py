"""Each conversation's placeholder map and redaction override (issue 22).

A map entry ties a placeholder (`<EMAIL_1>`) to the value it stands for. The value is stored only sealed
(storage.secret_box: Fernet with the data home's key) beside a keyed digest used to find an entry by value, so
the database never holds a mapped value in clear. The planner's redaction layer (agents/privacy) reads and grows
the map; the UI lists it (decrypted locally) and marks values the user exempts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, LargeBinary, UniqueConstraint, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select

from storage.db import Database
from storage.models import UTCDateTime, utcnow
from storage.secret_box import secret_box

MODES = ("on", "off", "auto")


class RedactionEntry(SQLModel, table=True):
    """One placeholder of a conversation and the sealed value it stands for."""

    __tablename__ = "redaction_entries"
    __table_args__ = (
        UniqueConstraint("conversation_id", "placeholder", name="uq_redaction_entries_placeholder"),
        UniqueConstraint("conversation_id", "value_digest", name="uq_redaction_entries_value"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", ondelete="CASCADE")
    placeholder: str = Field(max_length=64, description="What the model sees, e.g. <EMAIL_1>.")
    kind: str = Field(max_length=32, description="Entity kind, e.g. EMAIL, CARD, SECRET.")
    value_digest: str = Field(max_length=64, description="HMAC-SHA256 of the value (keyed): lookups without clear text.")
    value_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False), description="Fernet token of the value.")
    exempt: bool = Field(default=False, description="The user chose to send this value as is.")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ConversationPrivacy(SQLModel, table=True):
    """A conversation's own redaction mode, overriding K2HUB_REDACT."""

    __tablename__ = "conversation_privacy"

    conversation_id: str = Field(foreign_key="conversations.id", ondelete="CASCADE", primary_key=True)
    mode: str = Field(max_length=8, description="on, off or auto.")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


TABLES = (RedactionEntry, ConversationPrivacy)
"""The tables migration 8 creates, in dependency order."""


@dataclass(frozen=True)
class MapEntry:
    """A map entry with its value opened (only ever held in memory)."""

    placeholder: str
    kind: str
    value: str
    exempt: bool


def load_map(db: Database, home: Path, conversation_id: str) -> list[MapEntry]:
    """Every entry of a conversation, values decrypted, oldest first."""
    box = secret_box(home)
    with db.session(write=False) as s:
        rows = s.exec(select(RedactionEntry).where(RedactionEntry.conversation_id == conversation_id)
                      .order_by(col(RedactionEntry.id))).all()
    return [MapEntry(r.placeholder, r.kind, box.open(r.value_sealed), r.exempt) for r in rows]


def add_entry(db: Database, home: Path, conversation_id: str, kind: str, value: str, lookup: str | None = None) -> MapEntry:
    """The entry for one value (see add_entries)."""
    return add_entries(db, home, conversation_id, [(kind, value, value if lookup is None else lookup)])[0]


def add_entries(db: Database, home: Path, conversation_id: str, items: list[tuple[str, str, str]]) -> list[MapEntry]:
    """The entries for (kind, value, lookup) items, each created with its kind's next free number unless its value
    already has one; one transaction for all of them.

    `lookup` is what identifies the value (the caller may drop separators so that two spellings of one card are
    one entry); the first spelling is the one stored. Safe with several writers: on SQLite the transaction holds
    the write lock from its start; on Postgres a lost race on a number or a value is retried.
    """
    box = secret_box(home)
    table = RedactionEntry.__table__  # type: ignore[attr-defined]
    of_conversation = table.c.conversation_id == conversation_id
    for _ in range(20):
        out: list[MapEntry] = []
        try:
            with db.write_connection() as conn:
                counts = dict(conn.execute(select(table.c.kind, func.count()).where(of_conversation)
                                           .group_by(table.c.kind)).all())
                for kind, value, lookup in items:
                    digest = box.digest(conversation_id, f"{kind}\0{lookup}")
                    found = conn.execute(select(table.c.placeholder, table.c.value_sealed, table.c.exempt)
                                         .where(of_conversation, table.c.value_digest == digest)).first()
                    if found is not None:
                        out.append(MapEntry(found.placeholder, kind, box.open(found.value_sealed), found.exempt))
                        continue
                    counts[kind] = counts.get(kind, 0) + 1
                    placeholder = f"<{kind}_{counts[kind]}>"
                    conn.execute(insert(table).values(
                        conversation_id=conversation_id, placeholder=placeholder, kind=kind, value_digest=digest,
                        value_sealed=box.seal(value), exempt=False, created_at=utcnow()))
                    out.append(MapEntry(placeholder, kind, value, False))
            return out
        except IntegrityError:
            continue  # another process took a number or mapped a value first (Postgres): look again
    raise RuntimeError(f"could not allocate placeholders in conversation {conversation_id}")


def set_exempt(db: Database, conversation_id: str, placeholder: str, exempt: bool) -> bool:
    """Mark a value as sent as is (or redacted again); False when the conversation has no such placeholder."""
    with db.session() as s:
        row = s.exec(select(RedactionEntry).where(RedactionEntry.conversation_id == conversation_id,
                                                  RedactionEntry.placeholder == placeholder)).first()
        if row is None:
            return False
        row.exempt = exempt
        return True


def get_mode(db: Database, conversation_id: str) -> str | None:
    """The conversation's own mode, or None when it follows K2HUB_REDACT."""
    with db.session(write=False) as s:
        row = s.get(ConversationPrivacy, conversation_id)
        return row.mode if row is not None else None


def set_mode(db: Database, conversation_id: str, mode: str | None) -> None:
    """Set the conversation's mode (on, off, auto), or None to follow K2HUB_REDACT again."""
    if mode is not None and mode not in MODES:
        raise ValueError(f"redaction mode must be one of {', '.join(MODES)}, not {mode!r}")
    with db.session() as s:
        row = s.get(ConversationPrivacy, conversation_id, with_for_update=True)
        if mode is None:
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(ConversationPrivacy(conversation_id=conversation_id, mode=mode))
        else:
            row.mode, row.updated_at = mode, utcnow()
