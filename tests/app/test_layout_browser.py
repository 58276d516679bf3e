"""Any screen: at 400×850 the sidebar hides behind ☰ and the chat uses the width; a dark-mode toggle; names for
screen readers (the real app on the fake K2 server, headless Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, Turn

pytestmark = [pytest.mark.slow, requires_chromium]


def test_a_400px_screen_collapses_the_sidebar_and_keeps_the_chat_wide(
    fake_k2: FakeK2Server, app_url: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    fake_k2.enqueue(Turn(content="Short answer for a small screen."))
    with chromium_page(app_url, height=850) as page:
        page.set_viewport_size({"width": 400, "height": 850})
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        chat = page.locator("#k2-chat").bounding_box()
        assert chat is not None and chat["width"] >= 300, f"chat column is {chat and chat['width']} px wide"
        sidebar = page.locator("#k2-sidebar").bounding_box()
        assert sidebar is not None and sidebar["x"] + sidebar["width"] <= 1, "the sidebar still takes room"
        page.locator("#k2-prompt textarea").fill("hello")
        page.locator("#k2-send").click()
        expect(page.locator("#k2-chat").get_by_text("Short answer for a small screen.")).to_be_visible(timeout=60_000)
        page.screenshot(path=str(artifacts_dir / "ui_400px.png"))

        nav = page.locator("#k2-nav-toggle")
        expect(nav).to_be_visible()
        nav.click()
        page.wait_for_timeout(400)  # the drawer slides in
        opened = page.locator("#k2-sidebar").bounding_box()
        assert opened is not None and opened["x"] >= 0 and opened["width"] >= 240
        expect(nav).to_have_attribute("aria-expanded", "true")
        page.screenshot(path=str(artifacts_dir / "ui_400px_sidebar.png"))
        page.keyboard.press("Escape")  # Esc closes the drawer (so does a click beside it)
        page.wait_for_timeout(400)
        closed = page.locator("#k2-sidebar").bounding_box()
        assert closed is not None and closed["x"] + closed["width"] <= 1
        expect(nav).to_have_attribute("aria-expanded", "false")

        # Screen readers hear what a control does, not "Textbox" or "Radio".
        expect(page.locator("#k2-prompt textarea")).to_have_attribute("aria-label", "Message to the agent")
        expect(page.locator("#k2-conversations")).to_have_attribute("aria-label", "Conversations")
        expect(page.locator("#k2-status")).to_have_attribute("aria-live", "polite")

        # Dark mode: the toggle switches the theme and the choice survives a reload.
        page.locator("#k2-theme-toggle").click()
        assert page.evaluate("document.body.classList.contains('dark')")
        page.reload()
        # The address names the open conversation (?c=): the reload opens it again. (The empty chat's placeholder
        # shows only until it has loaded, so waiting for that raced the reopening.)
        expect(page.locator("#k2-chat").get_by_text("Short answer for a small screen.")).to_be_visible(timeout=60_000)
        page.wait_for_function("document.body.classList.contains('dark')", timeout=10_000)
        page.screenshot(path=str(artifacts_dir / "ui_400px_dark.png"))

        # Keyboard only: Enter sends, the running run shows its elapsed time, Esc stops it.
        fake_k2.enqueue(Turn(reasoning="Thinking this through slowly. " * 60, content="never shown", chunk_delay_s=0.1))
        page.locator("#k2-prompt textarea").fill("think slowly")
        page.locator("#k2-prompt textarea").press("Enter")
        status = page.locator("#k2-status")
        expect(status).to_have_attribute("data-elapsed", re.compile(r"^\d+ s$"), timeout=30_000)
        page.keyboard.press("Escape")
        expect(status).to_contain_text("■ stopped", timeout=30_000)
        expect(status).not_to_have_attribute("data-elapsed", re.compile(".+"), timeout=5_000)


def test_the_wide_layout_keeps_the_sidebar_and_hides_the_menu_button(app_url: str) -> None:
    from playwright.sync_api import expect

    with chromium_page(app_url) as page:
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        expect(page.locator("#k2-nav-toggle")).to_be_hidden()
        sidebar = page.locator("#k2-sidebar").bounding_box()
        assert sidebar is not None and sidebar["x"] >= 0 and sidebar["width"] >= 240
        expect(page.locator("#k2-header-model")).to_contain_text("kimi-k2-thinking")
