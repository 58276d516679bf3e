"""Images in the chat (issue 21): attach images to a message, and see the images the model saw as thumbnails.

- The composer has an image button (PNG, JPEG, WebP, GIF; several at once); the chosen files wait as chips until
  the message is sent, then go with it (RunRequest.images). The run prepares them (agents/planner/images.py): a
  30 MB file is refused with a message, a text-only model gets a placeholder and the user a notice.
- The images a model saw (the user's and the tools') are artifacts of the conversation, exactly as they were sent
  (already resized). Our route /k2hub/images/<conversation>/<artifact> serves one image artifact of one
  conversation, with an image type only, nosniff and a sandboxing CSP; a thumbnail links to the full image.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from agents.models.image_prep import MAX_IMAGE_BYTES, too_large
from agents.planner.images import Attachment
from storage import repo, tool_results
from storage.db import Database

ROUTE = "/k2hub/images/{conversation_id}/{artifact_id}"
PREFIX = "/k2hub/images"
SERVED_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
THUMBS_MARK = "<div class='k2-img-thumbs'>"
FILE_TYPES = [".png", ".jpg", ".jpeg", ".webp", ".gif"]


def image_url(conversation_id: str, artifact_id: str) -> str:
    return f"{PREFIX}/{conversation_id}/{artifact_id}"


def thumbnails_html(conversation_id: str | None, entries: Any) -> str:
    """Thumbnails (click: the full image in a new tab) of `_images` entries; empty when there are none."""
    if not conversation_id or not isinstance(entries, list):
        return ""
    links = []
    for entry in entries:
        if not isinstance(entry, dict) or not str(entry.get("id") or "").isalnum():
            continue
        url = html.escape(image_url(conversation_id, entry["id"]))
        size = f"{entry.get('width')}×{entry.get('height')}"
        links.append(f"<a class='k2-img-link' href='{url}' target='_blank' rel='noopener' title='{html.escape(size)}'>"
                     f"<img class='k2-img-thumb' src='{url}' alt='image {html.escape(entry['id'][:12])}, {size}'></a>")
    return f"{THUMBS_MARK}{''.join(links)}</div>" if links else ""


def message_images(row: Any) -> str:
    """Thumbnails of the images a stored message carried (a Message row or an OpenAI-format dict)."""
    extra = row.get("extra") if isinstance(row, dict) else getattr(row, "extra", None)
    entries = (row.get("_images") if isinstance(row, dict) else None) or (extra or {}).get("_images")
    cid = row.get("conversation_id") if isinstance(row, dict) else getattr(row, "conversation_id", None)
    return thumbnails_html(cid, entries)


def latest_user_images(db: Database, conversation_id: str) -> str:
    """Thumbnails of the images of the conversation's latest user message (shown once the run has stored them)."""
    for message in reversed(repo.messages_as_openai(db, conversation_id)):
        if message.get("role") == "user":
            return thumbnails_html(conversation_id, message.get("_images"))
    return ""


_STEP_IMAGE = re.compile(r"\[image ([0-9a-f]{12}) \((image/[a-z]+), (\d+)×(\d+)\)")


def step_images_html(db: Database, conversation_id: str, run_id: str, call_id: str) -> str:
    """Thumbnails of the images a finished tool call returned (its step row names them by artifact id)."""
    step = repo.get_step(db, run_id, call_id)
    entries = []
    for short, mime, width, height in _STEP_IMAGE.findall(step.result_preview or "") if step is not None else []:
        art = tool_results.find_artifact(db, conversation_id, short)
        if art is not None and art.mime in SERVED_TYPES:
            entries.append({"id": art.id, "mime": mime, "width": int(width), "height": int(height)})
    return thumbnails_html(conversation_id, entries)


def show_step_images(messages: list[Any], shown: str, call_id: str) -> None:
    """Put the thumbnails right under the tool card of call_id (unless a workspace image already shows there)."""
    for i, card in enumerate(messages):
        meta = card.metadata if isinstance(getattr(card, "metadata", None), dict) else {}
        if meta.get("id") != call_id:
            continue
        following = str(messages[i + 1].content) if i + 1 < len(messages) else ""
        if not following.startswith((THUMBS_MARK, "<div class='k2-ws-images'>")):
            messages.insert(i + 1, gr.ChatMessage(content=shown))
        return


