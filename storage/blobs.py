"""Original files kept in the shared database, so any app process can render what another one ingested.

With PostgreSQL (several app processes, possibly on several machines) the bytes of every ingested document are
stored in `blob_chunks`, keyed by their sha256 and cut into 1 MiB rows (bytea; no large-object bookkeeping, and a
file streams in and out without being held in memory whole). A process that needs the file and lacks it writes
it into its own data home from there (storage → local cache, checked against the sha256). SQLite means one
machine: the kept file in the data home is enough, and nothing is stored twice.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import Column, Connection, LargeBinary, func, insert, select
from sqlmodel import Field, SQLModel

from storage.db import Database

CHUNK_BYTES = 1 << 20


class BlobChunk(SQLModel, table=True):
    """One 1 MiB piece (seq from 0) of a kept original file, identified by the whole file's sha256."""

    __tablename__ = "blob_chunks"

    sha256: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


TABLES: tuple[type[SQLModel], ...] = (BlobChunk,)


def shared(dialect: str) -> bool:
    """Whether originals belong in a database of this dialect: only when it is shared (PostgreSQL)."""
    return dialect == "postgresql"


def put_file(conn: Connection, sha256: str, path: Path) -> None:
    """Store the file at path under sha256 inside the caller's transaction (nothing when already stored)."""
    if conn.scalar(select(func.count()).where(BlobChunk.sha256 == sha256)):
        return
    with open(path, "rb") as f:
        seq = 0
        while block := f.read(CHUNK_BYTES):
            conn.execute(insert(BlobChunk).values(sha256=sha256, seq=seq, data=block))
            seq += 1


def has_file(db: Database, sha256: str) -> bool:
    """Whether the bytes of sha256 are stored."""
    with db.engine.connect() as conn:
        return conn.scalar(select(BlobChunk.seq).where(BlobChunk.sha256 == sha256).limit(1)) is not None


def save_file(db: Database, sha256: str, path: Path) -> None:
    """Store a file in its own transaction (for originals kept before they were stored in the database)."""
    with db.write_connection() as conn:
        put_file(conn, sha256, path)


def fetch_file(db: Database, sha256: str, dest: Path) -> bool:
    """Write the stored bytes of sha256 to dest (atomically, verified); False when the database has none.

    Raises ValueError when the stored bytes do not hash to sha256 (dest is then left untouched).
    """
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    found = False
    try:
        with db.engine.connect() as conn, open(tmp, "wb") as out:
            rows = conn.execution_options(stream_results=True, yield_per=4).execute(
                select(BlobChunk.data).where(BlobChunk.sha256 == sha256).order_by(BlobChunk.seq)
            )
            for (data,) in rows:
                found = True
                digest.update(data)
                out.write(data)
        if not found:
            return False
        if digest.hexdigest() != sha256:
            raise ValueError(f"the stored bytes of {sha256[:12]}… do not match their sha256; ingest the file again")
        os.replace(tmp, dest)
        return True
    finally:
        tmp.unlink(missing_ok=True)
