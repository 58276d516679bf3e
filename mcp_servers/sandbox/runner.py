"""Run one sandboxed command: bounded output capture, a wall-clock timeout that kills the whole tree, a result."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers.sandbox import snapshot
from mcp_servers.sandbox.bwrap import Isolation, Job
from mcp_servers.common.limits import Limits
from mcp_servers.common import safe_files
from mcp_servers.common.paths import Workspace

HEAD_BYTES = 64 * 1024  # kept from the start of each stream for the view
TAIL_BYTES = 16 * 1024  # and from its end: errors and summaries come last
# Shares of the hub's bounded view (K2HUB_TOOL_RESULT_CHARS) for stdout and stderr: with the header lines the
# result stays inside it, so the hub never cuts away stderr or the end of stdout.
STDOUT_SHARE = 0.5
STDERR_SHARE = 0.25
SPOOL_BYTES = 1024 * 1024  # output beyond this is kept on disk until the run ends
DRAIN_AFTER_KILL_S = 5.0  # after the command ended: the rest of its output, and the end of its last processes
KEEP_SAVED = 20  # whole outputs kept in the workspace's .k2hub/output/
SIGNALS = {signal.SIGKILL: "SIGKILL", signal.SIGXCPU: "SIGXCPU: the CPU-time limit was reached",
           signal.SIGXFSZ: "SIGXFSZ: the file-size limit was reached", signal.SIGSEGV: "SIGSEGV: segmentation fault",
           signal.SIGABRT: "SIGABRT: aborted", signal.SIGTERM: "SIGTERM", signal.SIGPIPE: "SIGPIPE",
           signal.SIGBUS: "SIGBUS", signal.SIGFPE: "SIGFPE: arithmetic error", signal.SIGILL: "SIGILL"}


class Capture:
    """One output stream: its head and tail for the view, everything (up to the run's cap) spooled for saving."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_len = 0
        self.total = 0
        self.spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.spool.write(chunk)
        room = HEAD_BYTES - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail.append(chunk)
            self.tail_len += len(chunk)
            while self.tail_len - len(self.tail[0]) >= TAIL_BYTES:
                self.tail_len -= len(self.tail.popleft())

    def view(self, limit: int) -> tuple[str, bool]:
        """The text shown to the model (head, a marker saying how much was cut, tail) and whether it was cut."""
        kept = bytes(self.head) + b"".join(self.tail)
        if self.total == len(kept):  # nothing dropped between head and tail
            text = kept.decode("utf-8", "replace")
            if len(text) <= limit:
                return text, False
        head_text = bytes(self.head).decode("utf-8", "replace")[: limit * 2 // 3]
        tail_text = kept[-(limit // 3) * 4 :].decode("utf-8", "replace")[-(limit // 3) :]
        shown = len(head_text.encode()) + len(tail_text.encode())
        marker = f"\n[… {self.total - shown:,} bytes of {self.name} cut here …]\n"
        return head_text + marker + tail_text, True

    def close(self) -> None:
        self.spool.close()


@dataclass
class Outcome:
    """What one run did."""

    exit_code: int | None
    duration_s: float
    stdout: Capture
    stderr: Capture
    timeout_s: float
    timed_out: bool = False
    output_capped: bool = False
    changes: snapshot.Changes = field(default_factory=snapshot.Changes)

    def close(self) -> None:
        self.stdout.close()
        self.stderr.close()

    def status(self) -> str:
        """'exit code 0' or why the run ended otherwise, in words the model can act on."""
        if self.timed_out:
            return (f"timed out after {self.timeout_s:g} s and was killed with all its processes; raise timeout_s or "
                    "make the code faster (output up to then is below)")
        if self.output_capped:
            return (f"stopped after {self.stdout.total + self.stderr.total:,} bytes of output, over the limit: write "
                    "large results to a file and print a summary")
        code = self.exit_code
        if code is not None and code < 0:
            return f"killed by {_signal_name(-code) or f'signal {-code}'}"
        name = _signal_name(code - 128) if code is not None and code > 128 else ""
        return f"exit code {code} (killed by {name})" if name else f"exit code {code}"

    @property
    def failed(self) -> bool:
        return self.timed_out or self.output_capped or self.exit_code != 0


async def _sandbox_gone(init_pid: int | None) -> None:
    """Wait (briefly) until the sandbox's init has ended: the kernel ends it only after every process inside."""
    if init_pid is None:
        return
    deadline = time.monotonic() + DRAIN_AFTER_KILL_S
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{init_pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X"):
                    return
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return
        await asyncio.sleep(0.01)


def _signal_name(number: int) -> str:
    try:
        sig = signal.Signals(number)
    except ValueError:
        return ""
    return SIGNALS.get(sig, sig.name)


async def execute(iso: Isolation, workspace: Path, conversation: str, job: Job, timeout_s: float) -> Outcome:
    """Run job in the sandbox with the workspace bound read-write; never raises for what the code itself does."""
    owner = iso.uid_for(conversation)
    workspace.mkdir(parents=True, exist_ok=True)
    before = await asyncio.to_thread(snapshot.scan, workspace, owner)
    launch = iso.launch(job, workspace, conversation, timeout_s)
    out, err = Capture("stdout"), Capture("stderr")
    cap = iso.limits.output_mb * 1024 * 1024
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *launch.argv, stdin=launch.stdin if launch.stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=launch.env, cwd=launch.cwd,
            pass_fds=launch.pass_fds, start_new_session=True,
        )
    except BaseException:
        launch.finish()
        raise
    launch.close()
    outcome = Outcome(None, 0.0, out, err, timeout_s)

    def kill() -> None:
        # The outer bwrap leads its own process group; its death takes the sandbox's pid namespace with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    async def pump(stream: asyncio.StreamReader, capture: Capture) -> None:
        while chunk := await stream.read(65536):
            if outcome.output_capped:
                continue  # drain without keeping, so the dying process never blocks on a full pipe
            capture.add(chunk)
            if out.total + err.total > cap:
                outcome.output_capped = True
                kill()

    assert proc.stdout is not None and proc.stderr is not None
    readers = asyncio.gather(pump(proc.stdout, out), pump(proc.stderr, err))
    try:
        exited = asyncio.ensure_future(proc.wait())
        if not (await asyncio.wait({exited}, timeout=timeout_s))[0]:
            outcome.timed_out = not outcome.output_capped
            kill()
        await exited
        try:
            # Isolated, nothing outlives the command; unisolated, a leftover background process may hold the pipes.
            await asyncio.wait_for(asyncio.shield(readers), DRAIN_AFTER_KILL_S)
        except TimeoutError:
            kill()
    finally:
        # A cancelled call (stopped run, hub timeout) must not leave the code running.
        if proc.returncode is None:
            kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), DRAIN_AFTER_KILL_S)
        if not readers.done():
            readers.cancel()
            with contextlib.suppress(BaseException):
                await readers
        await _sandbox_gone(launch.sandbox_pid())
        launch.finish()
    outcome.duration_s = time.monotonic() - started
    outcome.exit_code = proc.returncode
    after = await asyncio.to_thread(snapshot.scan, workspace)
    outcome.changes = snapshot.diff(before, after)
    return outcome


def report(outcome: Outcome, workspace: Path, *, title: str, limits: Limits, notes: list[str]) -> str:
    """The tool result: status line, notes, file changes, then stdout and stderr views; cut streams are saved whole."""
    lines = [f"{title}: {outcome.status()} · {outcome.duration_s:.2f} s", *notes]
    if outcome.failed:
        lines.append(f"sandbox limits: {limits.describe()}")
    changes = outcome.changes.render()
    if changes:
        lines.append(changes)
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"  # sortable by time, unique per run
    views = ((outcome.stdout, STDOUT_SHARE), (outcome.stderr, STDERR_SHARE))
    for capture, limit in ((c, max(200, int(limits.result_chars * share))) for c, share in views):
        if not capture.total:
            lines.append(f"--- {capture.name}: (empty) ---")
            continue
        text, cut = capture.view(limit)
        where = ""
        if cut:
            saved = _save_whole(workspace, capture, f"{stamp}-{title}.{capture.name}.txt")
            where = f"; the whole {capture.name} is in the workspace file {saved}" if saved else ""
        size = f"{capture.total:,} bytes" + (f", cut to {limit:,} characters{where}" if cut else "")
        lines += [f"--- {capture.name} ({size}) ---", text.rstrip("\n")]
    return "\n".join(lines)


def _save_whole(workspace: Path, capture: Capture, name: str) -> str:
    """Copy a cut stream into <workspace>/.k2hub/output/ (oldest beyond KEEP_SAVED removed); '' if refused."""
    ws = Workspace(workspace)
    folder = f"{snapshot.OWN_DIR}/output"
    try:
        # The code could have planted a symlink here: the safe layer refuses it rather than follow it.
        safe_files.make_dirs(ws, folder)
        safe_files.prune(ws, folder, KEEP_SAVED - 1, suffix=".txt")
        capture.spool.seek(0)
        return safe_files.write_new(ws, folder, name, capture.spool.read())
    except (ToolError, OSError):
        return ""
