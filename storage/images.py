"""Images a model was shown (attached by the user or returned by a tool), kept once per conversation as artifacts.

An image is stored as the model saw it (already resized and re-encoded), with kind "image"; the same bytes shown
again in the same conversation (a page looked at twice, the same screenshot) reuse the first artifact.
"""

from __future__ import annotations

import hashlib

from sqlmodel import col, select

from storage import repo
from storage.db import Database
from storage.models import Artifact

KIND = "image"


def find_image(db: Database, conversation_id: str, data: bytes) -> Artifact | None:
    """The conversation's image artifact holding exactly these bytes, if any."""
    digest = hashlib.sha256(data).hexdigest()
    with db.session(write=False) as s:
        return s.exec(select(Artifact).where(Artifact.conversation_id == conversation_id, Artifact.kind == KIND,
                                             Artifact.sha256 == digest).limit(1)).first()


def save_image(db: Database, data: bytes, *, mime: str, name: str, conversation_id: str,
               run_id: str | None = None) -> Artifact:
    """The conversation's artifact holding these bytes: the existing one, else a new one."""
    found = find_image(db, conversation_id, data)
    if found is not None:
        return found
    return repo.save_artifact(db, data, name=name, mime=mime, kind=KIND, conversation_id=conversation_id,
                              run_id=run_id)


def find_prefix(db: Database, conversation_id: str, prefix: str) -> Artifact | None:
    """The conversation's image artifact whose id starts with `prefix` (the 12 characters a result names)."""
    with db.session(write=False) as s:
        found = list(s.exec(select(Artifact).where(Artifact.conversation_id == conversation_id, Artifact.kind == KIND,
                                                   col(Artifact.id).startswith(prefix, autoescape=True)).limit(2)))
    return found[0] if len(found) == 1 else None


def image_of(db: Database, artifact_id: str) -> tuple[str, bytes] | None:
    """(type, bytes) of an image artifact, or None when there is no such image."""
    art = repo.get_artifact(db, artifact_id)
    if art is None or not art.mime.startswith("image/"):
        return None
    return art.mime, art.data
