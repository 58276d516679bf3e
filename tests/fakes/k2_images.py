"""Images in requests to the fake K2: decoded with Pillow as a vision provider does, checked, counted, scriptable.

A provider decodes every `image_url` part: a data URL that is not an image is a 400, an image part sent to a model
without vision is a 400, and an image part inside a tool message is a 400 (OpenAI-style chat completions take images
in user messages only). A responder can look at what it was shown with `images_in(body)`.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from tests.fakes.k2_wire import error_body

_DATA_URL = re.compile(r"^data:(image/[a-z0-9.+-]+);base64,(.*)$", re.DOTALL)
PATCH = 28  # the fake counts one token per 28×28 pixels, like K2.5's encoder
IMAGE_OVERHEAD = 6


@dataclass(frozen=True)
class SeenImage:
    """One image the fake decoded from a request: where it was, its declared type, format, size and bytes."""

    message_index: int
    role: str
    mime: str
    format: str
    width: int
    height: int
    size: int
    color: tuple[int, ...]  # the top-left pixel, for answers that depend on what the image shows

    @property
    def tokens(self) -> int:
        return math.ceil(self.width / PATCH) * math.ceil(self.height / PATCH) + IMAGE_OVERHEAD


class BadImage(ValueError):
    """An image part the provider cannot accept; the message is the 400's."""


def image_parts(messages: list[Any]) -> list[tuple[int, str, dict]]:
    """(message index, role, part) of every image part in the messages."""
    out = []
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            out += [(index, str(message.get("role")), p) for p in content
                    if isinstance(p, dict) and p.get("type") == "image_url"]
    return out


def decode(index: int, role: str, part: dict) -> SeenImage:
    """The image of one part, or BadImage saying why a provider would refuse it."""
    url = (part.get("image_url") or {}).get("url") if isinstance(part.get("image_url"), dict) else None
    found = _DATA_URL.match(url or "")
    if found is None:
        raise BadImage(f"messages[{index}]: image_url must be a base64 data URL of an image")
    try:
        raw = base64.b64decode(found.group(2), validate=True)
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            pixel = image.convert("RGB").getpixel((0, 0))
            return SeenImage(index, role, found.group(1), image.format or "", image.width, image.height, len(raw),
                             tuple(pixel) if isinstance(pixel, tuple) else (int(pixel or 0),))
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError) as exc:
        raise BadImage(f"messages[{index}]: the image could not be decoded ({exc})") from None


def images_in(body: dict) -> list[SeenImage]:
    """Every image of a request, decoded (BadImage for the first that is not one)."""
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    return [decode(i, role, part) for i, role, part in image_parts(messages)]


def check(body: dict, vision: bool) -> tuple[list[SeenImage], tuple[int, dict] | None]:
    """(the request's images, the 400 a provider answers when they are not acceptable)."""
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    parts = image_parts(messages)
    if not parts:
        return [], None
    if not vision:
        return [], (400, error_body(f"Model {body.get('model')} does not support image input", param="messages"))
    tool = next((i for i, role, _ in parts if role != "user"), None)
    if tool is not None:
        return [], (400, error_body(f"messages[{tool}]: image content is only allowed in user messages",
                                    param="messages"))
    try:
        return [decode(*p) for p in parts], None
    except BadImage as exc:
        return [], (400, error_body(str(exc), param="messages"))


def without_images(message: Any) -> tuple[Any, int]:
    """The message with its image parts replaced by their token counts (what a provider's count charges for them)."""
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list) or not any(isinstance(p, dict) and p.get("type") == "image_url" for p in content):
        return message, 0
    tokens = 0
    kept = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "image_url":
            try:
                tokens += decode(0, "user", part).tokens
            except BadImage:
                pass
            continue
        kept.append(part)
    return {**message, "content": kept}, tokens
