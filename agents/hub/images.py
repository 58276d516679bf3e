"""The images in a tool result: MCP image content blocks (and embedded image blobs), decoded from base64.

The hub keeps every block of a result (ToolResult.content, as JSON); the text the model reads names an image with a
placeholder. The planner takes the images from here to show them to a model that can see (agents/planner/images.py).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ToolImage:
    """One image a tool returned: its declared type and raw bytes (not yet checked: it is decoded when prepared)."""

    mime: str
    data: bytes


def tool_images(content: list[Any]) -> list[ToolImage]:
    """The images among a result's content blocks, in order; blocks that do not decode are skipped."""
    out: list[ToolImage] = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        data, mime = None, ""
        if block.get("type") == "image":
            data, mime = block.get("data"), str(block.get("mimeType") or "")
        elif block.get("type") == "resource":
            res = block.get("resource") or {}
            if str(res.get("mimeType") or "").startswith("image/"):
                data, mime = res.get("blob"), str(res.get("mimeType"))
        if not isinstance(data, str):
            continue
        try:
            out.append(ToolImage(mime, base64.b64decode(data, validate=True)))
        except (binascii.Error, ValueError):
            continue
    return out
