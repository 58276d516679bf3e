"""The conversation's workspace files in the UI: a Files panel (list, image previews, downloads) and screenshots or
charts a tool wrote shown inline under its card in the chat.

Files are served by our own route on the UI's server, /k2hub/files/<conversation>/<path>, never through Gradio's
file serving: Gradio's allowed_paths would expose whole folders, while this route opens one file of one
conversation's workspace through the safe file layer (mcp_servers.common.safe_files: no '..', no absolute paths, no
symlink leading out, no final symlink) and answers everything as an attachment so a page the agent downloaded cannot run in the UI's origin.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import gradio as gr
from gradio import ChatMessage
from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers.common import safe_files
from mcp_servers.common.cli import human_size
from mcp_servers.common.paths import CONVERSATION_META_KEY, Workspace, conversation_id, workspace_root

log = logging.getLogger(__name__)

ROUTE = "/k2hub/files/{conversation_id}/{path:path}"
PREFIX = "/k2hub/files"
HIDDEN = ".k2hub"  # the servers' own state (saved outputs, temporaries): not the user's files
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
# Magic numbers: only real images are previewed, whatever their name says.
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
MAX_LISTED = 200
MAX_WALKED = 5_000  # a workspace with a vendored tree must not stall the panel
MAX_PREVIEWS = 12
MAX_INLINE = 4
MAX_IMAGE_BYTES = 20 * 1024 * 1024
CHUNK = 64 * 1024
IMAGES_MARK = "<div class='k2-ws-images'>"
# A workspace image path in a tool result: "saved … as browser/screenshot-1.png", "files created: chart.png (2 KB)",
# "- analysis/revenue.png"; the sandbox sees the workspace as /workspace.
_IMAGE_PATH = re.compile(
    r"(?<![\w./-])(?:/workspace/)?((?:[\w+-][\w.+-]*/)*[\w+-][\w.+-]*\.(?:png|jpe?g|gif|webp))(?!\w)", re.IGNORECASE
)


class Refused(Exception):
    """A file request that is not served, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class WorkspaceFile:
    """One regular file of a workspace, path relative to it with '/' separators."""

    path: str
    size: int
    mtime_ns: int

    @property
    def is_image(self) -> bool:
        return os.path.splitext(self.path)[1].lower() in IMAGE_TYPES


def workspace(cid: str | None) -> Workspace | None:
    """The conversation's workspace, or None for no conversation or an id that is not one."""
    if not cid:
        return None
    try:
        return Workspace(workspace_root() / conversation_id({CONVERSATION_META_KEY: cid}))
    except ToolError:
        return None


def _hidden(parts: tuple[str, ...] | list[str]) -> bool:
    return any(p.startswith(HIDDEN) for p in parts)


def list_files(cid: str | None, limit: int = MAX_LISTED) -> tuple[list[WorkspaceFile], int]:
    """The workspace's regular files, newest first (at most limit), and how many were found in all.

    Symlinks are not listed (nor followed into), nor the servers' hidden .k2hub internals.
    """
    ws = workspace(cid)
    if ws is None or not ws.exists:
        return [], 0
    try:
        found = [WorkspaceFile(path, info.st_size, info.st_mtime_ns) for path, info in
                 safe_files.walk(ws, ".", skip=lambda name: name.startswith(HIDDEN), limit=MAX_WALKED)]
    except ToolError:  # the workspace vanished or changed under us: show nothing rather than fail the panel
        return [], 0
    found.sort(key=lambda f: (-f.mtime_ns, f.path))
    return found[:limit], len(found)


def open_file(cid: str, path: str) -> tuple[int, os.stat_result]:
    """A read-only descriptor (the caller closes it) and stat of one file of the conversation's workspace."""
    ws = workspace(cid)
    if ws is None:
        raise Refused(404, "no such conversation")
    try:
        if _hidden(ws.parts(path)):
            raise Refused(403, f"{path}: refused: the app's internal files are not served")
        with ws.open_file(path) as (fd, info):
            return os.dup(fd), info
    except ToolError as err:
        text = str(err)
        raise Refused(403 if "refused" in text else 404, text) from None


def file_url(cid: str, f: WorkspaceFile) -> str:
    # The mtime makes a rewritten file a new URL, so a browser never shows a stale cached image.
    return f"{PREFIX}/{quote(cid, safe='')}/{quote(f.path)}?v={f.mtime_ns}"


def _stat(ws: Workspace, path: str) -> WorkspaceFile | None:
    """The file at path if it is a real image inside the workspace; None for anything else (never raises)."""
    try:
        parts = ws.parts(path)
        if not parts or _hidden(parts):
            return None
        with ws.open_file(path) as (fd, info):
            head = os.pread(fd, 12, 0)
            webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
            if info.st_size > MAX_IMAGE_BYTES or not (head.startswith(_MAGIC) or webp):
                return None
            return WorkspaceFile("/".join(parts), info.st_size, info.st_mtime_ns)
    except (ToolError, OSError):
        return None


# --- the route ------------------------------------------------------------------------------------------------


def _chunks(fd: int) -> Iterator[bytes]:
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def mount(app: Any) -> None:
    """Serve workspace files on the UI's own server (call after launch)."""
    from fastapi.responses import PlainTextResponse, Response, StreamingResponse

    async def serve(conversation_id: str, path: str) -> Response:
        try:
            fd, info = await asyncio.to_thread(open_file, conversation_id, path)
        except Refused as err:
            return PlainTextResponse(str(err), err.status, headers={"X-Content-Type-Options": "nosniff"})
        name = path.rsplit("/", 1)[-1]
        headers = {
            # Always an attachment with an inert type: an agent-downloaded HTML page must not run in the UI's
            # origin. <img> ignores Content-Disposition, so previews still show.
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
            "Content-Length": str(info.st_size),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=300",
        }
        media = IMAGE_TYPES.get(os.path.splitext(name)[1].lower(), "application/octet-stream")
        return StreamingResponse(_chunks(fd), media_type=media, headers=headers)

    app.add_api_route(ROUTE, serve, methods=["GET"], include_in_schema=False)


