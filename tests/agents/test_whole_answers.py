"""Model calls without streaming (`complete(stream=False)`, what a swarm's sub-agents use): the same Completion and
the same events as a streamed call, through real litellm -> HTTP -> the fake K2."""

from __future__ import annotations

import dataclasses

import pytest

from agents.events import Notice, ReasoningDelta, TextDelta
from agents.models import providers
from agents.models.providers import complete
from tests.agents.test_providers import FAST, TOOLS, spec_for
from tests.fakes.k2_server import ToolCall, Turn, groq_tool_use_failed, k2_native_tool_text


async def both_ways(fake_k2, spec, turn: Turn, messages: list[dict]):
    """The same turn answered once streamed and once whole: [(completion, events, request body)] for each."""
    out = []
    for stream in (True, False):
        fake_k2.enqueue(turn)
        events: list = []
        done = await complete([spec], messages, TOOLS, emit=events.append, retry=FAST, stream=stream)
        out.append((done, events, fake_k2.requests[-1]))
    return out


def shown(events: list, kind: type) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


@pytest.mark.parametrize("provider,model", [("moonshot", "kimi-k2-thinking"), ("groq", "moonshotai/kimi-k2-instruct-0905"),
                                            ("openai-compatible", "kimi-k2-0905-preview")])
async def test_a_whole_answer_equals_the_streamed_one(fake_k2, _isolated_home, provider, model):
    spec = spec_for(fake_k2, provider, model, _isolated_home)
    turn = Turn(reasoning="Need the weather.", content="Checking.",
                tool_calls=[ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Oslo"})])
    (streamed, s_events, s_body), (whole, w_events, w_body) = await both_ways(
        fake_k2, spec, turn, [{"role": "user", "content": "Weather in Paris and Oslo?"}])
    assert s_body.get("stream") is True and "stream" not in w_body and "stream_options" not in w_body
    assert whole.message == streamed.message
    assert [c["function"]["arguments"] for c in whole.message["tool_calls"]] == ['{"city": "Paris"}', '{"city": "Oslo"}']
    assert (whole.prompt_tokens, whole.completion_tokens, whole.cached_tokens, whole.cost_usd, whole.price_source) == (
        streamed.prompt_tokens, streamed.completion_tokens, streamed.cached_tokens, streamed.cost_usd,
        streamed.price_source)
    assert whole.prompt_tokens > 0 and whole.finish_reason == streamed.finish_reason == "tool_calls"
    for kind in (ReasoningDelta, TextDelta):  # the same text reaches the caller, in one piece
        assert shown(w_events, kind) == shown(s_events, kind) != ""
        assert len([e for e in w_events if isinstance(e, kind)]) == 1


async def test_tool_calls_written_as_text_stay_hidden_in_a_whole_answer(fake_k2, _isolated_home):
    spec = spec_for(fake_k2, "vllm", "kimi-k2-0905-preview", _isolated_home)
    raw = "Let me check. " + k2_native_tool_text("get_weather", {"city": "Oslo"}, 0)
    fake_k2.enqueue(Turn(content=raw))
    events: list = []
    done = await complete([spec], [{"role": "user", "content": "weather?"}], TOOLS, emit=events.append, retry=FAST,
                          stream=False)
    assert "<|" not in shown(events, TextDelta) and shown(events, TextDelta).strip() == "Let me check."
    assert done.message["tool_calls"] == [{"id": "functions.get_weather:0", "type": "function",
                                           "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]


async def test_a_whole_answer_gets_the_same_retries(fake_k2, _isolated_home):
    """A 429 with Retry-After, then Groq's malformed call: each is retried as a streamed call would be."""
    fake_k2.enqueue(Turn(status=429, retry_after=0.05), groq_tool_use_failed('{"city": Paris'),
                    Turn(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    events: list = []
    done = await complete([spec_for(fake_k2, "groq", "moonshotai/kimi-k2-instruct-0905", _isolated_home)],
                          [{"role": "user", "content": "weather?"}], TOOLS, emit=events.append, retry=FAST, stream=False)
    assert done.message["tool_calls"][0]["function"]["name"] == "get_weather" and len(fake_k2.requests) == 3
    assert "could not be parsed" in fake_k2.requests[2]["messages"][-1]["content"]
    assert any(isinstance(e, Notice) and "malformed tool call" in e.message for e in events)


def test_litellm_is_asked_once_about_a_model_its_cost_map_lacks(_isolated_home, monkeypatch):
    litellm = providers.litellm_module()
    asked: list[str] = []
    real = litellm.cost_per_token

    def counting(**kw):
        asked.append(kw["model"])
        return real(**kw)

    monkeypatch.setattr(litellm, "cost_per_token", counting)
    monkeypatch.setattr(providers, "_UNMAPPED", set())
    unmapped = providers.resolve("moonshot", "kimi-k2-0905-preview", home=_isolated_home, api_key="k")
    first = providers.cost_of(unmapped, 1_000_000, 0, 0)
    assert providers.cost_of(unmapped, 1_000_000, 0, 0) == first and first[1] != "litellm cost map"
    assert asked == [unmapped.litellm_model]
    mapped = dataclasses.replace(unmapped, prefix="openai/", model="gpt-4o")
    for _ in range(2):  # a model the map prices is priced by it every time
        assert providers.cost_of(mapped, 1000, 1000, 0)[1] == "litellm cost map"
    assert asked == [unmapped.litellm_model, "openai/gpt-4o", "openai/gpt-4o"]
