"""The stdio transport the hub runs its servers over: mcp's wire format, with the process in our hands.

mcp's own `stdio_client` hides the process. The hub needs it: the exit code for a crash message, the pid to
kill a hung server now (not after a grace period), and stderr captured into a bounded buffer instead of the
terminal. Messages are framed and parsed exactly as `mcp.client.stdio` does.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import anyio
import anyio.abc
import mcp_types as types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.client.stdio import get_default_environment
from mcp.shared.message import SessionMessage

from agents.hub.config import ServerConfig


STDERR_LINES = 200  # ring buffer size per server
STDERR_LINE_CHARS = 2000
MAX_MESSAGE_BYTES = 32 * 1024 * 1024  # one JSON-RPC line; a server sending more is stopped, not buffered forever
STOP_GRACE_S = 1.0  # a well-behaved server exits on stdin EOF well within this
TERM_GRACE_S = 1.0


@dataclass
class StdioChannel:
    """A running server process and the message streams ClientSession talks through."""

    process: anyio.abc.Process
    read: MemoryObjectReceiveStream[SessionMessage | Exception]
    write: MemoryObjectSendStream[SessionMessage]
    stderr: deque[str]
    stderr_done: anyio.Event = field(default_factory=anyio.Event)
    eof: bool = False  # stdout closed: the server is gone (or going)
    stderr_count: int = 0  # lines this process wrote (the buffer also holds earlier processes' lines)

    def stderr_tail(self, lines: int) -> list[str]:
        """The last stderr lines written by this process only."""
        n = min(lines, self.stderr_count, len(self.stderr))
        return list(self.stderr)[-n:] if n else []

    @property
    def pid(self) -> int:
        """Process id of the server (also its process group id)."""
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the server's whole process group at once (used for hung servers)."""
        _signal_group(self.process, signal.SIGKILL)

    async def exit_code(self, wait_s: float) -> int | None:
        """The exit code, waiting up to wait_s for the process (and its stderr) to finish."""
        with anyio.move_on_after(wait_s):
            while self.process.returncode is None:
                await anyio.sleep(0.01)
            await self.stderr_done.wait()
        return self.process.returncode


@asynccontextmanager
async def stdio_channel(
    config: ServerConfig, stderr: deque[str], on_eof: Callable[[], None]
) -> AsyncIterator[StdioChannel]:
    """Spawn the server, pump its pipes into `stderr` and the session, and stop it in bounded time on exit."""
    assert config.command is not None
    process = await anyio.open_process(
        [config.command, *config.args],
        env=get_default_environment() | config.env,
        cwd=config.cwd,
        stderr=subprocess.PIPE,
        start_new_session=True,  # own process group: one killpg reaches npx and its node child alike
    )
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    channel = StdioChannel(process, read_stream, write_stream, stderr)
    logger = logging.getLogger(f"{__name__}.{config.name}")

    async def pump_stdout() -> None:
        assert process.stdout is not None
        buffer = b""
        try:
            async for chunk in process.stdout:
                lines = (buffer + chunk).split(b"\n")
                buffer = lines.pop()
                if len(buffer) > MAX_MESSAGE_BYTES:
                    _remember(channel, f"[k2hub] the server sent a message over {MAX_MESSAGE_BYTES >> 20} MB; "
                                       "it was stopped".encode(), logger)
                    channel.kill()
                    break
                for line in lines:
                    message = _parse(line, channel, logger)
                    if message is not None:
                        await read_writer.send(message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass  # our own shutdown closed a stream under the read
        finally:
            # Tell the owner before the session learns of the closure, so no caller retries on a dead link.
            channel.eof = True
            on_eof()
            read_writer.close()

    async def pump_stdin() -> None:
        assert process.stdin is not None
        try:
            async with write_reader:
                async for message in write_reader:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                    await process.stdin.send(data.encode())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            # The server stopped reading: end the session instead of leaving requests waiting forever.
            await read_writer.aclose()

    async def pump_stderr() -> None:
        assert process.stderr is not None
        pending = b""
        try:
            async for chunk in process.stderr:
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()[-STDERR_LINE_CHARS:]
                for raw in lines:
                    _remember(channel, raw, logger)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass
        finally:
            if pending:
                _remember(channel, pending, logger)
            channel.stderr_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pump_stdout)
        tg.start_soon(pump_stdin)
        tg.start_soon(pump_stderr)
        try:
            yield channel
        finally:
            with anyio.CancelScope(shield=True):
                await write_stream.aclose()
                await stop_process(process)
                await read_stream.aclose()
            tg.cancel_scope.cancel()


async def stop_process(process: anyio.abc.Process) -> None:
    """Close stdin, then SIGTERM, then SIGKILL the process group; every wait is bounded."""
    if process.stdin is not None:
        with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            await process.stdin.aclose()
    if not await _exited(process, STOP_GRACE_S):
        _signal_group(process, signal.SIGTERM)
        if not await _exited(process, TERM_GRACE_S):
            _signal_group(process, signal.SIGKILL)
            await _exited(process, 1.0)
    # Children that outlived the leader (e.g. node under npx) still hold the group: take them down too.
    _signal_group(process, signal.SIGKILL)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await stream.aclose()
    transport = getattr(getattr(process, "_process", None), "_transport", None)
    if transport is not None:  # otherwise asyncio warns about an unclosed transport at GC
        transport.close()


def _signal_group(process: anyio.abc.Process, sig: signal.Signals) -> None:
    """Send sig to the server's process group, ignoring a group that is already gone."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


async def _exited(process: anyio.abc.Process, timeout: float) -> bool:
    """Whether the process exited within timeout (polls returncode: wait() would also wait for pipe EOF)."""
    with anyio.move_on_after(timeout):
        while process.returncode is None:
            await anyio.sleep(0.01)
    return process.returncode is not None


def _parse(line: bytes, channel: StdioChannel, logger: logging.Logger) -> SessionMessage | None:
    """One stdout line as a message; stray non-JSON output (banners, prints) goes to the stderr buffer."""
    if not line.strip():
        return None
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError:
        _remember(channel, b"[stdout] " + line, logger)
        return None


def _remember(channel: StdioChannel, raw: bytes, logger: logging.Logger) -> None:
    """Keep one stderr line in the ring buffer and hand it to logging at debug level."""
    text = raw.decode(errors="replace").rstrip("\r")[:STDERR_LINE_CHARS]
    if text:
        channel.stderr.append(text)
        channel.stderr_count += 1
        logger.debug("%s", text)
