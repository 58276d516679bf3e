"""Documents in the chat, end to end: upload a real PDF in headless Chromium, see it listed, ask, and see the model
receive it whole (the real app in a subprocess, the fake K2 server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, Turn
from tests.mcp_servers.pdf_support import text_pdf

pytestmark = [
    pytest.mark.slow,
    requires_chromium,
]

PAGES = [
    "Acme Corp Annual Report 2023\nLetter to shareholders",
    "Consolidated Statements of Operations\nNet sales 4,210 3,980\nOperating income 512 455",
    "Consolidated Balance Sheets\nTotal assets 9,870 9,120",
]
ANSWER = "Net sales were 4,210 (Acme Annual Report, p. 2)."


def test_upload_lists_document_and_run_gets_it_whole(
    fake_k2: FakeK2Server,
    app_url: str,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    pdf = tmp_path / "acme-2023.pdf"
    pdf.write_bytes(text_pdf(PAGES, title="Acme Annual Report 2023"))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer <<>>\n%%EOF")
    fake_k2.enqueue(Turn(content=ANSWER))
    with chromium_page(app_url, height=900) as page:
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        page.locator("#k2-docs").get_by_text("Documents").first.click()
        listing = page.locator("#k2-doc-list")
        # A broken file first: its message names it and stays (a refresh of the list redraws it, never blanks it).
        page.locator("#k2-doc-upload input[type=file]").set_input_files(str(broken))
        expect(listing).to_contain_text("Not added:", timeout=60_000)
        expect(listing).to_contain_text("broken.pdf")
        page.wait_for_timeout(1_500)
        expect(listing).to_contain_text("Not added:")
        page.locator("#k2-doc-upload input[type=file]").set_input_files(str(pdf))
        expect(listing).to_contain_text("Acme Annual Report 2023", timeout=60_000)
        expect(listing).not_to_contain_text("Not added:")
        row = listing.locator("tr", has_text="Acme Annual Report 2023")
        expect(row.locator("td").nth(1)).to_have_text("3")

        page.locator("#k2-prompt textarea").fill("What were net sales?")
        page.locator("#k2-send").click()
        chat = page.locator("#k2-chat")
        expect(chat.get_by_text(ANSWER)).to_be_visible(timeout=90_000)
        expect(chat.get_by_text("Documents sent whole")).to_be_visible(timeout=10_000)
        expect(listing).to_contain_text("Last run: sent whole", timeout=20_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts_dir / "ui_documents.png"))
    lead = fake_k2.requests[0]["messages"][1]["content"]
    assert "[page 2]\nConsolidated Statements of Operations" in lead and "[page 3]" in lead
