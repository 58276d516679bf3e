"""The app's database as part of a server's state, for the servers that read or write it (pdf_reader, analysis)."""

from __future__ import annotations

from dataclasses import dataclass

from mcp.server.mcpserver import Context

from mcp_servers.common.adapter import ServerState
from storage.db import Database


@dataclass
class DatabaseState(ServerState):
    """database_url (None: $DATABASE_URL, else the data home's SQLite), opened on the first call that needs it, so
    the server answers initialize at once."""

    database_url: str | None
    opened: Database | None = None


def database(ctx: Context) -> Database:
    """The database of the server handling this request."""
    state = DatabaseState.of(ctx)
    if state.opened is None:
        state.opened = Database(state.database_url)
    return state.opened
