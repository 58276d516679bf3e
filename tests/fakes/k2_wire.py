"""Kimi K2 wire format for the fake server: scripted turns, response bodies, SSE chunks, provider errors."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

TOOL_SECTION_BEGIN = "<|tool_calls_section_begin|>"
TOOL_SECTION_END = "<|tool_calls_section_end|>"
TOOL_CALL_BEGIN = "<|tool_call_begin|>"
TOOL_CALL_ARG_BEGIN = "<|tool_call_argument_begin|>"
TOOL_CALL_END = "<|tool_call_end|>"

# Small pieces so a reader of the stream sees several deltas even for one short sentence.
CONTENT_CHUNK_CHARS = 12
ARGUMENT_CHUNKS = 3


@dataclass
class ToolCall:
    """One tool call the fake model makes; arguments may be a dict or raw (possibly invalid) JSON text."""

    name: str
    arguments: str | dict
    id: str | None = None

    def arguments_text(self) -> str:
        """Arguments as the JSON text K2 sends."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass
class Turn:
    """One scripted model answer (or provider error) served for one /chat/completions request."""

    content: str = ""
    reasoning: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: dict | None = None
    status: int = 200
    error: dict | None = None
    retry_after: float | None = None
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    disconnect_after_chunks: int | None = None
    sse_error: dict | None = None
    finish_reason: str | None = None
    content_chunks: list[str] | None = None  # stream the content in exactly these pieces (else small word groups)

    def __post_init__(self) -> None:
        if self.content_chunks is not None and not self.content:
            self.content = "".join(self.content_chunks)
    chunk_chars: int = CONTENT_CHUNK_CHARS  # long scripted runs stream bigger pieces to keep tests fast

    @classmethod
    def from_dict(cls, data: dict) -> "Turn":
        """Build a turn from JSON (the --script file format: Turn fields, tool_calls as dicts)."""
        data = dict(data)
        calls = [c if isinstance(c, ToolCall) else ToolCall(**c) for c in data.pop("tool_calls", [])]
        return cls(tool_calls=calls, **data)


def tool_turn(name: str, args: str | dict, reasoning: str | None = None) -> Turn:
    """A turn that calls one tool."""
    return Turn(reasoning=reasoning, tool_calls=[ToolCall(name, args)])


def text_turn(text: str, reasoning: str | None = None) -> Turn:
    """A turn that answers with text."""
    return Turn(content=text, reasoning=reasoning)


def moonshot_missing_reasoning_error(index: int) -> Turn:
    """Moonshot's 400 for an assistant tool-call message replayed without reasoning_content."""
    return Turn(status=400, error=missing_reasoning_body(index))


def missing_reasoning_body(index: int) -> dict:
    """Error body Moonshot sends when reasoning_content was not replayed."""
    return error_body(f"reasoning_content is missing in assistant tool call message at index {index}")


def groq_tool_use_failed(failed_generation: str, in_stream: bool = False) -> Turn:
    """Groq's tool_use_failed: a 400 before the stream, or an SSE `event: error` when in_stream."""
    body = {
        "error": {
            "message": "Failed to call a function. Please adjust your prompt. "
            "See 'failed_generation' for more details.",
            "type": "invalid_request_error",
            "code": "tool_use_failed",
            "failed_generation": failed_generation,
        }
    }
    if in_stream:
        return Turn(sse_error=body)
    return Turn(status=400, error=body)


def k2_native_tool_text(name: str, args: str | dict, index: int) -> str:
    """K2's raw tool-call tokens, as a server without the kimi_k2 tool parser leaves them in content."""
    arguments = ToolCall(name, args).arguments_text()
    return (
        f"{TOOL_SECTION_BEGIN}{TOOL_CALL_BEGIN}functions.{name}:{index}"
        f"{TOOL_CALL_ARG_BEGIN}{arguments}{TOOL_CALL_END}{TOOL_SECTION_END}"
    )


def k2_xml_tool_text(name: str, args: dict) -> str:
    """The XML-ish tool-call form K2 sometimes writes into content instead of its native tokens."""
    params = "".join(
        f'<parameter name="{key}">{v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}</parameter>'
        for key, v in args.items()
    )
    return f'<tool_call><invoke name="{name}">{params}</invoke></tool_call>'


def error_body(message: str, kind: str = "invalid_request_error", **extra: Any) -> dict:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": kind, **extra}}


def invalid_auth_body() -> dict:
    """Moonshot's body for a missing or wrong key."""
    return error_body("Invalid Authentication", "invalid_authentication_error")


def thinking_rejection(messages: list, tool_choice: object) -> dict | None:
    """Moonshot's 400 body for a thinking request it refuses, else None."""
    for index, message in enumerate(messages):
        is_call = isinstance(message, dict) and message.get("role") == "assistant" and message.get("tool_calls")
        # An empty string counts as missing; litellm's " " placeholder is accepted, as Moonshot accepts it.
        if is_call and not message.get("reasoning_content"):
            return missing_reasoning_body(index)
    if tool_choice is not None and tool_choice not in ("auto", "none"):
        shown = tool_choice if isinstance(tool_choice, str) else json.dumps(tool_choice)
        return error_body(f"tool_choice '{shown}' is incompatible with thinking enabled")
    return None


def echo_responder(request: dict) -> Turn:
    """Answer any request with reasoning and a short echo of the last user message (manual UI runs)."""
    last = next((m for m in reversed(request.get("messages", [])) if m.get("role") == "user"), {})
    text = last.get("content") if isinstance(last.get("content"), str) else json.dumps(last.get("content"))
    return Turn(
        content=f"(fake K2) You said: {text or '(nothing)'}",
        reasoning="The user wrote a message; the fake server echoes it back.",
        chunk_delay_s=0.02,
    )


def default_error_body(status: int) -> dict:
    """A provider-looking error body for an error turn that did not script one."""
    kinds = {
        400: ("Invalid request", "invalid_request_error"),
        401: ("Invalid Authentication", "invalid_authentication_error"),
        403: ("Permission denied", "permission_denied_error"),
        404: ("Not found", "not_found_error"),
        429: ("Rate limit reached for requests, please retry later", "rate_limit_reached_error"),
        500: ("fake K2: internal server error", "server_error"),
        502: ("Bad gateway", "server_error"),
        503: ("The engine is currently overloaded, please try again later", "engine_overloaded_error"),
    }
    return error_body(*kinds.get(status, (f"fake K2: error {status}", "server_error")))


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token), at least one for non-empty text."""
    return (len(text) + 3) // 4


def build_usage(request: dict, turn: Turn, calls: list[dict], prompt: int | None = None,
                cached_prefix: int = 0) -> dict:
    """Usage for a turn: computed counts (cached when the prompt shares a prefix with a recent one), overridden by
    the turn's, with both cached-token spellings."""
    completion_text = (turn.reasoning or "") + turn.content + "".join(c["function"]["arguments"] for c in calls)
    if prompt is None:
        prompt = estimate_tokens(json.dumps(request.get("messages", []), ensure_ascii=False))
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": estimate_tokens(completion_text)}
    given = dict(turn.usage or {})
    if cached_prefix and "cached_tokens" not in given and "prompt_tokens_details" not in given:
        given["cached_tokens"] = cached_prefix
    usage.update(given)
    cached = given.get("cached_tokens")
    if cached is None:
        cached = (given.get("prompt_tokens_details") or {}).get("cached_tokens")
    if cached is not None:
        # OpenAI spelling (what litellm reads) and Moonshot's top-level field, as Moonshot sends both.
        usage["prompt_tokens_details"] = {**(given.get("prompt_tokens_details") or {}), "cached_tokens": cached}
        usage["cached_tokens"] = cached
    if "total_tokens" not in given:
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return usage


