"""The model worker process (agents/models/call_worker.py): whole answers made by litellm in a second process are the
same answers, meet the same retry rules, a dead worker is a clear error (never a hang), and it never outlives the app.
Through real litellm -> HTTP -> the fake K2, in the worker process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from agents.errors import AuthError, ContextLengthError, ModelWorkerDied, ProviderError
from agents.models import providers
from agents.models.call_worker import WORKER
from agents.models.providers import complete
from tests.agents.test_providers import FAST, TOOLS, spec_for
from tests.agents.test_whole_answers import both_ways
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn, groq_tool_use_failed

ROOT = Path(__file__).resolve().parents[2]
READY_S = 120  # the worker imports litellm first: seconds of CPU on a busy machine


@pytest.fixture
async def worker_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker is up, and a whole answer made in this process fails the test (so each one went to the worker)."""
    assert await WORKER.start(wait_s=READY_S), WORKER.failed_start or "the model worker was not ready in time"

    async def here(kwargs: dict) -> dict:
        raise AssertionError("a whole answer was made in the app's process, not in the model worker")

    monkeypatch.setattr(providers, "whole_answer_here", here)


async def whole(spec, messages=None, tools=TOOLS):
    events: list = []
    done = await complete([spec], messages or [{"role": "user", "content": "weather?"}], tools, emit=events.append,
                          retry=FAST, stream=False)
    return done, events


