"""The chat's tools menu driven as a user (the real app on the fake K2 server, headless Chromium): switch a server
and a single tool off, send, and the request carries neither; a new chat has the default set again; reopening the
first conversation shows its choice remembered."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, Turn

pytestmark = [pytest.mark.slow, requires_chromium]


def _offered(request: dict) -> set[str]:
    return {t["function"]["name"] for t in request.get("tools") or []}


def test_tools_switched_off_leave_the_request_and_are_remembered_per_conversation(
    fake_k2: FakeK2Server, app_url: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    with chromium_page(app_url, height=1100) as page:
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        menu = page.locator("#k2-chat-tools")
        menu.get_by_text("Tools for this chat").click()
        servers, single = page.locator("#k2-chat-tools-servers"), page.locator("#k2-chat-tools-single")
        summary = page.locator("#k2-chat-tools-summary")
        expect(servers.locator("label", has_text="sandbox")).to_be_visible(timeout=60_000)
        expect(summary).to_contain_text("the default for a chat")
        expect(servers.locator("label", has_text="sandbox").locator("input")).to_be_checked()

        servers.locator("label", has_text="sandbox").click()
        expect(summary).to_contain_text("your choice", timeout=20_000)
        expect(single.locator("label", has_text="sandbox__run_python")).to_have_count(0)
        single.locator("label", has_text="workspace__delete_path").click()
        expect(single.locator("label", has_text="workspace__delete_path").locator("input")).not_to_be_checked()
        page.wait_for_timeout(500)  # the choice is stored before the message goes
        menu.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "tools_menu.png"))

        fake_k2.enqueue(Turn(content="Answered with fewer tools."))
        page.locator("#k2-prompt textarea").fill("hello")
        page.locator("#k2-send").click()
        expect(page.locator("#k2-chat").get_by_text("Answered with fewer tools.")).to_be_visible(timeout=60_000)
        offered = _offered(fake_k2.requests[-1])
        assert "workspace__read_file" in offered
        assert "workspace__delete_path" not in offered and not any(n.startswith("sandbox__") for n in offered)
        expect(page.locator("#k2-send")).to_be_visible(timeout=30_000)

        # A new chat starts from the default set; the first one keeps its choice.
        page.locator("#k2-new-chat").click()
        expect(summary).to_contain_text("the default for a chat", timeout=20_000)
        expect(servers.locator("label", has_text="sandbox").locator("input")).to_be_checked()
        page.locator("#k2-conversations label", has_text="hello").first.click()
        expect(summary).to_contain_text("your choice", timeout=20_000)
        expect(servers.locator("label", has_text="sandbox").locator("input")).not_to_be_checked()
        expect(single.locator("label", has_text="workspace__delete_path").locator("input")).not_to_be_checked()
