"""Provider presets for Kimi K2: litellm model strings, endpoints, keys, sampling rules, context windows, prices."""

from __future__ import annotations

from dataclasses import dataclass, field

# List prices in USD per million tokens: (input, cached input, output). They change often: each carries the page and
# the date it was read, the UI shows which figure a cost used, and K2HUB_PRICES overrides them.
PRICE_SOURCE_MOONSHOT = "platform.moonshot.ai/docs/pricing (read 2025-11)"
PRICE_SOURCE_GROQ = "groq.com/pricing (read 2025-11)"


@dataclass(frozen=True)
class Price:
    """Per-million-token prices of one model and where they came from."""

    input: float
    cached_input: float
    output: float
    source: str


@dataclass(frozen=True)
class Vision:
    """What a model accepts as images (issue 21): how many per request, how large, which types, what they cost.

    Images are resized by code to `max_pixels` before sending (agents/models/image_prep.py); `patch` is the side
    of the square of pixels one image token covers (the per-image rule the request estimate uses before sending;
    the provider's reported usage corrects it after, like text).
    """

    max_images: int = 8
    max_pixels: int = 1_048_576
    types: tuple[str, ...] = ("image/png", "image/jpeg", "image/webp", "image/gif")
    patch: int = 28
    image_overhead_tokens: int = 6
    # OpenAI-style chat completions take images only in user messages: tool results' images follow as one.
    in_tool_messages: bool = False


# Kimi K2.5: a MoonViT encoder (14-pixel patches merged 2×2: one token per 28×28 pixels). The pixel budget keeps a
# page or screenshot readable (about 1,340 tokens for a 4:3 image) while bounding its cost.
K25_VISION = Vision()


@dataclass(frozen=True)
class ModelInfo:
    """What the provider layer must know about one model id."""

    context_window: int = 262_144
    thinking: bool = False
    # Models that fix sampling server-side reject or ignore other values: send none.
    fixed_sampling: bool = False
    price: Price | None = None
    temperature: float | None = None  # overrides the K2 rule (small local models)
    result_chars: int | None = None  # a harder cut of tool results than K2HUB_TOOL_RESULT_CHARS (small contexts)
    max_tools: int | None = None  # at most this many tools (the local model's are chosen by relevance and budget)
    # Only these servers' tools (None: all, every mcp.json server's included).
    tool_servers: tuple[str, ...] | None = None
    vision: Vision | None = None  # None: text only (images reach it as placeholders)
    # A small model: the planner sends it the short system prompt with a worked call (agents/prompts/small_model.md).
    small: bool = False


@dataclass(frozen=True)
class Preset:
    """A provider: how litellm reaches it, which key it needs, which models it serves."""

    name: str
    label: str
    prefix: str  # litellm provider prefix, e.g. "moonshot/"
    default_model: str
    api_base: str | None
    key_env: str | None  # None: no key needed (or optional, see key_optional)
    models: dict[str, ModelInfo] = field(default_factory=dict)
    key_optional: bool = False
    needs_base_url: bool = False
    available: bool = True
    note: str = ""
    other_models: ModelInfo | None = None  # facts for ids not listed in `models`; None: K2 defaults
    # Hosts the key in key_env may be sent to (over https); a base URL elsewhere never gets it (see model_spec).
    key_hosts: tuple[str, ...] = ()

    def info(self, model: str) -> ModelInfo:
        """Known facts about a model, or sensible defaults for ids discovered at run time."""
        if model in self.models:
            return self.models[model]
        if self.other_models is not None:
            return self.other_models
        return ModelInfo(thinking="thinking" in model.lower())


_MOONSHOT_MODELS = {
    "kimi-k2-0905-preview": ModelInfo(price=Price(0.60, 0.15, 2.50, PRICE_SOURCE_MOONSHOT)),
    "kimi-k2-turbo-preview": ModelInfo(price=Price(1.15, 0.15, 8.00, PRICE_SOURCE_MOONSHOT)),
    "kimi-k2-thinking": ModelInfo(thinking=True, price=Price(0.60, 0.15, 2.50, PRICE_SOURCE_MOONSHOT)),
    "kimi-k2-thinking-turbo": ModelInfo(thinking=True, price=Price(1.15, 0.15, 8.00, PRICE_SOURCE_MOONSHOT)),
    "kimi-k2.5": ModelInfo(thinking=True, fixed_sampling=True, price=Price(0.60, 0.10, 3.00, PRICE_SOURCE_MOONSHOT),
                           vision=K25_VISION),
}

