"""The fake K2 server, exercised through real litellm over HTTP for each provider prefix the app uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import httpx  # noqa: E402
import litellm  # noqa: E402
from litellm.exceptions import MidStreamFallbackError  # noqa: E402
import pytest  # noqa: E402

from tests.fakes.k2_server import (  # noqa: E402
    FakeK2Server,
    ToolCall,
    Turn,
    groq_tool_use_failed,
    k2_native_tool_text,
    k2_xml_tool_text,
    moonshot_missing_reasoning_error,
    text_turn,
    tool_turn,
)

litellm.suppress_debug_info = True
pytestmark = pytest.mark.timeout(30)

PREFIXES = ["openai", "hosted_vllm", "moonshot", "groq"]
# Groq serves K2 only as an instruct model; the others are pointed at a thinking model.
MODEL = {
    "openai": "kimi-k2-thinking",
    "hosted_vllm": "kimi-k2-thinking",
    "moonshot": "kimi-k2-thinking",
    "groq": "moonshotai/kimi-k2-instruct-0905",
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        },
    }
]
USER = [{"role": "user", "content": "read a.txt"}]


def history(reasoning: str | None) -> list[dict]:
    """A conversation with one earlier tool call, its assistant message carrying `reasoning` if given."""
    assistant: dict[str, Any] = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "functions.read_file:0", "type": "function",
             "function": {"name": "read_file", "arguments": '{"path": "a.txt"}'}}
        ],
    }
    if reasoning is not None:
        assistant["reasoning_content"] = reasoning
    return [*USER, assistant, {"role": "tool", "tool_call_id": "functions.read_file:0", "content": "AAA"}]


async def complete(server: FakeK2Server, prefix: str, model: str | None = None, **kwargs: Any) -> Any:
    """One litellm call to the fake, the way the app's provider layer makes it."""
    kwargs.setdefault("messages", USER)
    return await litellm.acompletion(
        model=f"{prefix}/{model or MODEL[prefix]}", api_base=server.url, api_key="x", **kwargs
    )


@dataclass
class Streamed:
    """What a consumer of a litellm stream saw."""

    reasoning: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    calls: dict[int, dict] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    finish: str | None = None
    usage: Any = None


async def collect(stream: Any, seen: Streamed | None = None) -> Streamed:
    """Assemble reasoning, content and tool-call deltas from a litellm stream."""
    seen = seen or Streamed()
    async for chunk in stream:
        if getattr(chunk, "usage", None):
            seen.usage = chunk.usage
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        delta = choice.delta
        if getattr(delta, "reasoning_content", None):
            seen.reasoning.append(delta.reasoning_content)
            seen.order.append("reasoning")
        if delta.content:
            seen.content.append(delta.content)
            seen.order.append("content")
        for call in delta.tool_calls or []:
            slot = seen.calls.setdefault(call.index, {"id": None, "name": None, "arguments": ""})
            slot["id"] = slot["id"] or call.id
            slot["name"] = slot["name"] or call.function.name
            slot["arguments"] += call.function.arguments or ""
            seen.order.append("tool_calls")
        seen.finish = choice.finish_reason or seen.finish
    return seen


def dedupe(order: list[str]) -> list[str]:
    """Collapse runs: ['a','a','b'] -> ['a','b']."""
    return [kind for i, kind in enumerate(order) if i == 0 or order[i - 1] != kind]


