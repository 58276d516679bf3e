"""The model worker process (agents/models/call_worker.py starts it): litellm calls for whole answers.

Reads one JSON request a line on stdin ({"id", "kwargs"} for litellm.acompletion, or {"id", "cancel": true}), runs
the calls concurrently, and writes one JSON line per call on its stdout: {"id", "answer"} (assembly.plain_answer) or
{"id", "error"} (providers.error_fields). It exits when stdin closes (even during its import of litellm) or its
parent changes, so it never outlives the app. Usage: python -m agents.models.call_worker_main PARENT_PID
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
import threading
from typing import Any, BinaryIO

import orjson

from agents.models import providers

PARENT_CHECK_S = 2.0  # belt and braces for an app killed while something else holds our stdin open


def _protocol_out() -> BinaryIO:
    """Our stdout for the protocol alone: anything a library prints goes to stderr instead."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


async def _serve(parent: int, out: BinaryIO) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 30)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    tasks: dict[int, asyncio.Task[None]] = {}

    def send(message: dict[str, Any]) -> None:
        out.write(orjson.dumps(message) + b"\n")
        out.flush()

    async def call(rid: int, kwargs: dict[str, Any]) -> None:
        try:
            send({"id": rid, "answer": await providers.whole_answer_here(kwargs)})
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the app, which classifies it
            send({"id": rid, "error": providers.error_fields(exc)})
        finally:
            tasks.pop(rid, None)

    async def watch_parent() -> None:
        while os.getppid() == parent:
            await asyncio.sleep(PARENT_CHECK_S)
        os._exit(0)

    watcher = asyncio.create_task(watch_parent())  # noqa: F841 - runs until the process ends
    send({"ready": True})
    while True:
        line = await reader.readline()
        if not line:  # the app closed our stdin or ended: nothing can read an answer any more
            os._exit(0)
        request = orjson.loads(line)
        rid = request["id"]
        if request.get("cancel"):
            task = tasks.pop(rid, None)
            if task is not None:
                task.cancel()
            continue
        tasks[rid] = asyncio.create_task(call(rid, request["kwargs"]))


def _exit_on_hang_up() -> None:
    """Exit as soon as the app's end of our stdin closes, even while litellm is still being imported (a short CLI
    command that opened an agent must not leave a worker importing for seconds after it)."""
    poller = select.poll()
    poller.register(sys.stdin.fileno(), 0)  # no data events: only a hang-up or an error wakes it
    while True:
        for _, event in poller.poll():
            if event & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                os._exit(0)


def main() -> None:
    os.environ["K2HUB_MODEL_WORKER"] = "0"  # litellm loaded here must not start a worker of its own
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the app; it closes our stdin when it ends
    parent = int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid()
    out = _protocol_out()
    threading.Thread(target=_exit_on_hang_up, name="hang-up", daemon=True).start()
    if os.getppid() != parent:
        os._exit(0)
    providers.litellm_module()  # the import (seconds of CPU) before saying ready: calls stay in the app meanwhile
    asyncio.run(_serve(parent, out))


if __name__ == "__main__":
    main()
