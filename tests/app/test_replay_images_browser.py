"""A replay from the Runs tab sends the images attached to the run's prompt again, and has a Stop of its own; in
headless Chromium against the real app on K2.5 (the fake K2 server sees the images of each request)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.app.conftest import LEAN_SERVERS
from tests.app.ui_support import chromium_page, requires_chromium, running_app
from tests.fakes.k2_images import images_in
from tests.fakes.k2_server import FakeK2Server, Turn

pytestmark = [pytest.mark.slow, requires_chromium]

SLOW = [f"word{n} " for n in range(80)]  # 80 pieces, 0.25 s apart: a replay that is still running when Stop is pressed


@pytest.fixture
def vision_app(fake_k2: FakeK2Server, tmp_path: Path) -> Iterator[str]:
    env = {"K2HUB_BUILTIN_SERVERS": LEAN_SERVERS, "K2HUB_MODEL": "kimi-k2.5"}
    with running_app(fake_k2.url, tmp_path / "home", **env) as url:
        yield url


def test_a_replay_sends_the_prompts_images_and_stops_on_its_own_button(
    fake_k2: FakeK2Server, vision_app: str, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    slow = {"on": False}

    def answer(body: dict) -> Turn:
        if slow["on"]:
            return Turn(content_chunks=SLOW, chunk_delay_s=0.25)
        shown = images_in(body)
        return Turn(content=f"A blue square, {shown[-1].width} pixels wide." if shown else "No image.")

    fake_k2.responder = answer
    picture = tmp_path / "square.png"
    Image.new("RGB", (320, 240), (20, 40, 200)).save(picture, "PNG")
    with chromium_page(vision_app, height=1000) as page:
        chat = page.locator("#k2-chat")
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        with page.expect_file_chooser() as chooser:
            page.locator("#k2-attach-image").click()
        chooser.value.set_files(str(picture))
        expect(page.locator("#k2-attach-chips")).to_contain_text("square.png", timeout=20_000)
        page.locator("#k2-prompt textarea").fill("What is this?")
        page.locator("#k2-send").click()
        expect(chat.get_by_text("A blue square, 320 pixels wide.")).to_be_visible(timeout=90_000)
        expect(page.locator("#k2-send")).to_be_visible(timeout=30_000)
        sent = len(fake_k2.requests)

        page.get_by_role("tab", name="Runs").click()
        table = page.locator("#k2-runs-table")
        expect(table).to_contain_text("kimi-k2.5", timeout=20_000)
        table.get_by_text("What is this?", exact=True).filter(visible=True).first.click()
        expect(page.locator("#k2-runs-run-id textarea, #k2-runs-run-id input")).not_to_have_value("", timeout=20_000)
        page.locator("#k2-replay-provider input").click()
        page.get_by_role("option", name="OpenAI-compatible URL", exact=True).click()
        model_box = page.locator("#k2-replay-model input")
        model_box.fill("kimi-k2.5")
        model_box.press("Enter")
        page.locator("#k2-replay").click()
        result = page.locator("#k2-replay-result")
        expect(result).to_contain_text("✓ Replayed in a new conversation", timeout=90_000)
        expect(result).to_contain_text("A blue square, 320 pixels wide.")  # the model saw the image again
        assert [i.width for i in images_in(fake_k2.requests[-1])] == [320]
        assert len(fake_k2.requests) == sent + 1
        expect(page.locator("#k2-replay-stop")).to_be_hidden()

        slow["on"] = True  # the next replay streams slowly: Stop ends it
        page.locator("#k2-replay").click()
        stop = page.locator("#k2-replay-stop")
        expect(stop).to_be_visible(timeout=60_000)
        expect(page.locator("#k2-replay")).to_be_hidden()
        expect(result).to_contain_text("writing…", timeout=90_000)  # the answer is streaming
        page.screenshot(path=str(artifacts_dir / "ui_replay_stop.png"), full_page=True)
        stop.click()
        expect(result).to_contain_text("The replay did not finish", timeout=60_000)
        expect(result).to_contain_text("■")
        expect(stop).to_be_hidden()
        expect(page.locator("#k2-replay")).to_be_visible()
        assert "word79" not in result.inner_text()
        page.screenshot(path=str(artifacts_dir / "ui_replay_stopped.png"), full_page=True)
