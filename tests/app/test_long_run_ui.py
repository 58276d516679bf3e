"""A long run in the browser: the budget under the message box, the context gauge, and each compaction as a notice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium, running_app
from tests.fakes.k2_context import ContextModel, long_run_turns
from tests.fakes.k2_server import FakeK2Server

pytestmark = [pytest.mark.slow, requires_chromium]
WINDOW = 9_000  # small, so that a dozen calls fold twice


def test_context_gauge_and_compaction_notices(fake_k2: FakeK2Server, tmp_path: Path, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    fake_k2.context = ContextModel(window=WINDOW, prefix_cache=True)
    fake_k2.enqueue(*long_run_turns(14, "workspace__write_file",
                                    lambda i: {"path": f"notes/{i}.md", "content": f"Record {i}: " + "checked " * 120},
                                    reasoning_chars=400, answer="All 14 records are written.", chunk_chars=200))
    with running_app(fake_k2.url, tmp_path / "home", K2HUB_BUILTIN_SERVERS="workspace",
                     K2HUB_CONTEXT_WINDOW=str(WINDOW), K2HUB_MAX_COST_USD="12.5") as url:
        with chromium_page(url) as page:
            expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
            expect(page.locator("#k2-budget")).to_contain_text("Budget per run: $12.50 · 300 tool calls · 4 h")
            page.locator("#k2-prompt textarea").fill("Write one note per record")
            page.locator("#k2-send").click()
            chat = page.locator("#k2-chat")
            expect(chat.get_by_text("All 14 records are written.")).to_be_visible(timeout=120_000)
            expect(page.locator("#k2-send")).to_be_visible(timeout=30_000)
            gauge = page.locator("#k2-status .k2-gauge")
            expect(gauge).to_contain_text(re.compile(r"context \d+% of 9,000 · \d+ steps folded"))
            expect(chat.get_by_text(re.compile("folded the older steps into compact records")).first).to_be_visible()
            page.screenshot(path=str(artifacts_dir / "ui_long_run.png"))
    assert fake_k2.context.stats.refused == 0 and fake_k2.context.stats.max_prompt_tokens <= WINDOW
