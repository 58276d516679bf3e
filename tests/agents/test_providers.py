"""K2 wire rules through real litellm -> HTTP -> the fake K2 server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agents.models import providers
from agents.errors import AuthError, ConfigError, ContextLengthError, ProviderError
from agents.events import Notice, ReasoningDelta, TextDelta
from agents.models.presets import PRESETS
from agents.models.providers import ModelSpec, RetryPolicy, complete, resolve
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn, groq_tool_use_failed, k2_native_tool_text

FAST = RetryPolicy(attempts=3, base_delay_s=0.05, max_delay_s=2.0)
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def spec_for(server: FakeK2Server, provider: str, model: str, home: Path) -> ModelSpec:
    """A preset's spec with its base URL pointed at the fake (every prefix goes through real litellm)."""
    return resolve(provider, model, server.url, home=home, api_key="test-key")


async def call(spec: ModelSpec | list[ModelSpec], messages: list[dict], tools: list[dict] | None = TOOLS):
    events: list = []
    chain = spec if isinstance(spec, list) else [spec]
    done = await complete(chain, messages, tools, emit=events.append, retry=FAST)
    return done, events


@pytest.mark.parametrize("provider,model", [("moonshot", "kimi-k2-thinking"), ("openai-compatible", "kimi-k2-thinking"),
                                            ("vllm", "kimi-k2-thinking"), ("groq", "moonshotai/kimi-k2-instruct-0905")])
async def test_reasoning_is_streamed_and_replayed_with_tool_call_messages(fake_k2, _isolated_home, provider, model):
    fake_k2.enqueue(Turn(reasoning="Need the weather.", tool_calls=[ToolCall("get_weather", {"city": "Paris"})]),
                    Turn(reasoning="Sunny, say so.", content="It is sunny."))
    spec = spec_for(fake_k2, provider, model, _isolated_home)
    history = [{"role": "user", "content": "Weather in Paris?"}]
    first, events = await call(spec, history)
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Need the weather."
    assert first.message["reasoning_content"] == "Need the weather."
    call_id = first.message["tool_calls"][0]["id"]
    assert call_id == "functions.get_weather:0"  # kept exactly as K2 sent it
    history += [first.message, {"role": "tool", "tool_call_id": call_id, "content": "sunny"}]
    # The fake answers 400 like Moonshot if reasoning_content is missing on the assistant tool-call message.
    second, _ = await call(spec, history)
    assert second.message["content"] == "It is sunny."
    sent = fake_k2.requests[1]["messages"][1]
    assert sent["reasoning_content"] == "Need the weather." and sent["tool_calls"][0]["id"] == call_id


async def test_missing_reasoning_is_rejected_by_the_fake_like_moonshot(fake_k2, _isolated_home):
    spec = spec_for(fake_k2, "moonshot", "kimi-k2-thinking", _isolated_home)
    bad = [{"role": "user", "content": "hi"},
           {"role": "assistant", "content": "", "tool_calls": [{"id": "functions.get_weather:0", "type": "function",
                                                               "function": {"name": "get_weather", "arguments": "{}"}}]},
           {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "x"}]
    with pytest.raises(ProviderError, match="reasoning_content is missing"):
        await call(spec, bad)
    assert len(fake_k2.requests) == 1  # a 400 is not retried


@pytest.mark.parametrize("model,expected", [
    ("kimi-k2-thinking", {"temperature": 1.0, "top_p": 0.95}),
    ("kimi-k2-0905-preview", {"temperature": 0.6}),
    ("kimi-k2.5", {}),  # fixed server-side: send nothing
])
async def test_sampling_rules_and_tool_choice_auto(fake_k2, _isolated_home, model, expected):
    fake_k2.enqueue(Turn(content="ok"))
    await call(spec_for(fake_k2, "moonshot", model, _isolated_home), [{"role": "user", "content": "hi"}])
    body = fake_k2.requests[0]
    assert {k: body[k] for k in ("temperature", "top_p") if k in body} == expected
    assert body["tool_choice"] == "auto"  # forced tool_choice is rejected with thinking on


async def test_429_with_retry_after_then_success(fake_k2, _isolated_home):
    fake_k2.enqueue(Turn(status=429, retry_after=0.4), Turn(content="after the wait"))
    started = time.monotonic()
    done, events = await call(spec_for(fake_k2, "groq", "moonshotai/kimi-k2-instruct-0905", _isolated_home),
                              [{"role": "user", "content": "hi"}])
    assert done.message["content"] == "after the wait"
    assert time.monotonic() - started >= 0.4  # Retry-After honoured, not the 0.05 s backoff
    assert len(fake_k2.requests) == 2
    assert any(isinstance(e, Notice) and "retry 1" in e.message for e in events)


