"""Images in the UI (issue 21), headless Chromium against the real app and the fake K2: an attached image goes to
K2.5 with the message and shows as a thumbnail in the history, served by the image route of its conversation."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.app.conftest import LEAN_SERVERS
from tests.app.ui_support import chromium_page, requires_chromium, running_app
from tests.fakes.k2_images import images_in
from tests.fakes.k2_server import FakeK2Server, Turn

pytestmark = [pytest.mark.slow, requires_chromium]


@pytest.fixture
def vision_app(fake_k2: FakeK2Server, tmp_path: Path) -> Iterator[str]:
    with running_app(fake_k2.url, tmp_path / "home", K2HUB_BUILTIN_SERVERS=LEAN_SERVERS, K2HUB_MODEL="kimi-k2.5") as url:
        yield url


def test_an_attached_image_is_sent_and_shown_as_a_thumbnail(
    fake_k2: FakeK2Server, vision_app: str, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    def answer(body: dict) -> Turn:
        shown = images_in(body)
        return Turn(content=f"A green square, {shown[-1].width} pixels wide." if shown else "No image.")

    fake_k2.responder = answer
    picture = tmp_path / "square.png"
    Image.new("RGB", (640, 480), (20, 160, 40)).save(picture, "PNG")
    with chromium_page(vision_app) as page:
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        with page.expect_file_chooser() as chooser:  # the user clicks the image button and picks a file
            page.locator("#k2-attach-image").click()
        chooser.value.set_files(str(picture))
        expect(page.locator("#k2-attach-chips")).to_contain_text("square.png", timeout=20_000)
        page.locator("#k2-prompt textarea").fill("What colour is this?")
        page.locator("#k2-send").click()
        chat = page.locator("#k2-chat")
        expect(chat.get_by_text("A green square, 640 pixels wide.")).to_be_visible(timeout=90_000)
        thumb = chat.locator("img.k2-img-thumb")
        expect(thumb).to_have_count(1, timeout=20_000)
        expect(page.locator("#k2-attach-chips")).not_to_contain_text("square.png")  # sent: no longer waiting
        page.wait_for_function("() => { const i = document.querySelector('#k2-chat img.k2-img-thumb');"
                               " return i && i.complete && i.naturalWidth > 0; }", timeout=20_000)
        loaded = thumb.evaluate("img => img.naturalWidth")
        page.screenshot(path=str(artifacts_dir / "ui_attached_image.png"))
        href = chat.locator("a.k2-img-link").evaluate("a => a.href")  # absolute
        full = page.request.get(href)  # the link behind the thumbnail: the full image as the model saw it
        assert full.ok and full.headers["content-type"] == "image/png"
        assert "sandbox" in full.headers["content-security-policy"]
        other = page.request.get(href.replace("/k2hub/images/", "/k2hub/images/not-this-chat", 1))
        assert other.status == 404
        # A screenshot pasted into the prompt box (Ctrl+V) waits as a chip and goes with the next message.
        page.locator("#k2-prompt textarea").evaluate(PASTE, base64.b64encode(_png((300, 200), (200, 20, 20))).decode())
        expect(page.locator("#k2-attach-chips")).to_contain_text("pasted.png", timeout=20_000)
        page.locator("#k2-prompt textarea").fill("And this one?")
        page.locator("#k2-send").click()
        expect(chat.get_by_text("A green square, 300 pixels wide.")).to_be_visible(timeout=90_000)
        expect(chat.locator("img.k2-img-thumb")).to_have_count(2, timeout=20_000)
    assert loaded == 640
    assert len(images_in(fake_k2.requests[0])) == 1
    # The second request shows both: the first turn's image is still within the context policy.
    assert [i.width for i in images_in(fake_k2.requests[-1])] == [640, 300]


PASTE = """(box, b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const moved = new DataTransfer();
  moved.items.add(new File([bytes], 'pasted.png', {type: 'image/png'}));
  box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: moved, bubbles: true, cancelable: true}));
}"""


def _png(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()
