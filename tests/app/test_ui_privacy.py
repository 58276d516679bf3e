"""Privacy in the browser: the shield lists what went out as placeholders, the answer shows the real values, the
Privacy panel shows this chat's map, exempts a value and switches redaction off for the chat (which the UI says)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, Turn

pytestmark = [pytest.mark.slow, requires_chromium]

EMAIL, CARD = "jane.doe@example.com", "4111 1111 1111 1111"


def test_shield_panel_exemption_and_off(fake_k2: FakeK2Server, app_url: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    fake_k2.enqueue(Turn(content="Noted: <EMAIL_1> pays with <CARD_1>."), Turn(content="Second."),
                    Turn(content="Third."))
    with chromium_page(app_url, height=1000) as page:
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        page.locator("#k2-prompt textarea").fill(f"Customer {EMAIL} pays with card {CARD}.")
        page.locator("#k2-send").click()
        chat = page.locator("#k2-chat")
        expect(chat.get_by_text(f"Noted: {EMAIL} pays with {CARD}.")).to_be_visible(timeout=90_000)
        shield = chat.get_by_text("2 values sent as placeholders")
        expect(shield).to_be_visible(timeout=10_000)
        shield.click()
        expect(chat.get_by_text("<CARD_1>")).to_be_visible()

        page.locator("#k2-privacy").get_by_text("Privacy").first.click()
        listing = page.locator("#k2-privacy-list")
        expect(listing.locator("tr", has_text="<EMAIL_1>")).to_contain_text(EMAIL, timeout=20_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts_dir / "ui_privacy.png"), full_page=True)

        page.locator("#k2-privacy-target textarea, #k2-privacy-target input").first.fill("<EMAIL_1>")
        page.locator("#k2-privacy-exempt").click()
        expect(listing.locator("tr", has_text="<EMAIL_1>")).to_contain_text("sent as is", timeout=20_000)
        page.locator("#k2-prompt textarea").fill(f"Again: {EMAIL} and {CARD}.")
        page.locator("#k2-send").click()
        expect(chat.get_by_text("Second.")).to_be_visible(timeout=90_000)

        page.locator("#k2-privacy-mode").get_by_text("off", exact=True).click()
        expect(listing).to_contain_text("This chat: redaction off", timeout=20_000)
        page.locator("#k2-prompt textarea").fill(f"Last: {CARD}.")
        page.locator("#k2-send").click()
        expect(chat.get_by_text("Third.")).to_be_visible(timeout=90_000)
        expect(chat.get_by_text("Privacy · not redacted")).to_be_visible(timeout=10_000)
        page.screenshot(path=str(artifacts_dir / "ui_privacy_off.png"), full_page=True)

    first, second, third = (json.dumps(r["messages"], ensure_ascii=False) for r in fake_k2.requests)
    assert EMAIL not in first and CARD not in first and "<EMAIL_1>" in first
    assert EMAIL in second and CARD not in second.replace("<CARD_1>", "")  # exempt address goes as is, card not
    assert CARD in third.split("Last:")[-1]
