"""The KPI ledger: one row per (company, fiscal period, metric) value, tied to a page and a verbatim quote.

Reported rows come from `analysis__record_kpi` (quote checked on the page by code); derived rows from
`analysis__derive` (formula and input row ids kept). Values are stored as exact decimal text, read back as Decimal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Index, Text, text, update
from sqlmodel import Field, Session, SQLModel, select

from storage.db import Database
from storage.models import UTCDateTime, _json, utcnow

METHODS = ("reported", "derived")
STATUSES = ("verified", "flagged", "rejected", "conflict")
"""flagged: quote and label check out but the period could not be confirmed from the page (never guessed)."""
SCALES: dict[str, Decimal] = {
    "units": Decimal(1),
    "thousands": Decimal(1_000),
    "millions": Decimal(1_000_000),
    "billions": Decimal(1_000_000_000),
}


class KpiRow(SQLModel, table=True):
    """One KPI value with its evidence (document, 1-based page, quote) or its formula and inputs."""

    __tablename__ = "kpi_rows"
    __table_args__ = (Index("ix_kpi_rows_key", "conversation_id", "company", "fiscal_period", "metric"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", ondelete="CASCADE")
    run_id: str | None = Field(default=None, foreign_key="runs.id", ondelete="SET NULL", index=True)
    company: str = Field(description="Company as written by the extractor, e.g. '3M'.")
    fiscal_period: str = Field(description="'FY2022' (or 'FY2022-Q3').")
    metric: str = Field(description="Canonical metric name from mcp_servers.analysis.kpi_vocab.")
    value: str = Field(description="Exact decimal text in the stated scale, e.g. '1577' or '-370.5'.")
    unit: str = Field(default="currency", description="currency, percent, ratio, per_share, count.")
    currency: str = Field(default="", description="ISO code for currency and per_share values, e.g. USD.")
    scale: str = Field(default="units", description="units, thousands, millions or billions, as the page states.")
    document_id: str | None = Field(default=None, index=True, description="documents.id of the source report.")
    page: int | None = Field(default=None, description="1-based page of the quote.")
    quote: str | None = Field(default=None, sa_type=Text, description="Verbatim text from the page.")
    method: str = Field(default="reported", description="'reported' or 'derived'.")
    formula: str | None = Field(default=None, sa_type=Text, description="Derived rows: the formula with its numbers.")
    inputs: list[int] | None = Field(default=None, sa_column=_json(), description="Derived rows: input row ids.")
    status: str = Field(default="verified", description="'verified', 'flagged', 'rejected' or 'conflict'.")
    note: str | None = Field(
        default=None, sa_type=Text, description="Why a row was rejected, is flagged or is in conflict."
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))

    @property
    def decimal(self) -> Decimal:
        """The value exactly, in the stated scale."""
        return Decimal(self.value)

    @property
    def base_value(self) -> Decimal:
        """The value in units (scale applied): what comparisons and arithmetic use."""
        return Decimal(self.value) * SCALES.get(self.scale, Decimal(1))

    def key(self) -> tuple[str, str, str]:
        """(company, period, metric) with the company case-folded: rows that must agree."""
        return (company_key(self.company), self.fiscal_period, self.metric)


def company_key(name: str) -> str:
    """Companies compare case- and space-insensitively ('3M', '3m ', '3M')."""
    return " ".join(name.split()).casefold()


@contextmanager
def conversation_lock(db: Database, conversation_id: str) -> Iterator[Session]:
    """A write transaction that holds the conversation's ledger for itself (check-then-insert stays atomic).

    Sub-agents record rows concurrently: without the lock, two values for the same key could each see no other and
    both be stored as verified, hiding a conflict. SQLite: BEGIN IMMEDIATE (the database's write lock); Postgres: a
    transaction-level advisory lock on the conversation.
    """
    with db.session() as s:
        if db.dialect == "postgresql":
            s.exec(text("SELECT pg_advisory_xact_lock(hashtext(:c))").bindparams(c=conversation_id))  # type: ignore[call-overload]
        else:
            s.exec(text("SELECT 1"))  # type: ignore[call-overload] - the first statement begins the IMMEDIATE transaction
        yield s


def _session(db: Database, session: Session | None, write: bool = True) -> Any:
    return nullcontext(session) if session is not None else db.session(write=write)


def add_row(db: Database, row: KpiRow, session: Session | None = None) -> KpiRow:
    """Insert one row and return it with its id."""
    with _session(db, session) as s:
        s.add(row)
        s.flush()
        s.refresh(row)
    return row


def rows(
    db: Database,
    conversation_id: str,
    *,
    include_rejected: bool = False,
    metrics: Iterable[str] | None = None,
    companies: Iterable[str] | None = None,
    periods: Iterable[str] | None = None,
    session: Session | None = None,
) -> list[KpiRow]:
    """Ledger rows of a conversation in id order, filtered; rejected attempts only when asked."""
    q = select(KpiRow).where(KpiRow.conversation_id == conversation_id)
    if not include_rejected:
        q = q.where(KpiRow.status != "rejected")
    if metrics:
        q = q.where(KpiRow.metric.in_(list(metrics)))  # type: ignore[attr-defined]
    if periods:
        q = q.where(KpiRow.fiscal_period.in_(list(periods)))  # type: ignore[attr-defined]
    with _session(db, session, write=False) as s:
        found = list(s.exec(q.order_by(KpiRow.id)))  # type: ignore[arg-type]
    if companies:
        wanted = {company_key(c) for c in companies}
        found = [r for r in found if company_key(r.company) in wanted]
    return found


def get_row(db: Database, row_id: int) -> KpiRow | None:
    """One row by id."""
    with db.session(write=False) as s:
        return s.get(KpiRow, row_id)


def set_status(
    db: Database, row_ids: Iterable[int], status: str, note: str | None = None, session: Session | None = None
) -> None:
    """Mark rows (conflicts are flagged on every row involved, never resolved)."""
    ids = list(row_ids)
    if not ids:
        return
    values: dict[str, Any] = {"status": status}
    if note is not None:
        values["note"] = note
    with _session(db, session) as s:
        s.exec(update(KpiRow).where(KpiRow.id.in_(ids)).values(**values))  # type: ignore[call-overload,union-attr]


def delete_rows(db: Database, row_ids: Iterable[int]) -> None:
    """Remove rows (a derived metric recomputed replaces its previous rows)."""
    ids = list(row_ids)
    if not ids:
        return
    with db.session() as s:
        for row in s.exec(select(KpiRow).where(KpiRow.id.in_(ids))):  # type: ignore[union-attr]
            s.delete(row)


TABLES = (KpiRow,)