# --- (a) reasoning_content, tool-call deltas and usage arrive, streaming and not -------------------


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_stream_delivers_reasoning_then_content_then_tool_calls(k2_server: FakeK2Server, prefix: str) -> None:
    k2_server.enqueue(Turn(content="Reading it now.", reasoning="The user wants a.txt; I will read it.",
                           tool_calls=[ToolCall("read_file", {"path": "a.txt"})],
                           usage={"prompt_tokens": 120, "completion_tokens": 30, "cached_tokens": 96}))
    stream = await complete(k2_server, prefix, tools=TOOLS, stream=True, stream_options={"include_usage": True})
    seen = await collect(stream)
    assert "".join(seen.reasoning) == "The user wants a.txt; I will read it."
    assert len(seen.reasoning) > 1 and len(seen.content) > 1
    assert "".join(seen.content) == "Reading it now."
    assert dedupe(seen.order) == ["reasoning", "content", "tool_calls"]
    assert seen.calls == {0: {"id": "functions.read_file:0", "name": "read_file", "arguments": '{"path": "a.txt"}'}}
    assert seen.finish == "tool_calls"
    assert (seen.usage.prompt_tokens, seen.usage.completion_tokens, seen.usage.total_tokens) == (120, 30, 150)
    assert seen.usage.prompt_tokens_details.cached_tokens == 96


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_non_stream_message_has_reasoning_tool_calls_and_usage(k2_server: FakeK2Server, prefix: str) -> None:
    k2_server.enqueue(Turn(reasoning="Need the file.", tool_calls=[ToolCall("read_file", {"path": "a.txt"})],
                           usage={"cached_tokens": 8}))
    response = await complete(k2_server, prefix, tools=TOOLS)
    message = response.choices[0].message
    assert message.reasoning_content == "Need the file."
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls] == [
        ("functions.read_file:0", "read_file", {"path": "a.txt"})
    ]
    assert response.choices[0].finish_reason == "tool_calls"
    assert response.usage.prompt_tokens > 0 and response.usage.prompt_tokens_details.cached_tokens == 8


async def test_stream_usage_needs_include_usage(k2_server: FakeK2Server) -> None:
    """litellm ignores Moonshot's usage inside the last choice chunk: the app must ask for include_usage."""
    k2_server.enqueue(text_turn("hello there"))
    seen = await collect(await complete(k2_server, "openai", stream=True))
    assert "stream_options" not in k2_server.requests[0]
    assert "".join(seen.content) == "hello there" and seen.usage is None


# --- (b) replaying reasoning_content --------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "forwarded"),
                         [("openai", True), ("hosted_vllm", True), ("moonshot", True), ("groq", False)])
async def test_reasoning_content_replay(k2_server: FakeK2Server, prefix: str, forwarded: bool) -> None:
    k2_server.enqueue(text_turn("a.txt says AAA"))
    await complete(k2_server, prefix, messages=history("I should read a.txt."), tools=TOOLS)
    sent = k2_server.requests[0]["messages"][1]
    # litellm's groq transform strips reasoning_content from assistant messages.
    assert sent.get("reasoning_content", "<stripped>") == ("I should read a.txt." if forwarded else "<stripped>")
    assert sent["tool_calls"][0]["id"] == "functions.read_file:0"


async def test_missing_reasoning_is_rejected_for_thinking_models(k2_server: FakeK2Server) -> None:
    k2_server.enqueue(text_turn("unused"))
    with pytest.raises(litellm.BadRequestError) as caught:
        await complete(k2_server, "openai", messages=history(None), tools=TOOLS)
    assert caught.value.status_code == 400
    assert "reasoning_content is missing in assistant tool call message at index 1" in str(caught.value)
    assert k2_server.pending() == 1, "a rejected request must not consume a scripted turn"
    await complete(k2_server, "openai", "kimi-k2-0905-preview", messages=history(None), tools=TOOLS)


async def test_litellm_moonshot_fills_placeholder_reasoning_only_for_models_it_knows(k2_server: FakeK2Server) -> None:
    """moonshot/ injects reasoning_content=' ' only for models its cost map marks as reasoning (kimi-k2.5)."""
    k2_server.thinking_models = {"kimi-k2.5", "kimi-k2-thinking"}
    k2_server.enqueue(text_turn("ok"))
    await complete(k2_server, "moonshot", "kimi-k2.5", messages=history(None), tools=TOOLS)
    assert k2_server.requests[0]["messages"][1]["reasoning_content"] == " "
    with pytest.raises(litellm.BadRequestError):
        await complete(k2_server, "moonshot", "kimi-k2-thinking", messages=history(None), tools=TOOLS)


async def test_scripted_moonshot_error_turn(k2_server: FakeK2Server) -> None:
    k2_server.enqueue(moonshot_missing_reasoning_error(3))
    with pytest.raises(litellm.BadRequestError, match="message at index 3"):
        await complete(k2_server, "moonshot", max_retries=0)


# --- (c) sampling parameters and litellm's own retries --------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_temperature_and_top_p_sent_as_given(k2_server: FakeK2Server, prefix: str) -> None:
    k2_server.enqueue(text_turn("ok"))
    await complete(k2_server, prefix, "kimi-k2-0905-preview", temperature=0.6, top_p=0.95)
    assert (k2_server.requests[0]["temperature"], k2_server.requests[0]["top_p"]) == (0.6, 0.95)


