"""Before sending, the chat says when its documents cannot fit the chosen model and offers what works; Send waits for
the user's choice (headless Chromium, the real app on the fake K2 server whose model is given an 8K window like the
local one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium, running_app
from tests.fakes.k2_server import FakeK2Server, Turn
from tests.mcp_servers.pdf_support import text_pdf

pytestmark = [pytest.mark.slow, requires_chromium]

PAGE = "\n".join(["Segment revenue rose in every region; capital expenditure was 1,577 million."] * 45)


def test_documents_beyond_the_window_are_named_before_sending_with_a_bigger_model_offered(
    fake_k2: FakeK2Server, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    pdf = tmp_path / "annual-report.pdf"
    pdf.write_bytes(text_pdf([f"Page {n}. {PAGE}" for n in range(1, 31)], title="Annual Report"))
    env = {"K2HUB_CONTEXT_WINDOW": "8192", "K2HUB_BUILTIN_SERVERS": "workspace,pdf_reader",
           "MOONSHOT_API_KEY": "sk-fit-test"}  # a key is set: Moonshot's 262K model is offered by name
    with running_app(fake_k2.url, tmp_path / "home", **env) as url, chromium_page(url, height=900) as page:
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        notice = page.locator("#k2-fit-text")
        expect(notice).to_be_hidden()
        page.locator("#k2-docs").get_by_text("Documents").first.click()
        page.locator("#k2-doc-upload input[type=file]").set_input_files(str(pdf))
        expect(page.locator("#k2-doc-list")).to_contain_text("Annual Report", timeout=90_000)

        # Nothing sent yet, and the notice already says what will happen and what would work.
        expect(notice).to_contain_text("Too large to send whole", timeout=60_000)
        expect(notice).to_contain_text("cannot be sent whole to kimi-k2-thinking: its 8,192-token window")
        expect(notice).to_contain_text("searches them")
        bigger = page.locator("#k2-fit-bigger")
        expect(bigger).to_be_visible()
        expect(bigger).to_contain_text("kimi-k2-0905-preview")
        assert not fake_k2.requests
        page.locator("#k2-fit").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "fit_notice.png"))

        # Send holds the message: the status line points at the notice, whose Send anyway sends it.
        anyway = page.locator("#k2-fit-send-anyway")
        expect(anyway).to_be_visible()
        prompt = page.locator("#k2-prompt textarea")
        prompt.fill("What was the capital expenditure?")
        page.locator("#k2-send").click()
        expect(page.locator("#k2-status")).to_contain_text("Not sent", timeout=30_000)
        expect(prompt).to_have_value("What was the capital expenditure?")  # kept for the choice
        assert not fake_k2.requests
        page.screenshot(path=str(artifacts_dir / "fit_notice_held.png"))
        fake_k2.enqueue(Turn(content="Capital expenditure was 1,577 million (page 1)."))
        anyway.click()
        expect(page.locator("#k2-chat").get_by_text("Capital expenditure was 1,577 million")).to_be_visible(
            timeout=90_000)
        expect(anyway).to_be_hidden()
        assert len(fake_k2.requests) == 1
        sent = len(fake_k2.requests)
        expect(page.locator("#k2-send")).to_be_visible(timeout=30_000)
        prompt.fill("And in the year before?")  # the choice holds for this conversation and model: sent at once
        fake_k2.enqueue(Turn(content="It was lower the year before (page 2)."))
        page.locator("#k2-send").click()
        expect(page.locator("#k2-chat").get_by_text("And in the year before?")).to_be_visible(timeout=30_000)
        expect(page.locator("#k2-status")).not_to_contain_text("Not sent")

        bigger.click()
        expect(page.locator("#k2-model input")).to_have_value("kimi-k2-0905-preview", timeout=20_000)
        expect(page.locator("#k2-header-model")).to_contain_text("kimi-k2-0905-preview", timeout=20_000)
        # Switching sends nothing.
        assert sent == 1 and all(r["model"] != "kimi-k2-0905-preview" for r in fake_k2.requests)
