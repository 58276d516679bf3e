"""`ask --attach FILE` (repeatable): images go to the model with the question, PDFs are ingested and attached.

Images (PNG, JPEG, WebP, GIF) are read here and prepared by the run (agents.planner.images): a vision model sees
them, any other model gets a placeholder and the user a notice. PDFs go through the pdf_reader's own ingest, like a
UI upload, and lead the run as attached documents. A file too large to send is refused before it is read.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agents.errors import AppError
from agents.models.image_prep import MAX_IMAGE_BYTES, ImageRefused, too_large
from agents.planner.images import Attachment

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif"}


async def attachments(db: Any, paths: list[str]) -> tuple[list[Attachment], list[str]]:
    """(the images to send, the ids of the ingested PDFs); AppError says which file cannot be attached and why."""
    images: list[Attachment] = []
    documents: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise AppError(f"--attach {raw}: no such file")
        suffix = path.suffix.lower()
        if suffix == ".pdf":
            documents.append(await asyncio.to_thread(_ingest, db, path))
        elif suffix in IMAGE_SUFFIXES:
            size = path.stat().st_size
            if size > MAX_IMAGE_BYTES:
                raise ImageRefused(too_large(path.name, size))
            images.append(Attachment(path.name, await asyncio.to_thread(path.read_bytes)))
        else:
            raise AppError(f"--attach {raw}: attach images (PNG, JPEG, WebP, GIF) or PDFs")
    return images, documents


def _ingest(db: Any, path: Path) -> str:
    from mcp_servers.pdf_reader.ingest import IngestError, ingest_pdf

    try:
        return ingest_pdf(db, path, filename=path.name).document.id
    except IngestError as exc:
        raise AppError(f"--attach {path}: {exc}") from None