@pytest.mark.parametrize("provider,model", [("moonshot", "kimi-k2-thinking"), ("groq", "moonshotai/kimi-k2-instruct-0905")])
async def test_an_answer_from_the_worker_equals_the_streamed_one(fake_k2, _isolated_home, worker_only, provider, model):
    spec = spec_for(fake_k2, provider, model, _isolated_home)
    turn = Turn(reasoning="Need the weather.", content="Checking.",
                tool_calls=[ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Oslo"})])
    (streamed, s_events, _), (remote, w_events, w_body) = await both_ways(
        fake_k2, spec, turn, [{"role": "user", "content": "Weather in Paris and Oslo?"}])
    assert "stream" not in w_body and w_body["tools"] == TOOLS
    assert remote.message == streamed.message and remote.message["reasoning_content"] == "Need the weather."
    assert (remote.prompt_tokens, remote.completion_tokens, remote.cost_usd, remote.price_source) == (
        streamed.prompt_tokens, streamed.completion_tokens, streamed.cost_usd, streamed.price_source)
    assert remote.prompt_tokens > 0 and remote.finish_reason == "tool_calls"
    assert [type(e).__name__ for e in w_events] == ["ReasoningDelta", "TextDelta"]


async def test_429_with_retry_after_and_a_malformed_call_are_retried_from_the_worker(fake_k2, _isolated_home,
                                                                                     worker_only):
    fake_k2.enqueue(Turn(status=429, retry_after=0.4), groq_tool_use_failed('{"city": Paris'),
                    Turn(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    started = time.monotonic()
    done, events = await whole(spec_for(fake_k2, "groq", "moonshotai/kimi-k2-instruct-0905", _isolated_home))
    assert done.message["tool_calls"][0]["function"]["name"] == "get_weather" and len(fake_k2.requests) == 3
    assert time.monotonic() - started >= 0.4  # the Retry-After read from the worker's error was honoured
    notices = [e.message for e in events if e.__class__.__name__ == "Notice"]
    assert any("HTTP 429" in n and "retry 1/2 in 0.4s" in n for n in notices)
    assert any("malformed tool call" in n for n in notices)


async def test_5xx_is_retried_then_reported_and_401_is_an_auth_error(fake_k2, _isolated_home, worker_only):
    spec = spec_for(fake_k2, "moonshot", "kimi-k2-0905-preview", _isolated_home)
    fake_k2.enqueue(*[Turn(status=503)] * FAST.attempts)
    with pytest.raises(ProviderError) as failed:
        await whole(spec)
    assert failed.value.retryable and "HTTP 503" in str(failed.value) and len(fake_k2.requests) == FAST.attempts
    fake_k2.enqueue(Turn(status=401))
    with pytest.raises(AuthError):
        await whole(spec)
    assert len(fake_k2.requests) == FAST.attempts + 1  # never retried


@pytest.mark.parametrize("provider,style", [("moonshot", "moonshot"), ("groq", "groq"), ("vllm", "vllm")])
async def test_a_context_length_refusal_from_the_worker_is_recognised_and_not_retried(_isolated_home, worker_only,
                                                                                      provider, style):
    model = "moonshotai/kimi-k2-instruct-0905" if provider == "groq" else "kimi-k2-0905-preview"
    with FakeK2Server(window=100, context_style=style) as server:
        server.enqueue(Turn(content="never served"))
        with pytest.raises(ContextLengthError):
            await whole(spec_for(server, provider, model, _isolated_home), [{"role": "user", "content": "x" * 2000}])
        assert len(server.requests) == 1


async def test_a_worker_killed_mid_call_fails_that_call_at_once_and_the_next_call_works(fake_k2, _isolated_home):
    assert await WORKER.start(wait_s=READY_S)
    spec = spec_for(fake_k2, "moonshot", "kimi-k2-0905-preview", _isolated_home)
    fake_k2.enqueue(Turn(content="too late", delay_s=30))
    call = asyncio.create_task(whole(spec))
    for _ in range(400):  # until the worker's request reached the fake
        if fake_k2.requests:
            break
        await asyncio.sleep(0.05)
    assert fake_k2.requests, "the worker never sent the request"
    started, pid = WORKER.started, WORKER.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ModelWorkerDied) as died:
        await asyncio.wait_for(call, 10)  # an error, not a hang
    assert "killed by signal 9" in str(died.value) and not died.value.retryable
    assert len(fake_k2.requests) == 1  # not retried as a model call: a swarm retries the sub-agent
    fake_k2.enqueue(Turn(content="fine"))
    done, _ = await whole(spec)  # in this process until the new worker is ready
    assert done.message["content"] == "fine" and WORKER.started == started + 1 and WORKER.pid != pid


CHILD = """
import asyncio, sys
from agents.models import call_worker
async def main():
    ready = await call_worker.WORKER.start(wait_s={ready})
    print(call_worker.WORKER.pid if ready else "not ready", flush=True)
    if sys.argv[1] == "wait":
        await asyncio.sleep(600)
asyncio.run(main())
"""


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("end", ["kill -9", "normal exit"])
def test_the_worker_never_outlives_the_app(_isolated_home, end):
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(ready=READY_S), "wait" if end == "kill -9" else "exit"],
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        assert line.isdigit(), f"the child's worker did not start: {line!r}"
        worker = int(line)
        assert psutil.Process(worker).ppid() == child.pid
        if end == "kill -9":
            child.kill()
        child.wait(30)
        assert _gone(worker, 15), "the model worker outlived the app"
    finally:
        child.kill()
        child.wait()


def test_a_forked_child_never_writes_to_its_parents_worker(_isolated_home):
    WORKER.prestart()
    parent_worker = WORKER.pid
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child reports what it sees, then leaves without running the parent's exit handlers
        os.write(write, str(WORKER.pid).encode())
        os._exit(0)
    os.close(write)
    seen = os.read(read, 64).decode()
    os.waitpid(child, 0)
    os.close(read)
    assert parent_worker is not None and seen == "None" and WORKER.pid == parent_worker


@pytest.mark.slow
def test_a_worker_whose_app_ends_while_it_imports_litellm_exits_at_once(_isolated_home):
    """A short command that opened an agent and ended: the worker does not go on importing for seconds."""
    worker = subprocess.Popen([sys.executable, "-m", "agents.models.call_worker_main", str(os.getpid())], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        time.sleep(0.5)  # inside its import of litellm (seconds of CPU)
        assert worker.poll() is None and worker.stdin is not None
        closed = time.monotonic()
        worker.stdin.close()
        worker.wait(30)
        assert time.monotonic() - closed < 2.0 and worker.returncode == 0
    finally:
        worker.kill()
        worker.wait()


PRICING = """
import json
from agents.models import providers
from agents.models.call_worker_main import price_for_litellm
litellm = providers.litellm_module()

def cost(model):
    try:
        return litellm.cost_per_token(model=model, prompt_tokens=1_000_000, completion_tokens=1_000_000,
                                      cache_read_input_tokens=0)
    except Exception as exc:
        return type(exc).__name__

out = {"before": cost("moonshot/kimi-k2-0905-preview")}
price_for_litellm("moonshot/kimi-k2-0905-preview", [0.60, 0.15, 2.50])
out["after"] = cost("moonshot/kimi-k2-0905-preview")
price_for_litellm("moonshot/kimi-k2-0905-preview", [9.0, 9.0, 9.0])  # once per process: the first price stays
out["again"] = cost("moonshot/kimi-k2-0905-preview")
out["mapped_before"] = cost("moonshot/kimi-k2.5")
price_for_litellm("moonshot/kimi-k2.5", [9.0, 9.0, 9.0])  # a model litellm's map prices keeps the map's figure
out["mapped_after"] = cost("moonshot/kimi-k2.5")
print(json.dumps(out))
"""


@pytest.mark.slow
def test_the_worker_gives_litellm_the_preset_price_of_a_model_its_map_lacks(_isolated_home):
    """litellm's own logging then prices each answer from the entry, not by searching its map's fallback names (a
    fifth of the worker's CPU per call). Run in a process of its own, as in the worker: this one's litellm stays as
    it is."""
    done = subprocess.run([sys.executable, "-c", PRICING], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["before"] == "ModelNotMappedError"
    assert out["after"] == out["again"] == pytest.approx([0.60, 2.50])
    assert out["mapped_after"] == out["mapped_before"] and out["mapped_before"] != pytest.approx([9.0, 9.0])


async def test_a_request_to_the_worker_carries_the_presets_price_and_the_stored_cost_is_cost_ofs(
        fake_k2, _isolated_home, monkeypatch):
    sent: list = []

    async def not_ready(kwargs: dict, *, timeout_s: float, price=None) -> None:
        sent.append(price)
        return None  # as while the worker starts: the call is made in this process

    monkeypatch.setattr(WORKER, "complete", not_ready)
    spec = spec_for(fake_k2, "moonshot", "kimi-k2-0905-preview", _isolated_home)
    fake_k2.enqueue(Turn(content="fine"))
    done, _ = await whole(spec)
    assert sent == [[0.60, 0.15, 2.50]]
    assert (done.cost_usd, done.price_source) == providers.cost_of(spec, done.prompt_tokens, done.completion_tokens,
                                                                   done.cached_tokens)
    assert done.price_source == spec.info.price.source and done.cost_usd > 0
    monkeypatch.setenv("K2HUB_PRICES", '{"kimi-k2-0905-preview": [1.0, 0.5, 4.0]}')  # the user's price wins
    fake_k2.enqueue(Turn(content="fine"))
    done, _ = await whole(spec)
    assert sent[-1] == [1.0, 0.5, 4.0] and done.price_source == "K2HUB_PRICES"
