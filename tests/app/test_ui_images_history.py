"""The images a model saw, in the chat's history (issue 21): under a finished tool card while a run streams, under
the user's message and the tool's card in a reopened conversation; only images of that conversation are linked."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from app.ui.images import show_step_images, step_images_html, thumbnails_html
from app.ui.render import history_from_messages, tool_card
from storage import images, repo
from storage.db import Database


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


def test_a_tool_cards_images_show_under_it_and_in_the_reopened_chat(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path}/k2hub.db")
    conversation = repo.create_conversation(db, "pages", "openai-compatible", "kimi-k2.5")
    run = repo.create_run(db, conversation.id, "openai-compatible", "kimi-k2.5")
    art = images.save_image(db, _png(), mime="image/png", name="pdf_reader__page_image-1.png",
                            conversation_id=conversation.id, run_id=run.id)
    again = images.save_image(db, _png(), mime="image/png", name="again.png", conversation_id=conversation.id)
    assert again.id == art.id  # the same bytes are kept once
    view = f"page 1\n[image {art.id[:12]} (image/png, 30×20)]"
    repo.add_step(db, run.id, kind="tool", name="pdf_reader__page_image", call_id="functions.p:0", result_preview=view)
    shown = step_images_html(db, conversation.id, run.id, "functions.p:0")
    assert f"/k2hub/images/{conversation.id}/{art.id}" in shown and "30×20" in shown

    messages = [tool_card("functions.p:0", "pdf_reader__page_image", {}), tool_card("functions.q:1", "x", {})]
    show_step_images(messages, shown, "functions.p:0")
    assert [str(m.content).startswith("<div class='k2-img-thumbs'>") for m in messages] == [False, True, False]

    entry = {"id": art.id, "width": 30, "height": 20}
    rows = [{"role": "user", "content": "look", "_images": [entry], "conversation_id": conversation.id},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "functions.p:0", "type": "function", "function": {"name": "pdf_reader__page_image",
                                                                         "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "functions.p:0", "content": view, "_images": [entry],
             "conversation_id": conversation.id}]
    history = history_from_messages(rows)
    assert f"/k2hub/images/{conversation.id}/{art.id}" in str(history[0].content)
    assert str(history[-1].content).startswith("<div class='k2-img-thumbs'>")


def test_thumbnails_never_link_what_is_not_an_artifact_id():
    assert thumbnails_html("c1", [{"id": "../../etc/passwd"}, {"id": "abc' onerror='x"}]) == ""
    assert thumbnails_html(None, [{"id": "abc"}]) == ""
