"""The model worker: a second process that owns litellm for whole (non-streamed) answers, the app's side of it.

Why: a swarm of sub-agents is CPU-bound in one interpreter, and about half of its CPU per model call is litellm's own
work on a complete answer (request setup, cost calculation, its logging payload). A whole answer is one request in
and one message out, so that work can run in another process, on another core: the app sends the request's litellm
arguments as a JSON line on the worker's stdin and gets back the answer as plain data (assembly.plain_answer) or
the error's fields (providers.error_fields), from which the same retry rules run here (429 and Retry-After, 5xx,
context length, 401/403).

Lifetime: one worker per app process, started in the background when the web app's agent opens if it offers
agents__spawn (Agent.warm_model_worker; not for the local model, and not for a one-shot CLI question), else by the
first swarm (scheduler.run) or the first whole answer; until it says it is ready (its import of litellm takes seconds
of CPU), calls run in this process as before. It dies with the
app: it exits when its stdin closes (the app ended, even by kill -9) or when its parent changes. If it dies while
calls wait on it, each of them fails at once with ModelWorkerDied naming its exit status (a swarm starts that
sub-agent once more), and the next call starts a new worker. A call that gets no answer within its own timeout plus
a grace fails like a timed-out request.
"""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import os
import subprocess
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import orjson  # requests carry whole histories: several times faster than json, in both processes

from agents.errors import ModelWorkerDied
from agents.models.secrets import setting_value

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]  # the directory holding the `agents` package
GRACE_S = 30.0  # past a call's own timeout (the worker's litellm enforces that one), the app stops waiting
PIPE_BYTES = 1 << 20  # a request with a long history fits in the pipe without blocking the event loop on write
_F_SETPIPE_SZ = 1031  # Linux fcntl; elsewhere the default pipe size is kept


def enabled() -> bool:
    """K2HUB_MODEL_WORKER (default on): `0`/`false`/`off` keeps every call in the app's process."""
    return setting_value("K2HUB_MODEL_WORKER").lower() not in ("0", "false", "no", "off")


class RemoteCallError(Exception):
    """A call that failed in the worker, carrying what providers' retry rules read of litellm's exception."""

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(fields.get("message") or "")
        self.kind = fields.get("kind") or "Error"  # litellm's class name (provider_errors.short shows it)
        self.status_code = fields.get("status")
        retry_after = fields.get("retry_after")
        self.litellm_response_headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        self.context_window_exceeded = bool(fields.get("context_window"))