async def test_litellm_moonshot_drops_temperature_for_reasoning_models(k2_server: FakeK2Server) -> None:
    k2_server.enqueue(text_turn("ok"))
    await complete(k2_server, "moonshot", "kimi-k2.5", temperature=0.6, top_p=0.95)
    assert "temperature" not in k2_server.requests[0] and k2_server.requests[0]["top_p"] == 0.95


# openai/ and moonshot/ go through the OpenAI SDK (2 retries by default); hosted_vllm/ and groq/ do not retry.
@pytest.mark.parametrize(("prefix", "attempts"), [("openai", 3), ("hosted_vllm", 1), ("moonshot", 3), ("groq", 1)])
async def test_litellm_retries_429_by_itself(k2_server: FakeK2Server, prefix: str, attempts: int) -> None:
    k2_server.enqueue(*[Turn(status=429, retry_after=0.01) for _ in range(4)])
    with pytest.raises(litellm.RateLimitError) as caught:
        await complete(k2_server, prefix, "kimi-k2-0905-preview")
    assert caught.value.status_code == 429
    assert len(k2_server.requests) == attempts


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_max_retries_zero_makes_one_request(k2_server: FakeK2Server, prefix: str) -> None:
    k2_server.enqueue(Turn(status=500), Turn(status=500))
    with pytest.raises(litellm.InternalServerError) as caught:
        await complete(k2_server, prefix, "kimi-k2-0905-preview", max_retries=0)
    assert caught.value.status_code == 500 and "internal server error" in str(caught.value)
    assert len(k2_server.requests) == 1


# --- (d) tool_choice ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["openai", "hosted_vllm", "groq"])
async def test_tool_choice_sent_as_given(k2_server: FakeK2Server, prefix: str) -> None:
    forced = {"type": "function", "function": {"name": "read_file"}}
    k2_server.enqueue(text_turn("ok"), text_turn("ok"))
    await complete(k2_server, prefix, "kimi-k2-0905-preview", tools=TOOLS, tool_choice="required")
    await complete(k2_server, prefix, "kimi-k2-0905-preview", tools=TOOLS, tool_choice=forced)
    assert [r["tool_choice"] for r in k2_server.requests] == ["required", forced]


async def test_litellm_moonshot_rewrites_required_tool_choice(k2_server: FakeK2Server) -> None:
    k2_server.enqueue(text_turn("ok"))
    await complete(k2_server, "moonshot", "kimi-k2-0905-preview", tools=TOOLS, tool_choice="required")
    body = k2_server.requests[0]
    assert "tool_choice" not in body
    assert body["messages"][-1] == {"role": "user", "content": "Please select a tool to handle the current issue."}


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "read_file"}}])
async def test_forced_tool_choice_rejected_while_thinking(k2_server: FakeK2Server, choice: Any) -> None:
    with pytest.raises(litellm.BadRequestError, match="incompatible with thinking enabled"):
        await complete(k2_server, "openai", tools=TOOLS, tool_choice=choice)
    k2_server.enqueue(text_turn("ok"))
    await complete(k2_server, "openai", tools=TOOLS, tool_choice="auto")


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_errors_surface_with_status_and_message(prefix: str) -> None:
    with FakeK2Server(api_key="right") as server:
        with pytest.raises(litellm.AuthenticationError, match="Invalid Authentication") as caught:
            await complete(server, prefix)
        assert caught.value.status_code == 401
        assert server.requests_meta[0]["headers"]["authorization"] == "Bearer x"
        good = {"api_base": server.url, "api_key": "right", "max_retries": 0, "messages": USER}
        # litellm maps this 400 to BadRequestError (openai/, moonshot/) or NotFoundError (hosted_vllm/, groq/).
        unknown = (litellm.BadRequestError, litellm.NotFoundError)
        with pytest.raises(unknown, match="The model `kimi-k9` does not exist"):
            await litellm.acompletion(model=f"{prefix}/kimi-k9", **good)
        server.enqueue(Turn(status=429, retry_after=7))
        with pytest.raises(litellm.RateLimitError, match="Rate limit reached"):
            await litellm.acompletion(model=f"{prefix}/kimi-k2-0905-preview", **good)
        with pytest.raises(litellm.InternalServerError, match="no scripted turn left"):
            await litellm.acompletion(model=f"{prefix}/kimi-k2-0905-preview", **good)


