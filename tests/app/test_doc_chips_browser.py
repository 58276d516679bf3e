"""Documents above the composer, in headless Chromium (the real app on the fake K2 server): one progress bar while a
PDF is read, a message sent meanwhile waits for it ("waiting for … (n %)") and reaches the model with the document,
then the document's chip, whose ✕ removes it from the chat."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, Turn
from tests.mcp_servers.pdf_support import text_pdf

pytestmark = [pytest.mark.slow, requires_chromium]

NAME = "3M_2018_10K.pdf"
# Many short pages: reading them takes seconds, long enough to send a question meanwhile.
PAGES = [f"Page {i}. Purchases of property, plant and equipment were $1,577 million in 2018." for i in range(1, 8001)]
ANSWER = "Capital expenditures were $1,577 million (3M 10-K 2018, p. 2)."


def test_send_during_ingest_waits_then_chip_removes(
    fake_k2: FakeK2Server, app_url: str, artifacts_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    pdf = tmp_path / NAME
    pdf.write_bytes(text_pdf(PAGES, title="3M 10-K 2018"))
    fake_k2.enqueue(Turn(content=ANSWER))
    with chromium_page(app_url, height=900) as page:
        chat, chips, status = page.locator("#k2-chat"), page.locator("#k2-doc-chips"), page.locator("#k2-status")
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        page.locator("#k2-docs").get_by_text("Documents").first.click()
        page.locator("#k2-doc-upload input[type=file]").set_input_files(str(pdf))
        expect(chips.locator(".k2-doc-chip-reading")).to_contain_text(re.compile(r"page [1-9][\d,]* of 8,000"),
                                                                      timeout=60_000)
        # One bar for the upload: the chip's; Gradio draws none over the upload box or the list.
        expect(page.locator("progress")).to_have_count(1)
        expect(page.locator("#k2-doc-upload .progress-text, #k2-doc-list .progress-text")).to_have_count(0)

        page.locator("#k2-prompt textarea").fill("What was 3M's FY2018 capex?")
        page.locator("#k2-send").click()
        expect(status).to_contain_text(re.compile(r"waiting for 3M_2018_10K\.pdf \(\d+ %\)"), timeout=20_000)
        page.screenshot(path=str(artifacts_dir / "ui_doc_waiting.png"))
        assert fake_k2.requests == []  # the question has not gone out without its document

        expect(chat.get_by_text(ANSWER)).to_be_visible(timeout=180_000)
        chip = chips.locator(".k2-doc-chip", has_text="3M 10-K 2018")
        expect(chip).to_be_visible(timeout=20_000)
        expect(chips.locator(".k2-doc-chip-reading")).to_have_count(0)
        page.screenshot(path=str(artifacts_dir / "ui_doc_chips.png"))
        lead = str(fake_k2.requests[0]["messages"])
        assert "Page 2. Purchases of property" in lead or "3M 10-K 2018" in lead

        chip.get_by_role("button", name="Remove 3M 10-K 2018 from this chat").click()
        expect(chip).to_have_count(0, timeout=20_000)
        expect(page.locator("#k2-doc-list")).to_contain_text("No documents in this chat", timeout=20_000)
        # Removed means removed: the next question goes without it.
        fake_k2.enqueue(Turn(content="No document here."))
        page.locator("#k2-prompt textarea").fill("And now?")
        page.locator("#k2-send").click()
        expect(chat.get_by_text("No document here.")).to_be_visible(timeout=60_000)
    assert "Purchases of property" not in str(fake_k2.requests[-1]["messages"][-1])
    assert "3M 10-K 2018" not in str(fake_k2.requests[-1]["messages"][:2])