class Worker:
    """The app's handle on its model worker process (one per process, shared by every event loop and thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._next = 0
        # request id -> (its caller's loop, the future the answer settles, the worker it was sent to)
        self._pending: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], subprocess.Popen[bytes]]] = {}
        self.started = 0  # workers started by this process (tests count restarts)
        self.failed_start = ""  # a worker that ended before it was ready: calls stay in this process from then on

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    @property
    def ready(self) -> bool:
        return self._ready

    async def complete(self, kwargs: dict[str, Any], *, timeout_s: float,
                       price: list[float] | None = None) -> dict[str, Any] | None:
        """The plain answer to one non-streamed call, or None while the worker is not up yet (call it here then).

        `price` (per million tokens: input, cached input, output; providers.known_price) is for litellm's own
        logging in the worker (call_worker_main.price_for_litellm); the cost the app stores is computed here as before.

        Raises RemoteCallError for the provider's error, ModelWorkerDied when the worker ended during the call.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        try:
            request = orjson.dumps(kwargs)
        except TypeError:
            return None  # not plain JSON (nothing the planner sends today): litellm takes it in this process
        with self._lock:
            if self.failed_start:
                return None
            if self._proc is None:
                self._start()
            if not self._ready:
                return None
            proc = self._proc
            assert proc is not None and proc.stdin is not None
            self._next += 1
            rid = self._next
            self._pending[rid] = (loop, future, proc)
            try:
                proc.stdin.write(b'{"id":%d,"price":%b,"kwargs":%b}\n' % (rid, orjson.dumps(price), request))
                proc.stdin.flush()
            except OSError as exc:  # the worker is gone; its reader thread reports the exit status to the others
                self._pending.pop(rid, None)
                raise ModelWorkerDied(f"The model worker process could not take the call ({exc}).") from exc
        expiry = loop.call_later(timeout_s + GRACE_S, self._expire, rid, timeout_s + GRACE_S)
        try:
            message = await future
        except asyncio.CancelledError:
            self._send({"id": rid, "cancel": True})  # a stopped sub-agent: the worker drops its request
            raise
        finally:
            expiry.cancel()
            self._pending.pop(rid, None)
        if "error" in message:
            raise RemoteCallError(message["error"])
        return message["answer"]

    def prestart(self) -> None:
        """Start the worker if none runs, without waiting for it (providers.start_model_worker)."""
        with self._lock:
            if self._proc is None and not self.failed_start:
                self._start()

    async def start(self, *, wait_s: float = 0.0) -> bool:
        """Start the worker if none runs; with wait_s, wait that long for it to be ready. Whether it is ready."""
        self.prestart()
        deadline = asyncio.get_running_loop().time() + wait_s
        while not self._ready and self._proc is not None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        return self._ready

    def close(self) -> None:
        """Close the worker's stdin (it exits) and wait for it briefly."""
        with self._lock:
            proc, self._proc, self._ready = self._proc, None, False
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()

    def _start(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
        proc = subprocess.Popen([sys.executable, "-m", "agents.models.call_worker_main", str(os.getpid())],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT)
        assert proc.stdin is not None and proc.stdout is not None
        for pipe in (proc.stdin, proc.stdout):
            try:
                fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:
                pass
        self._proc, self._ready = proc, False
        self.started += 1
        threading.Thread(target=self._read, args=(proc,), name="model-worker-reader", daemon=True).start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        """The worker's answers, settled on their callers' loops; at its end, every waiting call fails."""
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # not ours (the worker's stdout carries only its own lines; stray output goes to stderr)
            if message.get("ready"):
                with self._lock:
                    self._ready = self._proc is proc
                continue
            with self._lock:
                waiting = self._pending.pop(message.get("id"), None)
            if waiting is not None:
                self._settle(waiting[:2], message)
        code = proc.wait()
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        with self._lock:
            if self._proc is proc:
                if not self._ready:
                    self.failed_start = how
                    logger.warning("The model worker process %s before it was ready: model calls stay in the "
                                   "app's process.", how)
                self._proc, self._ready = None, False
            # Calls sent to this worker only (a new one may already be serving others).
            lost = [rid for rid, waiting in self._pending.items() if waiting[2] is proc]
            waiting_calls = [self._pending.pop(rid) for rid in lost]
        for loop, future, _ in waiting_calls:
            self._settle((loop, future), ModelWorkerDied(
                f"The model worker process {how} during this call (pid {proc.pid}).", retryable=False))

    def _settle(self, waiting: tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]], outcome: Any) -> None:
        loop, future = waiting

        def settle() -> None:
            if future.done():
                return
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

        try:
            loop.call_soon_threadsafe(settle)
        except RuntimeError:
            pass  # that loop is closed: no one waits any more

    def _expire(self, rid: int, waited_s: float) -> None:
        waiting = self._pending.pop(rid, None)
        if waiting is not None and not waiting[1].done():
            waiting[1].set_exception(RemoteCallError({"kind": "Timeout", "message": f"the model worker gave no answer in {waited_s:.0f} s"}))
            self._send({"id": rid, "cancel": True})

    def _send(self, message: dict[str, Any]) -> None:
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None:
                return
            try:
                proc.stdin.write(orjson.dumps(message) + b"\n")
                proc.stdin.flush()
            except OSError:
                pass


    def _forget(self) -> None:
        """In a forked child: the parent's worker and its reader thread are not ours (a new worker starts on use)."""
        self.__init__()  # type: ignore[misc]


WORKER = Worker()
atexit.register(WORKER.close)
os.register_at_fork(after_in_child=WORKER._forget)
