"""The planner's side of vision (issue 21): images from tools and from the user become artifacts and `_images`
entries on their message; each request then carries the chosen ones as data URLs (agents.models.vision sends them).

- A tool result's images are prepared (agents.models.image_prep: checked, scaled to the pixel budget, re-encoded),
  stored once as artifacts (storage.images) and named in the result text by artifact id.
- A user's attachments are prepared before the run stores anything: an image that cannot be sent (30 MB, not an
  image) stops the turn with a message saying why.
- Before each model call, the newest images that fit the context policy (agents.policy.images) get their data URLs;
  the others read as a placeholder with their artifact id.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image as PILImage

from agents.events import Event, Notice
from agents.hub.hub import ToolResult
from agents.hub.images import tool_images
from agents.models import vision as model_vision
from agents.models.image_prep import ImageRefused, PreparedImage, prepare
from agents.models.presets import K25_VISION, Vision
from agents.models.providers import ModelSpec
from agents.policy import images as policy
from agents.policy import untrusted
from agents.policy.context import context_window
from storage import images as stored
from storage.db import Database

IMAGES = policy.IMAGES
_URLS: OrderedDict[str, str] = OrderedDict()
URL_CACHE = 32
"""Data URLs kept in memory between the steps of a run (each image is read from the database once)."""
_NOTICED: OrderedDict[str, None] = OrderedDict()


@dataclass(frozen=True)
class Attachment:
    """An image the user attached to a turn: its file name and bytes."""

    name: str
    data: bytes


def budget(spec: ModelSpec) -> Vision:
    """The limits images are prepared to: the model's, or K2.5's for a text-only model (so a switch to K2.5 can
    show them again)."""
    return model_vision.vision_of(spec) or K25_VISION


def prepare_all(spec: ModelSpec, attachments: list[Attachment]) -> list[PreparedImage]:
    """The user's images ready to send; raises ImageRefused (with the file's name) for the first that cannot be."""
    limits = budget(spec)
    return [prepare(a.data, max_pixels=limits.max_pixels, name=a.name, types=limits.types) for a in attachments]


def store(db: Database, spec: ModelSpec, images: list[tuple[str, PreparedImage]], conversation_id: str,
          run_id: str | None, *, tool: str = "", source: str | None = None) -> list[dict[str, Any]]:
    """Keep the prepared images as artifacts; their `_images` entries (blocking: call it off the event loop)."""
    limits = budget(spec)
    out = []
    for name, image in images:
        art = stored.save_image(db, image.data, mime=image.mime, name=name, conversation_id=conversation_id,
                                run_id=run_id)
        entry: dict[str, Any] = {"id": art.id, "mime": image.mime, "width": image.width, "height": image.height,
                                 "tokens": model_vision.image_tokens(limits, image.width, image.height)}
        if tool:
            entry["tool"] = tool
        if source:
            entry["source"] = source[:300]
        out.append(entry)
    return out


def notice_once(run_id: str, spec: ModelSpec, emit: Callable[[Event], None]) -> None:
    """Tell the user, once per run, that the model cannot see the images it was given."""
    if model_vision.vision_of(spec) is not None or run_id in _NOTICED:
        return
    _NOTICED[run_id] = None
    while len(_NOTICED) > 256:
        _NOTICED.popitem(last=False)
    emit(Notice(level="warning", message=model_vision.no_vision_notice(spec)))


async def from_tool(ctx: Any, name: str, result: ToolResult, sources: list[str],
                    emit: Callable[[Event], None]) -> tuple[list[dict[str, Any]], str]:
    """The `_images` entries of a tool result and the lines its text gets (artifact ids, or why one was refused)."""
    found = tool_images(result.content)
    if not found:
        return [], ""
    spec = ctx.chain[0]
    limits = budget(spec)
    ready: list[tuple[str, PreparedImage]] = []
    lines: list[str] = []
    for n, image in enumerate(found, 1):
        kept = await asyncio.to_thread(_already_kept, ctx.db, ctx.conversation_id, image.data)
        if kept is not None:  # an image shown again (context__read_artifact): the same artifact, not a copy
            ready.append((kept.name, kept))
            origin = kept.name.rsplit("-", 1)[0]
            if not sources and _from_outside(ctx, origin):  # still content from outside, as when it first came
                sources = [f"an image {origin} returned earlier"]
            continue
        try:
            prepared = await asyncio.to_thread(prepare, image.data, max_pixels=limits.max_pixels,
                                               name=f"image {n} of {name}", types=limits.types)
        except ImageRefused as exc:
            lines.append(f"[{exc}]")
            continue
        ready.append((f"{name}-{n}.{prepared.mime.split('/')[1]}", prepared))
    source = "; ".join(sources[:3]) or None
    entries = await asyncio.to_thread(store, ctx.db, spec, ready, ctx.conversation_id, ctx.run_id, tool=name,
                                      source=source)
    sees = model_vision.vision_of(spec) is not None
    for entry in entries:
        shown = "" if sees else ": this model cannot see images"
        lines.append(f"[image {entry['id'][:12]} ({entry['mime']}, {entry['width']}×{entry['height']}){shown}]")
    if entries:
        notice_once(ctx.run_id, spec, emit)
    return entries, "\n".join(lines)


_NAMED = re.compile(r"\[image ([0-9a-f]{12}) \((image/[a-z]+), (\d+)×(\d+)\)")


def _named(db: Database, spec: ModelSpec, conversation_id: str, tool: str, view: str,
           source: str | None) -> list[dict[str, Any]]:
    out = []
    for short, mime, width, height in _NAMED.findall(view):
        art = stored.find_prefix(db, conversation_id, short)
        if art is None:
            continue
        entry: dict[str, Any] = {"id": art.id, "mime": mime, "width": int(width), "height": int(height), "tool": tool,
                                 "tokens": model_vision.image_tokens(budget(spec), int(width), int(height))}
        if source:
            entry["source"] = source
        out.append(entry)
    return out


async def named_in(ctx: Any, tool: str, view: str) -> list[dict[str, Any]]:
    """The `_images` entries of a tool result recorded before a crash (its step row names them by artifact id)."""
    if "[image " not in view:
        return []
    source = f"an image {tool} returned" if _from_outside(ctx, tool) else None
    return await asyncio.to_thread(_named, ctx.db, ctx.chain[0], ctx.conversation_id, tool, view, source)


def _from_outside(ctx: Any, tool: str) -> bool:
    info = ctx.hub.tool_info(tool)
    return info is not None and untrusted.is_untrusted_server(info[0])


@dataclass(frozen=True)
class _Kept(PreparedImage):
    name: str = ""


def _already_kept(db: Database, conversation_id: str, data: bytes) -> _Kept | None:
    """A prepared image this conversation already keeps, with its size (read from the header only)."""
    art = stored.find_image(db, conversation_id, data)
    if art is None:
        return None
    with PILImage.open(io.BytesIO(data)) as image:
        width, height = image.size
    return _Kept(data, art.mime, width, height, width, height, name=art.name)


def _load(db: Database, artifact_id: str) -> str | None:
    url = _URLS.get(artifact_id)
    if url is None:
        found = stored.image_of(db, artifact_id)
        if found is None:
            return None
        url = PreparedImage(found[1], found[0], 0, 0, 0, 0).data_url()
        _URLS[artifact_id] = url
        while len(_URLS) > URL_CACHE:
            _URLS.popitem(last=False)
    _URLS.move_to_end(artifact_id)
    return url


def _with_urls(db: Database, spec: ModelSpec, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    limits = model_vision.vision_of(spec)
    picked = policy.chosen(messages, limits.max_images, context_window(spec)) if limits else set()
    out = []
    for message in messages:
        entries = policy.entries(message)
        if not entries:
            out.append(message)
            continue
        urls, missing = [], []
        for entry in entries:
            url = _load(db, entry["id"]) if entry["id"] in picked else None
            if url is not None:
                urls.append({"id": entry["id"], "url": url, "label": policy.label(entry)})
            elif limits is not None or entry["id"][:12] not in str(message.get("content") or ""):
                missing.append(policy.placeholder(entry, can_see=limits is not None))
        copy = dict(message)
        if missing and isinstance(copy.get("content"), str):
            copy["content"] = "\n".join([copy["content"], *missing]) if copy["content"] else "\n".join(missing)
        if urls:
            copy[model_vision.IMAGE_URLS] = urls
        out.append(copy)
    return out


async def request_messages(ctx: Any, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fitted request with the chosen images' data URLs attached (unchanged when no message has images)."""
    if not any(policy.entries(m) for m in messages):
        return messages
    return await asyncio.to_thread(_with_urls, ctx.db, ctx.chain[0], messages)
