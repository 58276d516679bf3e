"""One MCP server as the hub sees it: a supervised connection that restarts on crash or hang."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx2
import mcp_types as types
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

from agents.errors import ToolFailed
from agents.hub.config import ServerConfig
from agents.hub.failures import describe, exit_text, login_required
from agents.hub.hooks import CallHooks, client_info
from agents.hub.oauth import LoginRequired, build_auth, metadata_problem
from agents.hub.server_requests import Call, Clock, ServerRequests, Services, progress_callback
from agents.hub.stdio import STDERR_LINES, StdioChannel, stdio_channel

__all__ = ["ServerConnection", "Services", "State"]

log = logging.getLogger(__name__)

# pending: an external server waiting for the user's consent; disabled: switched off in mcp.json.
State = Literal["starting", "ready", "error", "restarting", "stopped", "pending", "disabled"]

MAX_RESTART_FAILURES = 5  # consecutive failed restarts before a server is left in "error"
HEALTHY_AFTER_S = 10.0  # a connection that lived this long resets the backoff
MAX_BACKOFF_S = 30.0
RETRY_ON_CALL_S = 10.0  # a call to a server in "error" retries the connection at most this often
MAX_TOOLS_BYTES = 2 * 1024 * 1024  # a tools/list larger than this is refused (definitions the model would read)


@dataclass
class Link:
    """One live connection (one process for stdio); replaced wholesale on restart."""

    session: ClientSession
    channel: StdioChannel | None
    started: float = field(default_factory=time.monotonic)
    end_reason: str | None = None  # set when we end it on purpose, so in-flight calls can say why
    probing: bool = False


class ServerConnection(ServerRequests):
    """Owns one server's connection in a long-lived task: anyio scopes must exit in the task that entered them."""

    def __init__(self, config: ServerConfig, *, startup_timeout_s: float, ping_timeout_s: float,
                 services: Services | None = None) -> None:
        super().__init__()
        self.config = config
        self.services = services or Services()
        self.name = config.name
        self.startup_timeout_s = startup_timeout_s
        self.ping_timeout_s = ping_timeout_s
        self.state: State = "stopped"
        self.error: str | None = None
        self.restarts = 0
        self.tools: list[types.Tool] = []
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self.server_info: types.Implementation | None = None
        self.needs_login = False  # the last failure was a 401 or a login the user must do
        self.held: dict[str, Any] = {}  # tools kept from the model until the user reviews them (agents.hub.gate)
        self.notes: list[str] = []  # things the user should know that did not stop the server (bad OAuth metadata)
        self.link: Link | None = None
        self.on_tools: Any = None  # callback(ServerConnection) when the tool list changes
        self._settled = asyncio.Event()  # set while ready, error or stopped; clear while (re)starting
        self._wake = asyncio.Event()
        self._stopping = False
        self._failures = 0
        self._last_attempt = 0.0
        self._task: asyncio.Task[None] | None = None
        self._probes: set[asyncio.Task[None]] = set()
        self._http_status: int | None = None

    @property
    def transport(self) -> str:
        """'stdio' or 'http'."""
        return self.config.transport

    def park(self, state: State, reason: str) -> None:
        """Do not start: say why (waiting for consent, disabled)."""
        self.error = reason
        self._set_state(state)

    async def start(self) -> None:
        """Start the supervisor task and wait for the first connection attempt to succeed or fail."""
        if self._task is None:
            self._set_state("starting")
            self._task = asyncio.create_task(self._supervise(), name=f"mcp-server:{self.name}")
        await self._settled.wait()

    def restart(self, reason: str = "restart requested", *, once: bool = False) -> None:
        """Drop the current connection (killing a stdio process) and connect again; `once`: no retry series."""
        self._failures = MAX_RESTART_FAILURES if once else 0
        if self.state != "stopped":
            self._set_state("restarting")  # callers waiting for readiness must wait for the new connection
        link = self.link
        if link is not None:
            self._end(link, reason)
        else:
            self._wake.set()

    def kill(self) -> None:
        """Kill a stdio server's process group now, without the grace a server gets to exit by itself (for
        throwaway starts: vetting)."""
        if self.link is not None and self.link.channel is not None:
            self.link.end_reason = "stopped"
            self.link.channel.kill()

    async def aclose(self, timeout_s: float) -> None:
        """Stop the supervisor; the stdio transport stops its process group within bounded time."""
        self._stopping = True
        for probe in self._probes:
            probe.cancel()
        if self.link is not None:
            self.link.end_reason = "the hub is shutting down"
        self._wake.set()
        if self._task is None:
            return
        done, _ = await asyncio.wait({self._task}, timeout=timeout_s)
        if not done:  # a transport refused to wind down: cancel it (its shutdown is shielded and bounded)
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=timeout_s)

    async def call(
        self, tool: str, arguments: dict[str, Any], *, label: str, meta: dict[str, Any] | None, timeout_s: float,
        hooks: CallHooks | None = None,
    ) -> types.CallToolResult:
        """Call a tool; raise ToolFailed with a message the model can act on for server-level problems."""
        link = self.link
        if link is None:
            link = await self._wait_ready(timeout_s)
        call = Call(hooks or CallHooks(), Clock(timeout_s))
        self._calls[id(call)] = call
        progress = progress_callback(call.hooks)
        try:
            await self.announce_roots(link.session, call.hooks.conversation)
            # One clock for writing the request and waiting for the answer (a server so stuck that it stopped
            # reading its stdin included); it stops while the user answers the server's question.
            with anyio.CancelScope() as scope:
                call.clock.start(scope)
                result = await link.session.call_tool(tool, arguments, meta=meta, progress_callback=progress)
            if scope.cancelled_caught:
                raise MCPError(REQUEST_TIMEOUT, "timed out")
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                self._probe_later(link, label)
                raise ToolFailed(f"Tool {label} timed out after {timeout_s:g} s") from None
            if exc.code == CONNECTION_CLOSED:
                raise ToolFailed(await self._closed_message(link)) from None
            if "Session terminated" in exc.message and self.transport == "http":
                self._end(link, "the HTTP server forgot our session (it probably restarted)")
                raise ToolFailed(f"Server {self.name} lost its session; reconnecting, retry the call") from None
            if self._http_status == 401:
                self.needs_login = True
                raise LoginRequired(self.name) from None
            raise ToolFailed(f"Server {self.name} rejected the call to {label}: {exc.message}") from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise ToolFailed(await self._closed_message(link)) from None
        except ToolFailed:
            raise
        except Exception as exc:  # e.g. structured content failing its output schema, HTTP errors
            login = login_required(exc)
            if login is not None:
                self.needs_login = True
                raise login from None
            raise ToolFailed(f"Tool {label} failed in the client: {describe(exc)}") from None
        finally:
            self._calls.pop(id(call), None)
        return result

    async def _wait_ready(self, timeout_s: float) -> Link:
        """Wait for a (re)starting server, up to the call's timeout; fail clearly if it is down."""
        if self.state == "error" and time.monotonic() - self._last_attempt > RETRY_ON_CALL_S:
            self.restart("a call arrived", once=True)  # e.g. a remote server that is back after an outage
        if self.state in ("starting", "restarting"):
            with anyio.move_on_after(timeout_s):
                await self._settled.wait()
        if self.link is not None:
            return self.link
        if self.state == "error":
            raise ToolFailed(f"Server {self.name} is unavailable: {self.error}")
        if self.state == "stopped":
            raise ToolFailed(f"Server {self.name} is stopped" + ("" if self.config.enabled else " (disabled)"))
        raise ToolFailed(f"Server {self.name} is still {self.state} after {timeout_s:g} s; retry later")

    async def _closed_message(self, link: Link) -> str:
        """Explain why a connection closed under a call: our own restart, shutdown, or a crash."""
        if link.end_reason:
            return f"Server {self.name} was stopped mid-call ({link.end_reason}); retry the call"
        if link.channel is None:
            self._end(link, "the connection closed")
            return f"Server {self.name} closed the connection; reconnecting, retry the call"
        code = await link.channel.exit_code(1.0)
        return f"Server {self.name} crashed ({exit_text(code, link.channel)}); it is being restarted, retry the call"

    def _probe_later(self, link: Link, label: str) -> None:
        """After a timeout, ping the server; one that cannot answer is hung and gets restarted."""
        if link.probing or link.end_reason:
            return
        link.probing = True
        task = asyncio.create_task(self._probe(link, label))
        self._probes.add(task)
        task.add_done_callback(self._probes.discard)

    async def _probe(self, link: Link, label: str) -> None:
        try:
            with anyio.move_on_after(self.ping_timeout_s) as scope:
                await link.session.send_ping()
            if scope.cancelled_caught and self.link is link:
                self._end(link, f"hung: no answer to a ping {self.ping_timeout_s:g} s after {label} timed out")
        except Exception as exc:  # the connection died meanwhile: the supervisor already restarts it
            log.debug("probe of %s ended: %s", self.name, exc)
        finally:
            link.probing = False

    def _end(self, link: Link, reason: str) -> None:
        """End a link on purpose: kill its process now (a hung one would ignore stdin EOF) and wake the supervisor."""
        if link.end_reason is None:
            link.end_reason = reason
        if link.channel is not None:
            link.channel.kill()
        if self.link is link:
            self._lost()

    def _on_eof(self) -> None:
        """The stdio server closed its output; during start-up the failing handshake reports it instead."""
        if self.link is not None:
            self._lost()

    def _lost(self) -> None:
        """The current link is gone: stop routing calls to it at once, and wake the supervisor."""
        self._drop_link()
        self._wake.set()

    def _drop_link(self) -> None:
        self.link = None
        if not self._stopping and self.state == "ready":
            self._set_state("restarting")

    def _set_state(self, state: State) -> None:
        self.state = state
        if state in ("starting", "restarting"):
            self._settled.clear()
        else:
            self._settled.set()

    async def _supervise(self) -> None:
        """Connect, serve until the link ends, restart with backoff; one task for the whole lifetime."""
        first = True
        while not self._stopping:
            self._wake.clear()
            self._set_state("starting" if first else "restarting")
            self._last_attempt = time.monotonic()
            link: Link | None = None
            reason = ""
            try:
                async with AsyncExitStack() as stack:
                    link = await self._connect(stack)
                    self.link = link
                    self.error = None
                    self._set_state("ready")
                    if link.channel is not None and link.channel.eof:  # died between handshake and now
                        self._lost()
                    await self._wake.wait()
                    self._drop_link()
                    reason = link.end_reason or ""
            except Exception as exc:
                login = login_required(exc)
                if login is None and self._http_status == 401:
                    login = LoginRequired(self.name)
                self.needs_login = login is not None
                reason = str(login) if login is not None else describe(exc)
            finally:
                self._drop_link()
            if self._stopping:
                break
            was_ready = link is not None  # only a completed handshake produces a link
            if link is not None and link.channel is not None and not link.end_reason:
                reason = "crashed: " + exit_text(link.channel.process.returncode, link.channel)
            self.error = reason or "the connection ended"
            log.warning("MCP server %s: %s", self.name, self.error)
            if not was_ready and first:  # a broken configuration: wait for a manual restart, do not loop
                self._set_state("error")
                self._wake.clear()  # drop wake-ups from the failed attempt itself (e.g. its EOF)
                await self._wake.wait()
                continue
            healthy = link is not None and was_ready and time.monotonic() - link.started > HEALTHY_AFTER_S
            self._failures = 0 if healthy else self._failures + 1
            if self._failures > MAX_RESTART_FAILURES:
                self._set_state("error")
                self._wake.clear()
                await self._wake.wait()
                self._failures = 0
                continue
            self._set_state("restarting")
            self.restarts += int(was_ready)  # a restart is a lost connection; failed attempts count as failures
            delay = 0.0 if self._failures <= 1 else min(0.5 * 2 ** (self._failures - 2), MAX_BACKOFF_S)
            if delay:
                self._wake.clear()  # the crash itself woke us; only restart() or aclose() may cut the delay
                with anyio.move_on_after(delay):
                    await self._wake.wait()
            first = False
        self._set_state("stopped")

    async def _connect(self, stack: AsyncExitStack) -> Link:
        """Open the transport and session, handshake, and list tools, all within the start-up timeout."""
        channel: StdioChannel | None = None
        if self.config.command is not None:
            channel = await stack.enter_async_context(stdio_channel(self.config, self.stderr, self._on_eof))
            read, write = channel.read, channel.write
        else:
            assert self.config.url is not None
            services = self.services
            auth = build_auth(self.config, services.home, services.consent) if services.home else None
            client = await stack.enter_async_context(
                create_mcp_http_client(headers=self.config.headers or None, auth=auth))
            client.event_hooks["response"].append(self._async_saw_response)
            read, write = await stack.enter_async_context(streamable_http_client(self.config.url, http_client=client))
        self._http_status = None
        session = await stack.enter_async_context(ClientSession(
            read, write, client_info=client_info(), **self.session_callbacks()))
        link = Link(session, channel)
        try:
            with anyio.fail_after(self.startup_timeout_s):
                init = await session.initialize()
                self.server_info = init.server_info
                tools = await _list_all_tools(session)
        except TimeoutError:
            raise ToolFailed(f"no answer to the MCP handshake within {self.startup_timeout_s:g} s") from None
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED and channel is not None:
                code = await channel.exit_code(1.0)
                raise ToolFailed(f"exited during start-up: {exit_text(code, channel)}") from None
            if self._http_status == 401:
                raise LoginRequired(self.name) from None
            raise
        size = len(json.dumps([t.model_dump(mode="json", exclude_none=True) for t in tools]))
        if size > MAX_TOOLS_BYTES:
            raise ToolFailed(f"its tools/list answer is {size / 1e6:.1f} MB, over the {MAX_TOOLS_BYTES / 1e6:.0f} MB "
                             "a server may declare; the server is not used")
        self.needs_login = False
        changed = [t.model_dump() for t in tools] != [t.model_dump() for t in self.tools]
        self.tools = tools
        if changed and self.on_tools is not None:
            self.on_tools(self)
        return link


    async def _async_saw_response(self, response: httpx2.Response) -> None:
        self._http_status = response.status_code  # a 401 becomes "log in" instead of "error response"
        if "/.well-known/" in response.url.path:
            note = await metadata_problem(response)
            if note and note not in self.notes:
                self.notes.append(note)


async def _list_all_tools(session: ClientSession) -> list[types.Tool]:
    """Every tool the server offers, following pagination."""
    tools: list[types.Tool] = []
    cursor: str | None = None
    while True:
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools
