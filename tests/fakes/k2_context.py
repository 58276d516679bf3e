"""Long-run mode of the fake K2: a context window the provider enforces, prefix caching, and scripted long runs.

- Prompt tokens are counted per message (about four characters of its JSON a token) plus the tool schemas.
- With a window, a request over it is refused with the provider's own 400 (Moonshot, OpenAI/Groq or vLLM wording).
- With prefix caching, the tokens of the longest leading run of messages shared with one of the recent requests
  (tools included, as providers cache the rendered prompt from its start) are reported as cached.
"""

from __future__ import annotations

import json
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.fakes.k2_images import without_images
from tests.fakes.k2_wire import ToolCall, Turn, error_body, estimate_tokens

ContextStyle = Literal["moonshot", "openai", "groq", "vllm"]
RECENT_REQUESTS = 8
_WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which but have an "
          "they you were her she there been one all we their has would when if so no what up can out about into "
          "more other than then them these some could time only new may over such year also after most made use "
          "file record audit check value line page total error result entry field report account balance amount "
          "customer order invoice status date code module program section table column index batch").split()


def message_tokens(message: Any) -> int:
    """The fake provider's count for one message (an image counts by its size, not by its base64 text)."""
    text, images = without_images(message)
    return estimate_tokens(json.dumps(text, ensure_ascii=False, sort_keys=True)) + 3 + images


def tools_tokens(body: dict) -> int:
    """The fake provider's count for the tool schemas of a request."""
    tools = body.get("tools")
    return estimate_tokens(json.dumps(tools, ensure_ascii=False, sort_keys=True)) if tools else 0


def context_error_body(style: ContextStyle, window: int, requested: int) -> dict:
    """The 400 body each provider sends for a request longer than the model's window."""
    if style == "moonshot":
        return error_body(f"Invalid request: Your request exceeded model token limit: {window} "
                          f"(requested: {requested})")
    if style == "groq":
        return error_body("Please reduce the length of the messages or completion.", param="messages",
                          code="context_length_exceeded")
    if style == "openai":
        return error_body(f"This model's maximum context length is {window} tokens. However, your messages resulted "
                          f"in {requested} tokens. Please reduce the length of the messages.", param="messages",
                          code="context_length_exceeded")
    return {"object": "error", "message": f"This model's maximum context length is {window} tokens. However, you "
            f"requested {requested} tokens ({requested} in the messages, 0 in the completion). Please reduce the "
            "length of the messages or completion.", "type": "BadRequestError", "param": None, "code": 400}


@dataclass
class ContextStats:
    """What the fake saw of a long run: sizes, refusals and cache hits."""

    requests: int = 0
    refused: int = 0
    max_prompt_tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    sizes: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "refused": self.refused, "max_prompt_tokens": self.max_prompt_tokens,
                "prompt_tokens": self.prompt_tokens, "cached_tokens": self.cached_tokens}


class ContextModel:
    """The window, the count and the prefix cache of one fake endpoint (thread-safe)."""

    def __init__(self, window: int | None = None, style: ContextStyle = "moonshot", prefix_cache: bool = False):
        self.window = window
        self.style = style
        self.prefix_cache = prefix_cache
        self.stats = ContextStats()
        self._recent: deque[tuple[str, list[tuple[str, int]]]] = deque(maxlen=RECENT_REQUESTS)
        self._lock = threading.Lock()

    def measure(self, body: dict) -> tuple[int, int, dict | None]:
        """(prompt tokens, cached tokens, the 400 body when the request is over the window)."""
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        tools = json.dumps(body.get("tools"), sort_keys=True)
        keyed = [(json.dumps(m, ensure_ascii=False, sort_keys=True), message_tokens(m)) for m in messages]
        prompt = tools_tokens(body) + sum(n for _, n in keyed)
        with self._lock:
            self.stats.requests += 1
            self.stats.sizes.append(prompt)
            if self.window is not None and prompt > self.window:
                self.stats.refused += 1
                return prompt, 0, context_error_body(self.style, self.window, prompt)
            cached = self._cached(tools, keyed, body) if self.prefix_cache else 0
            self._recent.append((tools, keyed))
            self.stats.max_prompt_tokens = max(self.stats.max_prompt_tokens, prompt)
            self.stats.prompt_tokens += prompt
            self.stats.cached_tokens += cached
        return prompt, cached, None

    def _cached(self, tools: str, keyed: list[tuple[str, int]], body: dict) -> int:
        best = 0
        for old_tools, old in self._recent:
            if old_tools != tools:
                continue
            shared = 0
            for (a, n), (b, _) in zip(keyed, old):
                if a != b:
                    break
                shared += n
            best = max(best, shared + (tools_tokens(body) if shared else 0))
        return best


def filler(chars: int, seed: int) -> str:
    """Deterministic English-like text of about `chars` characters (tokenizes like prose, not like one word)."""
    rnd = random.Random(seed)
    out: list[str] = []
    size = 0
    while size <= chars:
        word = rnd.choice(_WORDS)
        if rnd.random() < 0.08:
            word = f"{word}{rnd.randint(0, 9999)}"
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:chars]


def long_run_turns(
    n: int,
    tool: str,
    args: Callable[[int], dict],
    *,
    reasoning_chars: int = 1500,
    answer: str = "All done.",
    chunk_chars: int = 12,
) -> list[Turn]:
    """N sequential tool calls (each with ~reasoning_chars of thinking), then the answer."""
    turns = [Turn(reasoning=f"Step {i + 1}. " + filler(reasoning_chars, i), tool_calls=[ToolCall(tool, args(i))],
                  chunk_chars=chunk_chars) for i in range(n)]
    return [*turns, Turn(reasoning="Every step is done; answering.", content=answer)]