# --- the route ------------------------------------------------------------------------------------------------


def mount(app: Any, database: Callable[[], Database | None]) -> None:
    """Serve image artifacts on the UI's own server (database() is None until the agent is open)."""
    from fastapi.responses import PlainTextResponse, Response

    async def serve(conversation_id: str, artifact_id: str) -> Response:
        db = database()
        if db is None:
            return PlainTextResponse("starting", 503)
        art = await asyncio.to_thread(repo.get_artifact, db, artifact_id)
        if art is None or art.conversation_id != conversation_id or art.mime not in SERVED_TYPES:
            return PlainTextResponse("no such image", 404, headers={"X-Content-Type-Options": "nosniff"})
        headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
                   "Cache-Control": "private, max-age=3600"}
        return Response(art.data, media_type=art.mime, headers=headers)

    app.add_api_route(ROUTE, serve, methods=["GET"], include_in_schema=False)


# --- the composer's image button --------------------------------------------------------------------------------


@dataclass
class AttachBox:
    """The image button, the files waiting to be sent, and their chips."""

    button: gr.UploadButton
    pending: gr.State
    chips: gr.HTML


# Paste (Ctrl+V of a screenshot) anywhere on the page, or a drop on the composer, hands the images to the Image
# button's own file input, as if they had been chosen with it. Added once per page.
PASTE_JS = """
if (!window.__k2ImagePaste) {
  window.__k2ImagePaste = true;
  const hand = (files) => {
    const images = [...(files || [])].filter(f => f.type && f.type.startsWith('image/'));
    const input = document.querySelector('input[data-testid="Image-upload-button"]');
    if (!images.length || !input) return false;
    const moved = new DataTransfer();
    images.forEach(f => moved.items.add(f));
    input.files = moved.files;
    input.dispatchEvent(new Event('change', {bubbles: true}));
    return true;
  };
  const onComposer = (e) => e.target && e.target.closest && e.target.closest('#k2-composer');
  document.addEventListener('paste', e => { if (e.clipboardData && hand(e.clipboardData.files)) e.preventDefault(); });
  document.addEventListener('dragover', e => { if (onComposer(e)) e.preventDefault(); });
  document.addEventListener('drop', e => { if (onComposer(e) && e.dataTransfer && hand(e.dataTransfer.files)) e.preventDefault(); });
}
"""


def chips_box() -> gr.HTML:
    """The line of waiting images under the composer; it also installs the paste and drop handlers."""
    return gr.HTML("", elem_id="k2-attach-chips", js_on_load=PASTE_JS)


def attach_button() -> gr.UploadButton:
    """The composer's image button (inside its row); the chat adds the waiting list and the chips under the row."""
    return gr.UploadButton("Image", file_types=FILE_TYPES, file_count="multiple", scale=0, min_width=72,
                           elem_id="k2-attach-image")


def chips_html(paths: list[str]) -> str:
    if not paths:
        return ""
    chips = "".join(f"<span class='k2-attach-chip'>{html.escape(Path(p).name)} "
                    f"({os.path.getsize(p) / 1e6:.1f} MB)</span>" for p in paths if os.path.exists(p))
    return f"<div class='k2-attach-chips'>{chips}</div>"


def wire_attach(box: AttachBox) -> None:
    """Chosen files wait (as chips) until the message is sent."""

    def chosen(files: Any, pending: list[str]) -> tuple[list[str], str]:
        paths = [*(pending or []), *[str(getattr(f, "name", f)) for f in (files or [])]]
        return paths, chips_html(paths)

    box.button.upload(chosen, [box.button, box.pending], [box.pending, box.chips], queue=False)


def read_attachments(paths: list[str]) -> list[Attachment]:
    """The waiting files as the run's images; a file over the size limit is refused before it is read."""
    from agents.models.image_prep import ImageRefused

    out = []
    for path in paths or []:
        size = os.path.getsize(path)
        name = Path(path).name
        if size > MAX_IMAGE_BYTES:
            raise ImageRefused(too_large(name, size))
        out.append(Attachment(name, Path(path).read_bytes()))
    return out
