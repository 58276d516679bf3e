"""Continue after Stop, in headless Chromium (the real app on the fake K2 server): a streaming answer is stopped,
▶ Continue resumes it, the continuation is appended to the partial text, and the model got the partial as history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.ui.continue_run import CONTINUE_PROMPT
from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, Turn

pytestmark = [pytest.mark.slow, requires_chromium]

WORDS = [f"word{i} " for i in range(400)]


def test_stop_then_continue_appends_to_the_partial_answer(
    fake_k2: FakeK2Server, app_url: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    fake_k2.enqueue(Turn(content_chunks=WORDS, chunk_delay_s=0.15))
    with chromium_page(app_url) as page:
        chat = page.locator("#k2-chat")
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        resume = page.locator("#k2-continue")
        expect(resume).to_be_hidden()
        page.locator("#k2-prompt textarea").fill("Count slowly")
        page.locator("#k2-send").click()
        expect(chat.get_by_text("word5", exact=False)).to_be_visible(timeout=60_000)
        page.locator("#k2-stop").click()
        expect(page.locator("#k2-status")).to_contain_text("■ stopped", timeout=30_000)
        expect(resume).to_be_visible(timeout=20_000)
        expect(page.locator("#k2-send")).to_be_visible(timeout=20_000)  # the stopped run's last frame is in
        partial = chat.locator(".message-row", has_text="word5").last.inner_text()
        assert "word399" not in partial

        # A reload (the ?c= link) reopens the stopped chat: its partial answer, and Continue still offered.
        page.goto(page.url)
        expect(chat.get_by_text("Stopped by the user")).to_be_visible(timeout=60_000)
        expect(resume).to_be_visible(timeout=20_000)

        fake_k2.enqueue(Turn(content="and the END of the count."))
        resume.click()
        expect(chat.get_by_text("the END of the count", exact=False)).to_be_visible(timeout=60_000)
        expect(page.locator("#k2-status")).to_contain_text("✓ answered", timeout=30_000)
        expect(resume).to_be_hidden()
        # One bubble: the partial text, then the continuation (the stop notice is gone from the live view).
        bubble = chat.locator(".message-row", has_text="the END of the count").last.inner_text()
        assert "word5" in bubble and bubble.index("word5") < bubble.index("the END")
        assert re.search(r"word\d+ and the END", bubble)  # one text, words not run together
        expect(chat.get_by_text("Stopped by the user")).to_have_count(0)
        page.screenshot(path=str(artifacts_dir / "ui_continue.png"))

    sent = fake_k2.requests[-1]["messages"]
    assert sent[-1] == {"role": "user", "content": CONTINUE_PROMPT}
    assert sent[-2]["role"] == "assistant" and sent[-2]["content"].startswith("word0 word1")
    assert "word399" not in sent[-2]["content"]
