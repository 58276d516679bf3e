"""The workbench driven as a user would (the real app, the fake K2 server, headless Chromium): a key entered in
Settings reaches the run and never the database; rename, search, the ?c= link surviving reload, export, delete."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.conftest import LEAN_SERVERS
from tests.app.ui_support import chromium_page, requires_chromium, running_app
from tests.fakes.k2_server import FakeK2Server, Turn

pytestmark = [pytest.mark.slow, requires_chromium]

KEY = "sk-workbench-test-0123456789abcdef"
ANSWER = "Hello from the keyed endpoint."


@pytest.fixture
def keyed_k2() -> Iterator[FakeK2Server]:
    """A fake K2 endpoint that answers only requests carrying `Authorization: Bearer KEY`."""
    with FakeK2Server(api_key=KEY) as server:
        yield server


def _pick(page: object, dropdown: str, option: str) -> None:
    page.locator(f"{dropdown} input").click()  # type: ignore[attr-defined]
    page.get_by_role("option", name=option, exact=True).click()  # type: ignore[attr-defined]


def test_a_key_entered_in_settings_reaches_the_run_and_never_the_database(
    keyed_k2: FakeK2Server, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    home = tmp_path / "home"
    with running_app(keyed_k2.url, home, K2HUB_BUILTIN_SERVERS=LEAN_SERVERS) as url, chromium_page(url) as page:
        chat = page.locator("#k2-chat")
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)

        # Without the key the endpoint refuses: the run fails in words, with the next step.
        page.locator("#k2-prompt textarea").fill("hello before the key")
        page.locator("#k2-send").click()
        expect(page.locator("#k2-status")).to_contain_text("✗ failed", timeout=60_000)

        page.get_by_role("tab", name="Settings").click()
        _pick(page, "#k2-key-name", "K2HUB_API_KEY")
        page.locator("#k2-key-value input").fill(KEY)
        page.locator("#k2-save-key").click()
        expect(page.locator("#k2-key-result")).to_contain_text("saved", timeout=20_000)
        expect(page.locator("#k2-key-value input")).to_have_value("")  # never shown again
        expect(page.locator("#k2-settings-keys")).to_contain_text("saved in")
        page.locator("#k2-test-key").click()
        expect(page.locator("#k2-key-result")).to_contain_text("The key works", timeout=20_000)
        page.screenshot(path=str(artifacts_dir / "ui_settings.png"))
        assert KEY not in page.content()

        page.get_by_role("tab", name="Chat").click()
        keyed_k2.enqueue(Turn(content=ANSWER))
        page.locator("#k2-new-chat").click()
        # New chat clears the status and the message box: wait for it, or it may clear what is typed next.
        expect(page.locator("#k2-status")).not_to_contain_text("failed", timeout=20_000)
        page.locator("#k2-prompt textarea").fill("hello with the key")
        page.locator("#k2-send").click()
        expect(chat.get_by_text(ANSWER)).to_be_visible(timeout=60_000)
        expect(page.locator("#k2-status")).to_contain_text("✓ answered")
        assert keyed_k2.authorized(f"Bearer {KEY}")

        # The key is in the 600 .env, and in no byte of the database.
        assert f"K2HUB_API_KEY={KEY}" in (home / ".env").read_text()
        stored = b"".join(p.read_bytes() for p in home.rglob("*.db*") if p.is_file())
        assert stored and KEY.encode() not in stored

        # Rename, search, deep link.
        page.locator("#k2-conv-toggle").click()
        page.locator("#k2-conv-title textarea").fill("Greeting test")
        page.locator("#k2-conv-rename").click()
        expect(page.locator("#k2-conversations label", has_text="Greeting test")).to_be_visible(timeout=20_000)
        page.locator("#k2-conv-search textarea").fill("with the key")
        expect(page.locator("#k2-conversations label")).to_have_count(1, timeout=20_000)
        page.locator("#k2-conv-search textarea").fill("")
        expect(page).to_have_url(re.compile(r"\?c=[0-9a-f]{32}"), timeout=10_000)
        linked = page.url
        page.goto(linked)
        expect(chat.get_by_text(ANSWER)).to_be_visible(timeout=60_000)
        expect(page.locator("#k2-header-model")).to_contain_text("kimi-k2-thinking")

        # Export Markdown and JSON.
        page.locator("#k2-conv-toggle").click()
        page.locator("#k2-conv-export").click()
        expect(page.locator("#k2-conv-files")).to_contain_text(".md", timeout=20_000)
        expect(page.locator("#k2-conv-files")).to_contain_text(".json")
        page.screenshot(path=str(artifacts_dir / "ui_conversation_panel.png"))

        # Delete asks first, then removes the conversation.
        page.locator("#k2-conv-delete").click()
        expect(page.locator("#k2-conv-confirm")).to_be_visible()
        page.locator("#k2-conv-confirm").click()
        expect(page.locator("#k2-conv-result")).to_contain_text("deleted", timeout=20_000)
        expect(page.locator("#k2-conversations label", has_text="Greeting test")).to_have_count(0)