async def test_500_on_primary_falls_back_to_next_preset(_isolated_home):
    with FakeK2Server() as primary, FakeK2Server() as backup:
        primary.enqueue(*[Turn(status=500)] * FAST.attempts)
        backup.enqueue(Turn(content="from the backup"))
        chain = [spec_for(primary, "moonshot", "kimi-k2-0905-preview", _isolated_home),
                 spec_for(backup, "groq", "moonshotai/kimi-k2-instruct-0905", _isolated_home)]
        done, events = await call(chain, [{"role": "user", "content": "hi"}])
    assert done.message["content"] == "from the backup" and done.spec.provider == "groq"
    assert len(primary.requests) == FAST.attempts
    assert any(isinstance(e, Notice) and "Falling back to groq" in e.message for e in events)


async def test_401_is_a_clear_error_and_never_retried(_isolated_home):
    with FakeK2Server(api_key="right") as server:
        spec = resolve("moonshot", "kimi-k2-0905-preview", server.url, home=_isolated_home, api_key="wrong")
        with pytest.raises(AuthError, match="Key missing or wrong for moonshot.*MOONSHOT_API_KEY"):
            await call(spec, [{"role": "user", "content": "hi"}])
        assert len(server.requests) == 1


async def test_unknown_model_is_reported_with_its_name(fake_k2, _isolated_home):
    with pytest.raises(ProviderError, match="no-such-model"):
        await call(spec_for(fake_k2, "openai-compatible", "no-such-model", _isolated_home),
                   [{"role": "user", "content": "hi"}])
    assert len(fake_k2.requests) == 1


