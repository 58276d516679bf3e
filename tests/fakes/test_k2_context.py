"""The fake K2's long-run mode: the window it enforces, the prefix cache it reports, the scripted long run."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.k2_context import ContextModel, context_error_body, filler, long_run_turns, message_tokens
from tests.fakes.k2_server import FakeK2Server, Turn

pytestmark = pytest.mark.timeout(30)
USER = [{"role": "user", "content": "hello"}]


def post(server: FakeK2Server, messages: list[dict]) -> httpx.Response:
    return httpx.post(f"{server.url}/chat/completions", json={"model": "kimi-k2-0905-preview", "messages": messages})


def test_a_request_over_the_window_gets_the_providers_400_and_consumes_no_turn():
    with FakeK2Server(window=50) as server:
        server.enqueue(Turn(content="small"), Turn(content="after"))
        assert post(server, USER).json()["choices"][0]["message"]["content"] == "small"
        refused = post(server, [{"role": "user", "content": "word " * 400}])
        assert refused.status_code == 400
        assert "exceeded model token limit: 50" in refused.json()["error"]["message"]
        assert post(server, USER).json()["choices"][0]["message"]["content"] == "after"
        stats = httpx.get(f"{server.url}/fake/stats").json()
    assert stats["refused"] == 1 and stats["requests"] == 3 and stats["max_prompt_tokens"] <= 50


def test_each_style_words_the_refusal_as_that_provider_does():
    assert context_error_body("openai", 10, 20)["error"]["code"] == "context_length_exceeded"
    assert context_error_body("groq", 10, 20)["error"]["code"] == "context_length_exceeded"
    assert "maximum context length is 10 tokens" in context_error_body("vllm", 10, 20)["message"]
    assert "requested: 20" in context_error_body("moonshot", 10, 20)["error"]["message"]


def test_cached_tokens_are_the_prefix_shared_with_a_recent_request():
    model = ContextModel(prefix_cache=True)
    first = [{"role": "system", "content": "sys " * 50}, {"role": "user", "content": "task"}]
    prompt, cached, refused = model.measure({"messages": first})
    assert cached == 0 and refused is None
    grown = [*first, {"role": "assistant", "content": "step"}]
    prompt2, cached2, _ = model.measure({"messages": grown})
    assert cached2 == prompt and prompt2 == prompt + message_tokens(grown[-1])
    changed = [first[0], {"role": "user", "content": "another task"}]
    assert model.measure({"messages": changed})[1] == message_tokens(first[0])
    assert ContextModel().measure({"messages": grown})[1] == 0  # without prefix caching nothing is cached


def test_cached_tokens_reach_the_client_in_usage():
    with FakeK2Server(prefix_cache=True) as server:
        server.enqueue(Turn(content="a"), Turn(content="b"))
        post(server, USER)
        usage = post(server, [*USER, {"role": "assistant", "content": "a"}, *USER]).json()["usage"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == usage["cached_tokens"] > 0


def test_a_scripted_long_run_is_n_calls_then_the_answer():
    turns = long_run_turns(3, "toolbox__blob", lambda i: {"seed": i}, reasoning_chars=100, answer="fin")
    assert [t.tool_calls[0].arguments for t in turns[:3]] == [{"seed": 0}, {"seed": 1}, {"seed": 2}]
    assert turns[-1].content == "fin" and all(95 <= len(t.reasoning) - len("Step 1. ") <= 110 for t in turns[:3])
    assert filler(500, 7) == filler(500, 7) != filler(500, 8) and len(filler(500, 7)) == 500
