"""The app's database as part of a server's state, for the servers that read or write it (pdf_reader, analysis)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from mcp.server.mcpserver import Context

from mcp_servers.common.adapter import ServerState
from storage.db import Database


@dataclass
class DatabaseState(ServerState):
    """database_url (None: $DATABASE_URL, else the data home's SQLite), opened on the first call that needs it, so
    the server answers initialize at once."""

    database_url: str | None
    opened: Database | None = None
    _opening: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def db(self) -> Database:
        """The database, opened (and migrated) on first use; a background thread may ask too, hence the lock."""
        with self._opening:
            if self.opened is None:
                self.opened = Database(self.database_url)
            return self.opened


def database(ctx: Context) -> Database:
    """The database of the server handling this request."""
    return DatabaseState.of(ctx).db()
