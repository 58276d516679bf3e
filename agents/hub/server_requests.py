"""What a server sends the hub while calls run: questions for the user (elicitation), log messages, progress and
requests for roots. Each goes to the tool call in flight that can take it; the call's timeout stops while the
user answers."""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp import ClientSession
from mcp.shared.exceptions import MCPDeprecationWarning

from agents.hub.elicitation import FormError, Question, Questions, form_fields
from agents.hub.hooks import CallHooks, workspace_roots
from agents.hub.oauth import Consent

log = logging.getLogger(__name__)
LOG_LINES = 50
ROOTS_WAIT_S = 1.0  # after roots/list_changed, how long a call waits for the server to ask for the new roots


@dataclass
class Services:
    """What every connection of one hub shares: where tokens live, the workspaces, the questions to the user."""

    home: Path | None = None  # $K2HUB_HOME: OAuth tokens (None: no OAuth at all, e.g. a quarantined first start)
    workspace_root: Path | None = None  # offered to servers as roots, one workspace per conversation
    questions: Questions = field(default_factory=Questions)
    consent: Consent | None = None  # set only where logging in may happen inline (CLI login, conformance client)


class Clock:
    """A call's timeout that stops while the user answers a question the server asked."""

    def __init__(self, timeout_s: float) -> None:
        self.budget = timeout_s
        self.scope: anyio.CancelScope | None = None
        self.pauses = 0

    def start(self, scope: anyio.CancelScope) -> None:
        self.scope = scope
        scope.deadline = anyio.current_time() + self.budget

    @contextmanager
    def paused(self) -> Iterator[None]:
        scope = self.scope
        if scope is not None and self.pauses == 0:
            self.budget = scope.deadline - anyio.current_time()
            scope.deadline = math.inf
        self.pauses += 1
        try:
            yield
        finally:
            self.pauses -= 1
            if scope is not None and self.pauses == 0:
                scope.deadline = anyio.current_time() + self.budget


@dataclass
class Call:
    """One tool call in flight: whom to tell what the server says, and its clock."""

    hooks: CallHooks
    clock: Clock


class ServerRequests:
    """Base of ServerConnection: the session callbacks, routed to the calls in flight."""

    name: str
    services: Services

    def __init__(self) -> None:
        self.log: deque[str] = deque(maxlen=LOG_LINES)  # the server's log notifications, for its card
        self._calls: dict[int, Call] = {}  # in flight, in start order
        self._last_conversation: str | None = None
        self._told: list[str] | None = None  # the conversations of our last roots/list answer (None: never asked)
        self._asked = anyio.Event()

    def session_callbacks(self) -> dict[str, Any]:
        """Keyword arguments for ClientSession."""
        return {"elicitation_callback": self._elicit, "list_roots_callback": self._roots,
                "logging_callback": self._on_log}

    async def announce_roots(self, session: ClientSession, conversation: str | None) -> None:
        """Tell a server that asked for roots before that they changed: a call comes from another conversation."""
        if not conversation:
            return
        self._last_conversation = conversation
        if self._told is not None and conversation not in self._told and self.services.workspace_root is not None:
            try:
                self._asked = anyio.Event()
                with warnings.catch_warnings():  # deprecated in the 2026-07-28 revision; current servers use it
                    warnings.simplefilter("ignore", MCPDeprecationWarning)
                    await session.send_roots_list_changed()
                # A server that caches roots asks again at once; let it, so this very call sees the right root.
                with anyio.move_on_after(ROOTS_WAIT_S):
                    await self._asked.wait()
            except Exception as exc:  # a server gone mid-call fails the call itself, with a better message
                log.debug("roots/list_changed to %s failed: %s", self.name, exc)

    async def _elicit(self, _ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult | types.ErrorData:
        """A server's question for the user: shown by whoever made the latest call in flight, else declined."""
        asking = [c for c in self._calls.values() if c.hooks.on_elicit is not None]
        if not asking or not isinstance(params, types.ElicitRequestFormParams):
            return types.ElicitResult(action="decline")
        call = asking[-1]
        try:
            fields = form_fields(params.requested_schema)
        except FormError as exc:
            return types.ErrorData(code=types.INVALID_PARAMS, message=f"cannot show this form: {exc}")
        question = Question(self.services.questions.new_id(), self.name, params.message, fields,
                            dict(params.requested_schema))
        assert call.hooks.on_elicit is not None
        with call.clock.paused():
            answer = await call.hooks.on_elicit(question)
        return types.ElicitResult(action=answer.action, content=answer.content)

    async def _on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        data = params.data if isinstance(params.data, str) else json.dumps(params.data, ensure_ascii=False)
        self.log.append(f"[{params.level}] {data}"[:2000])
        for call in list(self._calls.values()):
            if call.hooks.on_log is not None:
                call.hooks.on_log(params.level, params.logger, params.data)

    async def _roots(self, _ctx: Any) -> types.ListRootsResult:
        live = [c.hooks.conversation for c in reversed(list(self._calls.values())) if c.hooks.conversation]
        chosen = live or ([self._last_conversation] if self._last_conversation else [])
        self._told = chosen
        self._asked.set()
        return types.ListRootsResult(roots=workspace_roots(self.services.workspace_root, chosen))


def progress_callback(hooks: CallHooks) -> Any:
    """The SDK's progress callback for a call whose hooks want progress, else None."""
    on_progress = hooks.on_progress
    if on_progress is None:
        return None

    async def report(progress: float, total: float | None, message: str | None) -> None:
        on_progress(progress, total, message)

    return report
