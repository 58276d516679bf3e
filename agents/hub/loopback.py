"""The OAuth redirect target: a one-shot HTTP listener on 127.0.0.1 that catches the authorization code.

RFC 8252 (OAuth for native apps) has the browser hand the code back to `http://127.0.0.1:PORT/callback`. The
listener answers that one request with a short page, ignores anything else (favicons, probes), and is closed as
soon as the code arrived or the wait ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

from mcp.shared.auth import AuthorizationCodeResult

CALLBACK_PATH = "/callback"
WAIT_S = 300.0  # time a user has to finish consent in the browser
MAX_REQUEST = 16_384


class LoopbackError(RuntimeError):
    """The authorization server sent an error back, or no answer came in time."""


class Loopback:
    """A listener for one authorization response; use `receive()` through `open_loopback()`."""

    def __init__(self) -> None:
        self.port = 0
        self._result: asyncio.Future[AuthorizationCodeResult] | None = None
        self._server: asyncio.Server | None = None

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    def _pending(self) -> asyncio.Future[AuthorizationCodeResult]:
        # The browser may come back before anyone awaits receive() (an automated consent does): keep it.
        if self._result is None:
            self._result = asyncio.get_running_loop().create_future()
        return self._result

    async def receive(self, wait_s: float = WAIT_S) -> AuthorizationCodeResult:
        """The code and state from the next redirect; LoopbackError on an error or timeout."""
        try:
            return await asyncio.wait_for(asyncio.shield(self._pending()), wait_s)
        except TimeoutError:
            raise LoopbackError(f"no answer from the browser within {wait_s:g} s; log in again") from None
        finally:
            self._result = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            writer.close()
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        target = urlsplit(parts[1]) if len(parts) == 3 and parts[0] == "GET" else None
        if target is None or target.path != CALLBACK_PATH or self._pending().done():
            await _reply(writer, 404, "Nothing here.")
            return
        query = {k: v[0] for k, v in parse_qs(target.query).items()}
        if "error" in query:
            reason = query.get("error_description") or query["error"]
            self._pending().set_exception(LoopbackError(f"the authorization server refused: {reason}"))
            await _reply(writer, 400, f"Login refused: {reason}. You can close this tab.")
            return
        if not query.get("code"):
            await _reply(writer, 400, "This address expects an authorization code.")
            return
        self._pending().set_result(AuthorizationCodeResult(code=query["code"], state=query.get("state"),
                                                        iss=query.get("iss")))
        await _reply(writer, 200, "Logged in. You can close this tab and return to K2 Agent Hub.")


async def _reply(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    body = f"<!doctype html><meta charset=utf-8><title>K2 Agent Hub</title><p>{html.escape(text)}</p>".encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "
                 f"{len(body)}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n".encode() + body)
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def open_loopback(port: int = 0) -> AsyncIterator[Loopback]:
    """Listen on 127.0.0.1 (the given port when free, else any) until the block ends."""
    loopback = Loopback()
    try:
        server = await asyncio.start_server(loopback._handle, "127.0.0.1", port, limit=MAX_REQUEST)
    except OSError:
        if not port:
            raise
        server = await asyncio.start_server(loopback._handle, "127.0.0.1", 0, limit=MAX_REQUEST)
    loopback._server = server
    loopback.port = server.sockets[0].getsockname()[1]
    try:
        yield loopback
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)
