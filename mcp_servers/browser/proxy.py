"""The guard's enforcement point: a small forward proxy on 127.0.0.1 that every request of a browser context uses.

Why a proxy and not only Playwright's route interception: a route handler is not called for redirect hops (measured:
after a fulfilled 302 Chromium fetched the target without asking), and it does not see WebSockets or service
workers. Chromium sends every HTTP request, every redirect hop, every sub-request, every WebSocket and every
HTTPS tunnel (CONNECT) of the context here; each is checked by the Guard and connected to the exact address that was
checked, so DNS cannot be rebound between check and use. Plain HTTP is one request per connection (Connection:
close on both sides), so one client connection can never be reused for another host.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from mcp_servers.browser.guard import Guard, Refused

MAX_HEAD_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 60.0
REFUSED_HEADER = "X-K2hub-Refused"
HOP_HEADERS = (b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive")


@dataclass
class Refusal:
    """A request the guard refused: its target and the reason."""

    target: str
    reason: str


@dataclass
class GuardProxy:
    """A forward proxy for one browser context; counts bytes per page and records refusals."""

    guard: Guard
    max_page_bytes: int = 50 * 1024 * 1024
    refusals: list[Refusal] = field(default_factory=list)
    page_bytes: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> GuardProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD_BYTES)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def new_page(self) -> None:
        """Start counting a new page load: fresh byte budget and refusal list."""
        self.page_bytes = 0
        self.refusals.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            # close() cancels open exchanges; asyncio's stream callback would log a cancelled task as an error.
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT_S)
        request_line, _, rest = head.partition(b"\r\n")
        method, target, version = request_line.decode("latin-1").split(" ", 2)
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            port, shown = int(port_text), f"https://{target}"
        else:
            url = urlsplit(target)
            if url.scheme != "http" or not url.hostname:
                return await _reply(writer, 400, f"only absolute http:// URLs can be proxied, got {target[:200]}")
            host, port, shown = url.hostname, url.port or 80, target
        try:
            address = await self.guard.check(host, port)
        except Refused as err:
            self.refusals.append(Refusal(shown, str(err)))
            return await _reply(writer, 403, f"refused by the K2 Agent Hub browser guard: {err}", refused=str(err))
        if self.page_bytes > self.max_page_bytes:
            reason = f"the page already loaded more than {self.max_page_bytes // (1024 * 1024)} MB"
            self.refusals.append(Refusal(shown, reason))
            return await _reply(writer, 403, reason, refused=reason)
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(str(address), port, limit=MAX_HEAD_BYTES), CONNECT_TIMEOUT_S
            )
        except (TimeoutError, OSError) as err:
            return await _reply(writer, 502, f"cannot connect to {host}:{port} ({address}): {err or 'timed out'}")
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                origin = (url.path or "/") + (f"?{url.query}" if url.query else "")
                up_writer.write(_rewrite(f"{method} {origin} {version}".encode("latin-1"), rest))
                await up_writer.drain()
                response_head = await asyncio.wait_for(up_reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT_S)
                status_line, _, headers = response_head.partition(b"\r\n")
                writer.write(_rewrite(status_line, headers))
            # The exchange ends when the server side ends (it was told Connection: close); then stop reading the client.
            upload = asyncio.create_task(self._pipe(reader, up_writer, count=False))
            try:
                await self._pipe(up_reader, writer, count=True)
            finally:
                upload.cancel()
                await asyncio.gather(upload, return_exceptions=True)
        finally:
            up_writer.close()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, count: bool) -> None:
        """Copy bytes until EOF, idle timeout, or (for responses) the page's byte budget."""
        try:
            while True:
                chunk = await asyncio.wait_for(src.read(65536), IDLE_TIMEOUT_S)
                if not chunk:
                    break
                if count:
                    self.page_bytes += len(chunk)
                    if self.page_bytes > self.max_page_bytes:
                        self.refusals.append(Refusal("(page)", "size limit reached; the rest was cut"))
                        break
                dst.write(chunk)
                await dst.drain()
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(OSError):
                if dst.can_write_eof():
                    dst.write_eof()
                else:
                    dst.close()


def _rewrite(first_line: bytes, headers: bytes) -> bytes:
    """Rebuild a message head without hop-by-hop proxy headers, forcing Connection: close."""
    kept = [
        line for line in headers.split(b"\r\n") if line and line.split(b":", 1)[0].strip().lower() not in HOP_HEADERS
    ]
    return b"\r\n".join([first_line, *kept, b"Connection: close", b"", b""])


async def _reply(writer: asyncio.StreamWriter, status: int, message: str, refused: str | None = None) -> None:
    reasons = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}
    body = message.encode("utf-8")
    extra = f"{REFUSED_HEADER}: {refused.encode('ascii', 'replace').decode()}\r\n" if refused else ""
    writer.write(
        f"HTTP/1.1 {status} {reasons[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
        + body
    )
    await writer.drain()