# --- the panel ------------------------------------------------------------------------------------------------


@dataclass
class FilesPanel:
    """The Files accordion: previews of images, then a table of every file with a download link."""

    box: gr.Accordion
    listing: gr.HTML
    refresh: gr.Button


EMPTY = "<div class='k2-ws-empty'>No files yet. Files the agent writes (code, screenshots, charts, exports) show here.</div>"


def build_files() -> FilesPanel:
    """Lay out the panel (inside the chat column, under the composer)."""
    with gr.Accordion("Files", open=False, elem_id="k2-files") as box:
        listing = gr.HTML(EMPTY, elem_id="k2-files-list")
        refresh = gr.Button("↻ Refresh", size="sm", variant="secondary", elem_id="k2-files-refresh")
    return FilesPanel(box, listing, refresh)


def _when(mtime_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(mtime_ns / 1e9))


def listing_html(cid: str | None) -> tuple[str, int]:
    """The panel's body for one conversation (image previews and the file table) and how many files it has."""
    files, total = list_files(cid)
    ws = workspace(cid)
    if not files or cid is None or ws is None:
        return EMPTY, 0
    images = [f for f in files if f.is_image and _stat(ws, f.path) is not None][:MAX_PREVIEWS]
    gallery = "".join(
        f"<a class='k2-ws-thumb' href='{html.escape(file_url(cid, f))}' download title='{html.escape(f.path)}'>"
        f"<img src='{html.escape(file_url(cid, f))}' alt='{html.escape(f.path)}' loading='lazy'>"
        f"<span>{html.escape(f.path)}</span></a>"
        for f in images
    )
    rows = "".join(
        f"<tr><td><code>{html.escape(f.path)}</code></td><td class='k2-num'>{human_size(f.size)}</td>"
        f"<td>{_when(f.mtime_ns)}</td><td><a class='k2-ws-download' href='{html.escape(file_url(cid, f))}' download>"
        "Download</a></td></tr>"
        for f in files
    )
    more = f"<div class='k2-ws-more'>Newest {len(files)} of {total:,} files shown.</div>" if total > len(files) else ""
    body = (
        (f"<div class='k2-ws-gallery'>{gallery}</div>" if gallery else "")
        + "<table class='k2-ws-table'><thead><tr><th>path</th><th>size</th><th>modified</th><th></th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{more}"
    )
    return body, total


def wire_files(panel: FilesPanel, conversation_id: gr.State, refresh_on: list[Any]) -> None:
    """The listing follows the conversation; it refreshes when a run moves on (its status line changes)."""

    async def refresh(cid: str | None, shown: str | None = None) -> Any:
        try:
            body, total = await asyncio.to_thread(listing_html, cid)
        except Exception:  # the boundary: a broken workspace must not break the chat around it
            log.exception("listing the workspace of %s failed", cid)
            return gr.skip(), gr.skip()
        if body == shown:  # most status changes write no file: send nothing
            return gr.skip(), gr.skip()
        return body, gr.update(label=f"Files ({total:,})" if total else "Files")

    for component in refresh_on:
        component.change(
            refresh, [conversation_id, panel.listing], [panel.listing, panel.box], queue=False, show_progress="hidden"
        )
    panel.refresh.click(refresh, conversation_id, [panel.listing, panel.box], queue=False)


# --- images in the chat -------------------------------------------------------------------------------------


def image_paths(text: str) -> list[str]:
    """Workspace image paths named in a tool result, in order, without repeats."""
    return list(dict.fromkeys(m.group(1) for m in _IMAGE_PATH.finditer(text or "")))


def image_message(cid: str | None, result: str) -> ChatMessage | None:
    """A chat message showing the workspace images a tool result names (None when none exists)."""
    ws = workspace(cid)
    if ws is None or cid is None or not ws.exists:
        return None
    shown = [f for f in (_stat(ws, p) for p in image_paths(result)) if f is not None][:MAX_INLINE]
    if not shown:
        return None
    body = "".join(
        f"<a href='{html.escape(file_url(cid, f))}' download title='{html.escape(f.path)}'>"
        f"<img class='k2-ws-inline' src='{html.escape(file_url(cid, f))}' alt='{html.escape(f.path)}'></a>"
        for f in shown
    )
    return ChatMessage(content=f"{IMAGES_MARK}{body}</div>")


def _result_text(card: ChatMessage) -> str:
    content = str(card.content or "")
    return content.split("**Result**", 1)[1] if "**Result**" in content else ""


def show_images(messages: list[ChatMessage], cid: str | None, call_id: str | None = None) -> list[ChatMessage]:
    """Insert, under each finished tool card (or only the card of call_id), the images its result names.

    Robust by design: a missing, moved or unreadable file just shows nothing.
    """
    try:
        i = 0
        while i < len(messages):
            card = messages[i]
            meta = card.metadata if isinstance(card.metadata, dict) else {}
            wanted = meta.get("id") and (call_id is None or meta.get("id") == call_id)
            already = i + 1 < len(messages) and str(messages[i + 1].content).startswith(IMAGES_MARK)
            if wanted and meta.get("status") == "done" and not already:
                shown = image_message(cid, _result_text(card))
                if shown is not None:
                    messages.insert(i + 1, shown)
                    i += 1
            i += 1
    except Exception:  # decoration only: the chat must stream whatever happens here
        log.exception("showing workspace images failed")
    return messages
