"""The UI end to end: the real app in a subprocess, the fake K2 server, headless Chromium driving the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn

REASONING = ("The user wants a note saved. I will write notes.md into the workspace with a friendly line, "
             "then read back nothing else and confirm what I did in one sentence.")
FINAL_REASONING = "The file is written; now I summarize the result for the user briefly."
ANSWER = "I saved notes.md in your workspace with the line Kimi K2 says hello and nothing else changed today."

pytestmark = [
    pytest.mark.slow,
    requires_chromium,
]


# Records every distinct text of the chat while it streams, so the test can prove what appeared before what.
RECORDER = """() => {
  window.__frames = [];
  const chat = document.querySelector('#k2-chat');
  new MutationObserver(() => {
    const t = chat.innerText;
    if (window.__frames[window.__frames.length - 1] !== t) window.__frames.push(t);
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}"""


def test_chat_streams_reasoning_tool_card_answer_and_restores(
    fake_k2: FakeK2Server, app_url: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    fake_k2.enqueue(
        # 0.1 s between chunks: a loaded machine coalesces faster updates into one frame, and then nothing proves
        # the reasoning streamed.
        Turn(reasoning=REASONING, chunk_delay_s=0.1,
             tool_calls=[ToolCall("workspace__write_file", {"path": "notes.md", "content": "Kimi K2 says hello\n"})]),
        Turn(reasoning=FINAL_REASONING, content=ANSWER, chunk_delay_s=0.06),
    )
    with chromium_page(app_url) as page:
        chat = page.locator("#k2-chat")
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        page.evaluate(RECORDER)

        # Model discovery asks the server (GET /models) and says what it found.
        page.locator("#k2-refresh-models").click()
        expect(page.get_by_text(f"{len(fake_k2.models)} models found.")).to_be_visible(timeout=20_000)

        page.locator("#k2-prompt textarea").fill("Save a short note for me")
        page.locator("#k2-send").click()
        expect(page.locator("#k2-stop")).to_be_visible(timeout=10_000)
        expect(chat.get_by_text(ANSWER)).to_be_visible(timeout=90_000)
        expect(page.locator("#k2-send")).to_be_visible(timeout=30_000)

        frames: list[str] = page.evaluate("window.__frames")
        first_words, last_words = ANSWER[:20], ANSWER[-20:]
        # Reasoning streamed: part of it was on screen before all of it.
        assert any(REASONING[:30] in f and REASONING[-30:] not in f for f in frames), "reasoning was not streamed"
        # The answer streamed token by token: its start was visible before its end.
        assert any(first_words in f and last_words not in f for f in frames), "the answer arrived in one piece"
        # Reasoning came first: some frame shows reasoning and no answer yet.
        assert any(REASONING[:30] in f and first_words not in f for f in frames)

        expect(chat.get_by_text("workspace__write_file")).to_be_visible()
        expect(chat.get_by_text("Thinking").first).to_be_visible()
        expect(page.locator("#k2-status")).to_contain_text(re.compile(r"✓ answered · kimi-k2-thinking · \d+ steps? · [\d,]+ tokens · \$"))
        # The tool card opens on click and shows the arguments and the server's result.
        chat.get_by_text("workspace__write_file").click()
        expect(chat.get_by_text(re.compile(r"wrote \d+ bytes"))).to_be_visible()
        page.wait_for_timeout(400)  # let the card's opening animation finish: the screenshot is for people
        page.screenshot(path=str(artifacts_dir / "ui_chat.png"))

        conversation = page.locator("#k2-conversations label", has_text="Save a short note for me")
        expect(conversation).to_be_visible(timeout=10_000)
        page.locator("#k2-new-chat").click()
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible()
        expect(chat.get_by_text(ANSWER)).to_have_count(0)

        conversation.click()
        expect(chat.get_by_text(ANSWER)).to_be_visible(timeout=20_000)
        expect(chat.get_by_text("Save a short note for me")).to_be_visible()
        expect(chat.get_by_text("workspace__write_file")).to_be_visible()
        expect(page.locator("#k2-status")).to_contain_text("1 run ·")
        page.screenshot(path=str(artifacts_dir / "ui_restored.png"))

        # Stop: a slow answer in the reopened conversation ends early, with a calm message.
        # ~60 s of reasoning in ~60 small pieces a second apart: on a loaded machine the page can show the first words
        # many seconds late, and the run must still be going when Stop is pressed (Stop ends it; the test does not
        # wait the minute). Few pieces keep the page light: hundreds of re-rendered frames starved the click.
        fake_k2.enqueue(Turn(reasoning="Let me think about this at length. " * 20, content="never shown",
                             chunk_delay_s=1.0))
        page.locator("#k2-prompt textarea").fill("Think slowly")
        page.locator("#k2-send").click()
        expect(chat.get_by_text("Let me think about this").first).to_be_visible(timeout=30_000)
        page.locator("#k2-stop").click(timeout=60_000)
        expect(chat.get_by_text("Stopped by the user.")).to_be_visible(timeout=20_000)
        expect(page.locator("#k2-send")).to_be_visible()
        expect(page.locator("#k2-status")).to_contain_text("■ stopped")
        expect(chat.get_by_text("never shown")).to_have_count(0)
        # Both turns live in one conversation: the list did not grow.
        expect(page.locator("#k2-conversations label")).to_have_count(1)
