"""LangGraph checkpointer in the app's own database: AsyncSqliteSaver on the same file, or AsyncPostgresSaver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver

from storage.db import BUSY_TIMEOUT_MS, make_engine, normalize_url
from storage.migrations import migrate
from storage.paths import default_database_url
from storage.postgres import PgLimits


@asynccontextmanager
async def open_checkpointer(url: str | None = None) -> AsyncIterator[BaseCheckpointSaver]:
    """A ready checkpointer for the database at `url` (default: the app's); its tables exist on return."""
    parsed = normalize_url(url or default_database_url())
    if parsed.get_backend_name() == "postgresql":
        async with _postgres(parsed.set(drivername="postgresql").render_as_string(hide_password=False)) as saver:
            yield saver
        return
    async with _sqlite(parsed.database or ":memory:") as saver:
        yield saver


@asynccontextmanager
async def _sqlite(path: str) -> AsyncIterator[BaseCheckpointSaver]:
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with aiosqlite.connect(path, timeout=BUSY_TIMEOUT_MS / 1000) as conn:
        # Same settings as storage.db: the app's sessions and this connection write to one WAL file.
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        yield saver


@asynccontextmanager
async def _postgres(conninfo: str) -> AsyncIterator[BaseCheckpointSaver]:
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool
    except ImportError as exc:
        raise ImportError("Postgres needs extra packages: pip install 'k2-agent-hub[postgres]'") from exc

    # Tables first, by the migrations (normally already done by storage.db.Database): they hold the lock that
    # keeps concurrent first starts apart and run LangGraph's setup in their fixed order (see storage.migrations).
    limits = PgLimits.from_env()
    engine = make_engine(conninfo)
    try:
        await asyncio.to_thread(migrate, engine, None, limits.migration_wait_s)
    finally:
        engine.dispose()
    # The keyword arguments AsyncPostgresSaver requires of its connections (see its from_conn_string), plus the
    # same lock and statement limits as the app's own connections.
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row, **limits.connect_kwargs()}
    async with AsyncConnectionPool(conninfo, min_size=1, max_size=limits.pool_size, kwargs=kwargs,
                                   open=False) as pool:  # fmt: skip
        yield AsyncPostgresSaver(pool)  # type: ignore[arg-type]


async def prune_finished(saver: BaseCheckpointSaver, thread_id: str) -> None:
    """Delete a finished run's checkpoints and writes: its messages are stored (messages, steps), nothing resumes it.

    Only for runs that ended (done, failed, budget, loop, stopped); a run waiting for an approval keeps them.
    """
    await saver.adelete_thread(thread_id)
