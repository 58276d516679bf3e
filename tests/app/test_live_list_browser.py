"""The conversation list updates live across browser tabs (headless Chromium, the real app on the fake K2 server): a
chat started in one tab, then renamed there, appears in the other tab without a reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.ui_support import CHROMIUM_ARGS, requires_chromium
from tests.fakes.k2_server import FakeK2Server, Turn
from tests.helpers import chromium

pytestmark = [pytest.mark.slow, requires_chromium]


def test_a_rename_in_one_tab_appears_in_the_other(fake_k2: FakeK2Server, app_url: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    fake_k2.enqueue(Turn(content="Hi from tab one."))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            one = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
            two = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
            for page in (one, two):
                page.goto(app_url)
                expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
            listed = two.locator("#k2-conversations label")
            expect(listed).to_have_count(0)

            one.locator("#k2-prompt textarea").fill("Greetings from the first tab")
            one.locator("#k2-send").click()
            expect(one.locator("#k2-chat").get_by_text("Hi from tab one.")).to_be_visible(timeout=60_000)
            expect(listed.filter(has_text="Greetings from the first tab")).to_have_count(1, timeout=20_000)

            one.locator("#k2-conv-toggle").click()
            one.locator("#k2-conv-title textarea").fill("Renamed in tab one")
            one.locator("#k2-conv-rename").click()
            expect(listed.filter(has_text="Renamed in tab one")).to_have_count(1, timeout=20_000)
            expect(listed.filter(has_text="Greetings from the first tab")).to_have_count(0)
            two.screenshot(path=str(artifacts_dir / "ui_live_list.png"))
            # The live refresh keeps tab one's open conversation selected.
            one.wait_for_timeout(4_000)
            picked = one.locator("#k2-conversations label", has_text="Renamed in tab one").locator("input")
            expect(picked).to_be_checked()
            # The list in tab two is only refreshed, not opened: its chat stays empty.
            expect(two.get_by_text("Ask Kimi K2 anything")).to_be_visible()
        finally:
            browser.close()
