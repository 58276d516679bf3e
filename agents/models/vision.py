"""Which models see images, what an image costs them, and the wire form images take in a request (issue 21).

The planner keeps images out of the message text: a message that carries images names them in `_images` (artifact
id, size, type, estimated tokens) and, for the request being built, the planner adds `_image_urls` (the data URLs of
the images chosen to be sent, with a label). `wire_messages` turns those into what the provider accepts:

- OpenAI-style chat completions (every preset: Moonshot, Groq, vLLM, OpenAI-compatible URLs) take `image_url` parts
  only in user messages, so a user's attachments become parts of their own message, and the images of tool results
  follow the block of tool results as one user-role message, labelled as tool output (never as the user's words);
- a model without vision gets none: the message text already names each image by artifact id.
"""

from __future__ import annotations

import math
import re
from typing import Any

from agents.models.model_spec import ModelSpec
from agents.models.presets import K25_VISION, Vision

NO_VISION_NOTICE = ("{model} cannot see images; K2.5 can (kimi-k2.5 on Moonshot, or behind vLLM or an "
                    "OpenAI-compatible URL). It gets a text placeholder with each image's artifact id instead.")
IMAGE_URLS = "_image_urls"
IMAGES = "_images"
# Kimi K2.5 is a vision model whichever provider serves it: Moonshot's id, Hugging Face's, a vLLM served name.
_K25 = re.compile(r"kimi[-_]?k2[.\-_]?5", re.IGNORECASE)


def vision_of(spec: ModelSpec) -> Vision | None:
    """The model's image limits, or None for a text-only model (the embedded local model is never a vision one)."""
    if spec.provider == "local":
        return None
    if spec.info.vision is not None:
        return spec.info.vision
    return K25_VISION if _K25.search(spec.model) else None


def image_tokens(vision: Vision, width: int, height: int) -> int:
    """Estimated prompt tokens of one image of this size (the preset's rule: one token per patch×patch pixels)."""
    return math.ceil(width / vision.patch) * math.ceil(height / vision.patch) + vision.image_overhead_tokens


def no_vision_notice(spec: ModelSpec) -> str:
    """What the user is told when images meet a model that cannot see them."""
    return NO_VISION_NOTICE.format(model=spec.label)


def image_part(url: str) -> dict[str, Any]:
    """One OpenAI-style image part."""
    return {"type": "image_url", "image_url": {"url": url}}


def wire_messages(spec: ModelSpec, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The request's messages with the chosen images in the provider's wire form (or none for a text-only model)."""
    if not any(m.get(IMAGE_URLS) for m in messages):
        return messages
    vision = vision_of(spec)
    if vision is None:
        return messages  # "_" keys are dropped when sent: the text placeholders stay
    out: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []  # images of the current block of tool results
    for m in messages:
        if pending and m.get("role") != "tool":
            out.append(_tool_images_message(pending))
            pending = []
        urls = m.get(IMAGE_URLS) or []
        if urls and m.get("role") == "user":
            text = m.get("content") if isinstance(m.get("content"), str) else ""
            parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
            for entry in urls:
                parts += [{"type": "text", "text": entry["label"]}, image_part(entry["url"])]
            out.append({**m, "content": parts})
            continue
        if urls and m.get("role") == "tool" and not vision.in_tool_messages:
            pending += urls
        out.append(m)
    if pending:
        out.append(_tool_images_message(pending))
    return out


def _tool_images_message(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The user-role message that carries the images of the tool results right before it."""
    parts: list[dict[str, Any]] = [{"type": "text", "text": "[K2 Agent Hub] Images returned by the tool calls above "
                                    "(tool output, not the user's words):"}]
    for entry in entries:
        parts += [{"type": "text", "text": entry["label"]}, image_part(entry["url"])]
    return {"role": "user", "content": parts}