async def test_error_turn_wire_format(k2_server: FakeK2Server) -> None:
    k2_server.enqueue(Turn(status=429, retry_after=2.5), groq_tool_use_failed("<|tool_call_begin|>oops"))
    async with httpx.AsyncClient() as client:
        body = {"model": "kimi-k2-0905-preview", "messages": USER, "stream": True}
        limited = await client.post(f"{k2_server.url}/chat/completions", json=body)
        failed = await client.post(f"{k2_server.url}/chat/completions", json=body)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2.5"
    assert failed.status_code == 400
    assert failed.json()["error"]["code"] == "tool_use_failed"
    assert failed.json()["error"]["failed_generation"] == "<|tool_call_begin|>oops"


async def test_groq_sse_error_event(k2_server: FakeK2Server) -> None:
    k2_server.enqueue(*[groq_tool_use_failed("bad call", in_stream=True) for _ in range(2)])
    body = {"model": "kimi-k2-0905-preview", "messages": USER, "stream": True}
    async with httpx.AsyncClient() as client:
        raw = (await client.post(f"{k2_server.url}/chat/completions", json=body)).text
    assert raw.rstrip().endswith('"failed_generation": "bad call"}}')
    assert "event: error\ndata: " in raw and "[DONE]" not in raw
    # litellm 1.110.2's groq/ chunk parser passes code "tool_use_failed" as an int status: a ValueError escapes.
    with pytest.raises(Exception, match="tool_use_failed|Failed to call a function"):
        await collect(await complete(k2_server, "groq", "kimi-k2-0905-preview", stream=True))


async def test_openai_prefix_surfaces_sse_error(k2_server: FakeK2Server) -> None:
    k2_server.enqueue(groq_tool_use_failed("bad call", in_stream=True))
    with pytest.raises(MidStreamFallbackError, match="Failed to call a function"):
        await collect(await complete(k2_server, "openai", "kimi-k2-0905-preview", stream=True, max_retries=0))


async def test_disconnect_mid_stream_keeps_what_was_streamed(k2_server: FakeK2Server) -> None:
    k2_server.enqueue(Turn(content="one two three four five six seven eight nine", disconnect_after_chunks=3))
    seen = Streamed()
    with pytest.raises(MidStreamFallbackError, match="Connection error") as caught:
        await collect(await complete(k2_server, "openai", "kimi-k2-0905-preview", stream=True, max_retries=0), seen)
    # Role chunk + two content chunks went out before the reset; litellm hands back the text so far too.
    assert "".join(seen.content) == "one two three four "
    assert caught.value.generated_content == "one two three four "


# --- tool-call ids, K2 native text, streaming pace, the process -----------------------------------


async def test_tool_ids_count_across_the_conversation(k2_server: FakeK2Server) -> None:
    k2_server.enqueue(Turn(reasoning="two more", tool_calls=[ToolCall("ls", {}), ToolCall("read_file", "{bad json")]))
    response = await complete(k2_server, "openai", messages=history("read it"), tools=TOOLS)
    calls = response.choices[0].message.tool_calls
    assert [c.id for c in calls] == ["functions.ls:1", "functions.read_file:2"]
    assert calls[1].function.arguments == "{bad json"


def test_server_scoped_tool_ids() -> None:
    with FakeK2Server(id_scope="server") as server:
        server.enqueue(tool_turn("ls", {}), tool_turn("ls", {}))
        ids = [httpx.post(f"{server.url}/chat/completions", json={"model": "kimi-k2.5", "messages": USER})
               .json()["choices"][0]["message"]["tool_calls"][0]["id"] for _ in range(2)]
    assert ids == ["functions.ls:0", "functions.ls:1"]


async def test_k2_native_tool_text_passes_through_as_content(k2_server: FakeK2Server) -> None:
    raw = k2_native_tool_text("get_weather", {"city": "Paris"}, 0)
    assert raw == ('<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0'
                   '<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>')
    k2_server.enqueue(text_turn(raw))
    seen = await collect(await complete(k2_server, "hosted_vllm", "kimi-k2-0905-preview", stream=True))
    assert "".join(seen.content) == raw and not seen.calls


