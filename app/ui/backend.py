"""What the UI needs from the rest of the app: one Agent per process, active runs per browser tab, stored chats.

The Agent is opened lazily inside Gradio's event loop (its MCP hub owns subprocesses and streams bound to
that loop), once, behind a lock. Database reads are synchronous SQLModel calls: they run in a thread so a
slow disk never stalls the streaming of other tabs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.errors import AppError

if TYPE_CHECKING:
    from agents.planner.runner import Agent
    from app.config import Settings

log = logging.getLogger(__name__)


def readable_error(exc: BaseException) -> str:
    """A message for the chat: our own errors already speak to the user; anything else gets its type named."""
    if isinstance(exc, AppError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"Unexpected {type(exc).__name__}{': ' + text if text else ''}. The details are in the server log."


@dataclass
class Backend:
    """The process-wide Agent plus the run each browser session is streaming (for the Stop button)."""

    settings: Settings
    _agent: Agent | None = None
    _lock: asyncio.Lock | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    open_error: str = ""  # why the last attempt to start the Agent failed (the Tools panel shows it)
    active: dict[str, str] = field(default_factory=dict)  # session hash -> run id
    stop_requested: set[str] = field(default_factory=set)  # sessions that pressed Stop before RunStarted

    async def agent(self) -> Agent:
        """The Agent, opened on first use; raises what kept it from starting (callers show it via readable_error)."""
        if self._agent is not None:
            return self._agent
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._agent is None:
                from app.services import open_agent

                try:
                    self._agent = await open_agent(self.settings)
                except Exception as exc:
                    self.open_error = readable_error(exc)
                    raise
                self.open_error = ""
                self._loop = asyncio.get_running_loop()
                self._agent.warm_model_worker()  # the user types their first question meanwhile
        return self._agent

    @property
    def opened(self) -> Agent | None:
        """The Agent if it is already open (panels must not start it just to draw themselves)."""
        return self._agent

    def stop(self, session: str) -> bool:
        """Ask the session's run to stop; True when a run was there to stop."""
        run_id = self.active.get(session)
        if run_id is None:
            self.stop_requested.add(session)
            return False
        if self._agent is not None:
            self._agent.stop(run_id)
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Close the Agent from another thread (server shutdown): MCP servers exit, the database is released."""
        agent, loop = self._agent, self._loop
        self._agent = None
        if agent is None or loop is None or loop.is_closed() or not loop.is_running():
            return
        try:
            asyncio.run_coroutine_threadsafe(agent.aclose(), loop).result(timeout_s)
        except Exception:  # shutting down: report and move on rather than hang the exit
            log.warning("closing the agent failed", exc_info=True)

    # ---- stored conversations (sync; call through asyncio.to_thread) ---------------------------------

    def conversations(self, limit: int = 50) -> list[tuple[str, str]]:
        """(title, id) pairs, most recent first; empty until the Agent (and its database) is open."""
        if self._agent is None:
            return []
        from storage import repo

        return [(c.title or "Untitled", c.id) for c in repo.list_conversations(self._agent.db, limit)]

    def conversation(self, conversation_id: str) -> tuple[list[Any], list[Any], list[Any]]:
        """(messages, steps, runs) of one stored conversation."""
        if self._agent is None:
            return [], [], []
        from storage import repo

        db = self._agent.db
        runs = repo.list_runs(db, conversation_id)
        steps = [s for r in runs for s in repo.steps_for_run(db, r.id)]
        return repo.get_messages(db, conversation_id), steps, runs

    def swarm_trees(self, conversation_id: str) -> list[tuple[Any, list[Any]]]:
        """The conversation's swarms with their branches (the trees a reopened chat shows)."""
        if self._agent is None:
            return []
        from storage import swarms

        return swarms.trees_for_conversation(self._agent.db, conversation_id)

    def has_documents(self, conversation_id: str) -> bool:
        """Whether documents are attached to the conversation (the run badge then checks citations)."""
        if self._agent is None:
            return False
        from storage import documents

        return bool(documents.conversation_documents(self._agent.db, conversation_id))