async def test_groq_tool_use_failed_gets_a_corrective_retry(fake_k2, _isolated_home):
    fake_k2.enqueue(groq_tool_use_failed('{"city": Paris'), Turn(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    done, events = await call(spec_for(fake_k2, "groq", "moonshotai/kimi-k2-instruct-0905", _isolated_home),
                              [{"role": "user", "content": "weather?"}])
    assert done.message["tool_calls"][0]["function"]["name"] == "get_weather"
    assert "could not be parsed" in fake_k2.requests[1]["messages"][-1]["content"]
    assert any(isinstance(e, Notice) and "malformed tool call" in e.message for e in events)


async def test_groq_tool_use_failed_inside_the_stream_is_retried(fake_k2, _isolated_home):
    fake_k2.enqueue(groq_tool_use_failed("<garbled>", in_stream=True), Turn(content="recovered"))
    done, _ = await call(spec_for(fake_k2, "groq", "moonshotai/kimi-k2-instruct-0905", _isolated_home),
                         [{"role": "user", "content": "weather?"}])
    assert done.message["content"] == "recovered" and len(fake_k2.requests) == 2


async def test_connection_reset_mid_stream_retries_the_step(fake_k2, _isolated_home):
    fake_k2.enqueue(Turn(content="a long answer that will be cut", disconnect_after_chunks=2), Turn(content="whole"))
    done, _ = await call(spec_for(fake_k2, "vllm", "kimi-k2-0905-preview", _isolated_home), [{"role": "user", "content": "x"}])
    assert done.message["content"] == "whole" and len(fake_k2.requests) == 2


async def test_tool_calls_written_as_text_become_structured_and_stay_hidden(fake_k2, _isolated_home):
    raw = "Let me check. " + k2_native_tool_text("get_weather", {"city": "Oslo"}, 0)
    fake_k2.enqueue(Turn(content=raw))
    done, events = await call(spec_for(fake_k2, "vllm", "kimi-k2-0905-preview", _isolated_home),
                              [{"role": "user", "content": "weather?"}])
    shown = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert "<|" not in shown and shown.strip() == "Let me check."
    assert done.message["tool_calls"] == [{"id": "functions.get_weather:0", "type": "function",
                                           "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]


async def test_usage_cached_tokens_and_preset_price(fake_k2, _isolated_home):
    fake_k2.enqueue(Turn(content="ok", usage={"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000,
                                              "total_tokens": 2_000_000, "cached_tokens": 400_000}))
    done, _ = await call(spec_for(fake_k2, "moonshot", "kimi-k2-0905-preview", _isolated_home),
                         [{"role": "user", "content": "x"}])
    price = PRESETS["moonshot"].models["kimi-k2-0905-preview"].price
    assert (done.prompt_tokens, done.completion_tokens, done.cached_tokens) == (1_000_000, 1_000_000, 400_000)
    assert done.cost_usd == pytest.approx(0.6 * price.input + 0.4 * price.cached_input + price.output)
    assert done.price_source == price.source


def test_resolve_explains_what_to_set(_isolated_home, monkeypatch):
    with pytest.raises(ConfigError, match="No model configured.*GROQ_API_KEY"):
        resolve(None, home=_isolated_home)
    with pytest.raises(ConfigError, match="Unknown provider 'nope'"):
        resolve("nope", home=_isolated_home)
    with pytest.raises(ConfigError, match="MOONSHOT_API_KEY is not set"):
        resolve("moonshot", home=_isolated_home)
    with pytest.raises(ConfigError, match="needs a base URL"):
        resolve("openai-compatible", "m", home=_isolated_home)
    with pytest.raises(ConfigError, match="local model is not installed: run `python run.py local install`"):
        resolve("local", home=_isolated_home)
    (_isolated_home / ".env").write_text("GROQ_API_KEY=from-dotenv\n")
    (_isolated_home / ".env").chmod(0o600)
    spec = resolve(None, home=_isolated_home)
    assert spec.provider == "groq" and spec.api_key == "from-dotenv"
    monkeypatch.setenv("MOONSHOT_API_KEY", "k")
    chain = providers.resolve_chain(spec, ["moonshot", "vllm", "groq"], home=_isolated_home)
    assert [s.provider for s in chain] == ["groq", "moonshot", "vllm"]


def test_a_stored_provider_key_goes_only_to_its_own_host(_isolated_home, monkeypatch):
    monkeypatch.setenv("MOONSHOT_API_KEY", "moonshot-secret")
    assert resolve("moonshot", home=_isolated_home).api_key == "moonshot-secret"
    assert resolve("moonshot", base_url="https://api.moonshot.cn/v1", home=_isolated_home).api_key == "moonshot-secret"
    for elsewhere in ("http://127.0.0.1:9/v1", "http://api.moonshot.ai/v1", "https://api.moonshot.ai.evil.example/v1"):
        with pytest.raises(ConfigError, match="MOONSHOT_API_KEY is only ever sent to api.moonshot.ai"):
            resolve("moonshot", base_url=elsewhere, home=_isolated_home)
    monkeypatch.setenv("K2HUB_API_KEY", "for-my-own-server")  # the key a user gives for a server they name
    assert resolve("moonshot", base_url="http://127.0.0.1:9/v1", home=_isolated_home).api_key == "for-my-own-server"


async def test_model_discovery_never_sends_a_stored_key_to_a_typed_url(fake_k2, _isolated_home, monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "groq-secret")
    fake_k2.api_key = "groq-secret"  # a server that would accept the key, were it sent
    with pytest.raises(AuthError):
        await providers.discover_models("groq", fake_k2.url, home=_isolated_home)


def test_world_readable_dotenv_is_refused(_isolated_home):
    (_isolated_home / ".env").write_text("GROQ_API_KEY=leaky\n")
    (_isolated_home / ".env").chmod(0o644)
    with pytest.raises(ConfigError, match="No model configured"):
        resolve(None, home=_isolated_home)


async def test_models_are_discovered_with_get_models(fake_k2, _isolated_home):
    models = await providers.discover_models("openai-compatible", fake_k2.url, home=_isolated_home)
    assert "kimi-k2-thinking" in models and models == sorted(models)


@pytest.mark.parametrize("provider,style,counted", [("moonshot", "moonshot", True), ("groq", "groq", False),
                                                    ("openai-compatible", "openai", True), ("vllm", "vllm", True)])
async def test_each_providers_context_length_400_is_recognised_and_not_retried(
    _isolated_home, provider, style, counted
):
    """Moonshot's 'exceeded model token limit', OpenAI/Groq context_length_exceeded, vLLM 'maximum context length'."""
    model = "moonshotai/kimi-k2-instruct-0905" if provider == "groq" else "kimi-k2-0905-preview"
    with FakeK2Server(window=100, context_style=style) as server:
        server.enqueue(Turn(content="never served"))
        with pytest.raises(ContextLengthError) as raised:
            await call(spec_for(server, provider, model, _isolated_home), [{"role": "user", "content": "x" * 2000}])
        assert len(server.requests) == 1 and server.pending() == 1  # no retry of a request that cannot fit
    assert (raised.value.requested is not None) == counted
    if counted:
        assert raised.value.requested > 100


async def test_our_own_message_keys_are_never_sent(fake_k2, _isolated_home):
    fake_k2.enqueue(Turn(content="ok"))
    spec = spec_for(fake_k2, "openai-compatible", "kimi-k2-0905-preview", _isolated_home)
    await call(spec, [{"role": "user", "content": "hi", "_note": True}])
    assert fake_k2.requests[-1]["messages"] == [{"role": "user", "content": "hi"}]


def test_cached_discount_comes_from_the_preset_price(_isolated_home):
    thinking = resolve("moonshot", "kimi-k2-thinking", home=_isolated_home, api_key="k")
    assert providers.cached_discount(thinking) == pytest.approx(0.15 / 0.60)
    assert providers.cached_discount(resolve("vllm", home=_isolated_home)) == 1.0  # no price known: full weight