def wire_tool_calls(turn: Turn, first_index: int) -> list[dict]:
    """The turn's tool calls in OpenAI form, minting K2-style ids from first_index on."""
    calls = []
    for offset, call in enumerate(turn.tool_calls):
        call_id = call.id or f"functions.{call.name}:{first_index + offset}"
        calls.append(
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_text()},
            }
        )
    return calls


def finish_reason_of(turn: Turn) -> str:
    """The finish_reason a provider would report for this turn."""
    return turn.finish_reason or ("tool_calls" if turn.tool_calls else "stop")


def new_completion_id() -> str:
    """An id shaped like providers' chatcmpl ids."""
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def response_envelope(object_kind: str, model: str) -> dict:
    """Top-level fields every response carries (Groq's service_tier: litellm's groq path reads it)."""
    return {
        "id": new_completion_id(),
        "object": object_kind,
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake_k2",
        "service_tier": "on_demand",
    }


def completion_body(model: str, turn: Turn, calls: list[dict], usage: dict) -> dict:
    """A non-streaming chat.completion response."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    if turn.reasoning is not None:
        message["reasoning_content"] = turn.reasoning
    if calls:
        message["tool_calls"] = calls
        # vLLM/OpenAI send null content beside tool calls when the model said nothing.
        message["content"] = turn.content or None
    return {
        **response_envelope("chat.completion", model),
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason_of(turn)}],
        "usage": usage,
    }


def split_text(text: str, size: int = CONTENT_CHUNK_CHARS) -> list[str]:
    """Split text into small pieces on word boundaries where possible."""
    pieces: list[str] = []
    for word in re.findall(r"\s*\S+\s*|\s+", text):
        if pieces and len(pieces[-1]) + len(word) <= size:
            pieces[-1] += word
        else:
            pieces.append(word)
    return pieces


def split_arguments(text: str, parts: int = ARGUMENT_CHUNKS) -> list[str]:
    """Split argument JSON into a few raw pieces, as providers stream them (not on token boundaries)."""
    if not text:
        return [""]
    step = max(1, -(-len(text) // parts))
    return [text[i : i + step] for i in range(0, len(text), step)]


def stream_chunks(
    model: str, turn: Turn, calls: list[dict], usage: dict, include_usage: bool
) -> Iterator[dict]:
    """chat.completion.chunk objects in K2's order: role, reasoning, content, tool calls, finish, usage."""
    base = response_envelope("chat.completion.chunk", model)

    def chunk(delta: dict, finish: str | None = None, **extra: Any) -> dict:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, **extra}
        return {**base, "choices": [choice]}

    yield chunk({"role": "assistant", "content": ""})
    for piece in split_text(turn.reasoning or "", turn.chunk_chars):
        yield chunk({"reasoning_content": piece})
    for piece in turn.content_chunks if turn.content_chunks is not None else split_text(turn.content, turn.chunk_chars):
        yield chunk({"content": piece})
    for index, call in enumerate(calls):
        head = {"index": index, "id": call["id"], "type": "function"}
        yield chunk({"tool_calls": [{**head, "function": {"name": call["function"]["name"], "arguments": ""}}]})
        for piece in split_arguments(call["function"]["arguments"]):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    # Moonshot puts usage inside the last choice; OpenAI sends it in a trailing choices-less chunk.
    yield chunk({}, finish_reason_of(turn), usage=usage)
    if include_usage:
        yield {**base, "choices": [], "usage": usage}


def sse_data(payload: dict | str) -> bytes:
    """One SSE `data:` event."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


def sse_error_event(body: dict) -> bytes:
    """Groq's in-stream error event."""
    return f"event: error\ndata: {json.dumps(body, ensure_ascii=False)}\n\n".encode()


def count_replayed_tool_calls(messages: list[dict]) -> int:
    """How many tool calls earlier assistant messages carry: K2 keeps counting ids from there."""
    return sum(len(m.get("tool_calls") or []) for m in messages if isinstance(m, dict) and m.get("role") == "assistant")