def test_models_endpoint_and_chunk_pacing(k2_server: FakeK2Server) -> None:
    listed = httpx.get(f"{k2_server.url}/models").json()
    assert listed["object"] == "list"
    assert {"id": "kimi-k2-thinking", "object": "model", "created": 0, "owned_by": "fake"} in listed["data"]
    k2_server.enqueue(Turn(content="a b c d e f g h i j k l m n o p", chunk_delay_s=0.05))
    stamps = []
    body = {"model": "kimi-k2-0905-preview", "messages": USER, "stream": True}
    with httpx.stream("POST", f"{k2_server.url}/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                stamps.append(time.monotonic())
    assert len(stamps) >= 5
    assert stamps[-2] - stamps[0] >= 0.12, "chunks arrived all at once"


def test_runs_as_a_process_with_script_and_echo(tmp_path: Path) -> None:
    script = tmp_path / "turns.json"
    script.write_text(json.dumps([{"content": "scripted", "tool_calls": [{"name": "ls", "arguments": {}}]}]))
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.k2_server", "--port", "0", "--script", str(script),
                             "--echo"], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split(" at ")[1].split()[0]
        body = {"model": "kimi-k2-0905-preview", "messages": [{"role": "user", "content": "ping"}]}
        first = httpx.post(f"{url}/chat/completions", json=body, timeout=10).json()["choices"][0]["message"]
        second = httpx.post(f"{url}/chat/completions", json=body, timeout=10).json()["choices"][0]["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert first["content"] == "scripted" and first["tool_calls"][0]["id"] == "functions.ls:0"
    assert second["content"] == "(fake K2) You said: ping" and second["reasoning_content"]


def test_requests_recorded_before_validation_and_reset(k2_server: FakeK2Server) -> None:
    bad = httpx.post(f"{k2_server.url}/chat/completions", content=b"{not json",
                     headers={"Content-Type": "application/json", "X-Trace": "t1"})
    assert bad.status_code == 400
    assert k2_server.requests == [{}]
    assert k2_server.requests_meta[0]["raw"] == "{not json" and k2_server.requests_meta[0]["headers"]["x-trace"] == "t1"
    k2_server.enqueue(text_turn("x"))
    k2_server.reset()
    assert k2_server.requests == [] and k2_server.pending() == 0


async def test_responder_answers_when_the_queue_is_empty() -> None:
    seen_models: list[str] = []

    def responder(request: dict) -> Turn:
        seen_models.append(request["model"])
        if request["messages"][-1]["content"] == "boom":
            raise RuntimeError("scripted failure")
        return text_turn(k2_xml_tool_text("get_weather", {"city": "Paris", "days": 2}), reasoning="xml form")

    with FakeK2Server(responder=responder) as server:
        server.enqueue(text_turn("queued first"))
        first = await complete(server, "openai", "kimi-k2-0905-preview")
        second = await complete(server, "openai", "kimi-k2-0905-preview")
        with pytest.raises(litellm.InternalServerError, match="responder raised RuntimeError"):
            await complete(server, "openai", "kimi-k2-0905-preview", max_retries=0,
                           messages=[{"role": "user", "content": "boom"}])
    assert first.choices[0].message.content == "queued first"
    assert second.choices[0].message.content == (
        '<tool_call><invoke name="get_weather"><parameter name="city">Paris</parameter>'
        '<parameter name="days">2</parameter></invoke></tool_call>')
    assert seen_models == ["kimi-k2-0905-preview", "kimi-k2-0905-preview"]


async def test_slow_first_byte_hits_the_client_timeout(k2_server: FakeK2Server) -> None:
    k2_server.enqueue(Turn(content="late", delay_s=1.0))
    started = time.monotonic()
    with pytest.raises(litellm.Timeout):
        await complete(k2_server, "hosted_vllm", "kimi-k2-0905-preview", timeout=0.2, max_retries=0)
    assert time.monotonic() - started < 0.9


def test_stop_cuts_keep_alive_connections() -> None:
    server = FakeK2Server().start()
    with httpx.Client(timeout=5) as client:
        assert client.get(f"{server.url}/models").status_code == 200
        server.stop()
        with pytest.raises(httpx.TransportError):
            client.get(f"{server.url}/models")