# The embedded model (agents/models/local): free, small context, greedy sampling (measured: the 0.5B model makes well-formed
# tool calls and answers from tool results more often at temperature 0 than at 0.3), results cut to 2,000 characters.
LOCAL_MODEL_ID = "qwen2.5-coder-0.5b-instruct"
LOCAL_LABEL = "Local: Qwen2.5-Coder-0.5B (small, offline)"
LOCAL_NOTE = ("A small model running on this machine (Qwen2.5-Coder-0.5B, no key, works offline): fine for short "
              "questions and one simple tool call, not for real agent work. For Kimi K2, set GROQ_API_KEY or "
              "MOONSHOT_API_KEY, or point 'Local vLLM' / 'OpenAI-compatible URL' at a K2 server.")
_LOCAL_INFO = ModelInfo(context_window=8192, price=Price(0.0, 0.0, 0.0, "local model (free)"), temperature=0.0,
                        result_chars=2000, small=True)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="groq",
            label="Groq",
            # litellm's groq/ transform strips reasoning_content from replayed assistant messages (measured with
            # litellm 1.110.2); K2 needs it replayed, so Groq is reached through the OpenAI-compatible transport.
            prefix="openai/",
            default_model="moonshotai/kimi-k2-instruct-0905",
            api_base="https://api.groq.com/openai/v1",
            key_env="GROQ_API_KEY",
            key_hosts=("api.groq.com",),
            models={
                "moonshotai/kimi-k2-instruct-0905": ModelInfo(
                    context_window=262_144, price=Price(1.00, 0.50, 3.00, PRICE_SOURCE_GROQ)
                )
            },
        ),
        Preset(
            name="moonshot",
            label="Moonshot (Kimi platform)",
            prefix="moonshot/",
            default_model="kimi-k2-0905-preview",
            api_base="https://api.moonshot.ai/v1",
            key_env="MOONSHOT_API_KEY",
            key_hosts=("api.moonshot.ai", "api.moonshot.cn"),
            models=_MOONSHOT_MODELS,
            note="Mainland China accounts: set the base URL to https://api.moonshot.cn/v1.",
        ),
        Preset(
            name="vllm",
            label="Local vLLM",
            prefix="hosted_vllm/",
            default_model="moonshotai/Kimi-K2-Instruct",
            api_base="http://localhost:8000/v1",
            key_env="K2HUB_API_KEY",
            key_optional=True,
            note="Start vLLM with --enable-auto-tool-choice --tool-call-parser kimi_k2 --reasoning-parser kimi_k2 "
            "--trust-remote-code, or tool calls arrive as text.",
        ),
        Preset(
            name="openai-compatible",
            label="OpenAI-compatible URL",
            prefix="openai/",
            default_model="",
            api_base=None,
            key_env="K2HUB_API_KEY",
            key_optional=True,
            needs_base_url=True,
        ),
        Preset(
            name="local",
            label=LOCAL_LABEL,
            # Our own OpenAI-compatible server on 127.0.0.1 (agents/models/local); its URL is known once it runs.
            prefix="openai/",
            default_model=LOCAL_MODEL_ID,
            api_base=None,
            key_env=None,
            models={LOCAL_MODEL_ID: _LOCAL_INFO},
            other_models=_LOCAL_INFO,  # any GGUF chosen with K2HUB_LOCAL_MODEL
            note=LOCAL_NOTE,
        ),
    )
}

# K2-Instruct samples best at 0.6; thinking models at 1.0 with top_p 0.95 (Moonshot's model cards).
INSTRUCT_TEMPERATURE = 0.6
THINKING_TEMPERATURE = 1.0
THINKING_TOP_P = 0.95
