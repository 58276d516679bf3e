"""The model worker process (agents/models/call_worker.py starts it): litellm calls for whole answers.

Reads one JSON request a line on stdin ({"id", "kwargs", "price"} for litellm.acompletion, the price for litellm's own
logging; or {"id", "cancel": true}), runs the calls concurrently, and writes one JSON line per call on its stdout:
{"id", "answer"} (assembly.plain_answer) or {"id", "error"} (providers.error_fields). It exits when stdin closes (even
during its import of litellm) or its parent changes, so it never outlives the app.
Usage: python -m agents.models.call_worker_main PARENT_PID
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import signal
import sys
import threading
from typing import Any, BinaryIO

import orjson

from agents.models import providers

logger = logging.getLogger(__name__)
PARENT_CHECK_S = 2.0  # belt and braces for an app killed while something else holds our stdin open


# Models this process has told litellm the price of (or found its map prices): checked once each.
_PRICED: set[str] = set()


def price_for_litellm(model: str, price: list[float] | None) -> None:
    """Give litellm the price the app uses for a model its cost map lacks (providers.known_price, per million
    tokens: input, cached input, output), once per process.

    Why: litellm prices every answer for its own logging, and for a model its map lacks (most Kimi ids) it searches
    the map's fallback names on every call, ~1 ms of CPU or a fifth of the worker's work per call. Only the worker
    does this (the app sends the price with each request): the cost the app stores is providers.cost_of's
    in the app's process, which a registration here never reaches.
    """
    if price is None or model in _PRICED or "/" not in model:
        return
    _PRICED.add(model)
    litellm = providers.litellm_module()
    try:
        litellm.cost_per_token(model=model, prompt_tokens=1, completion_tokens=1)
        return  # the map prices it: its figure stays
    except Exception as exc:  # litellm raises several types; only this one says the map has no such model
        if type(exc).__name__ != "ModelNotMappedError":
            return
    inp, cached, out = (float(p) / 1e6 for p in price)
    try:  # Not added to the provider's model set: the ids stay out of litellm's provider resolution and model lists.
        litellm.register_model({model: {"input_cost_per_token": inp, "cache_read_input_token_cost": cached,
                                        "output_cost_per_token": out, "litellm_provider": model.split("/", 1)[0],
                                        "mode": "chat"}}, add_to_provider_model_sets=False)
    except Exception:  # noqa: BLE001 - only litellm's logging is slower then; the call must not fail for it
        logger.warning("litellm would not take the price of %s; it searches its cost map on each call", model,
                       exc_info=True)


async def warm_up() -> None:
    """One mocked call through litellm's whole call path (no request is sent), before the worker says it is ready.

    Why: litellm's first call imports more of litellm (its proxy's file-id helpers, its logging handlers) and builds
    its per-process state, ~0.35 s of CPU; done here, no swarm pays it on its own clock."""
    try:
        await providers.litellm_module().acompletion(
            model="openai/warm-up", messages=[{"role": "user", "content": "warm up"}], mock_response="ready")
    except Exception:  # noqa: BLE001 - only the first real call is slower then
        logger.warning("litellm's warm-up call failed; the first call pays for it", exc_info=True)


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

    async def call(rid: int, kwargs: dict[str, Any], price: list[float] | None) -> None:
        try:
            price_for_litellm(kwargs["model"], price)
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
    await warm_up()
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
        tasks[rid] = asyncio.create_task(call(rid, request["kwargs"], request.get("price")))


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
